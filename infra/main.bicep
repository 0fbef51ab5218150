// kms-route-audit: the Function App that audits KMS activation routes, and the Log Analytics
// workspace (created, or brought with logAnalyticsWorkspaceId), tables, data collection rule,
// workbook and alerts it reports to; private networking with vnetEnabled.
// Deploy into a resource group: az deployment group create -g RG -f infra/main.bicep
// Then grant Reader on the audited scope with infra/reader-assignment.bicep.
targetScope = 'resourceGroup'

@description('Short name of the environment; used in resource names (letters, digits, hyphens).')
@minLength(2)
@maxLength(16)
param environmentName string

@description('Azure region for every resource; must offer Flex Consumption.')
param location string = resourceGroup().location

@description('Tags for every resource.')
param tags object = {}

@description('Azure cloud the function audits (KMS_AUDIT_CLOUD).')
@allowed(['AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud'])
param auditCloud string = 'AzureCloud'

@description('Management group IDs to audit (KMS_AUDIT_MANAGEMENT_GROUPS); empty: all the identity can read.')
param auditManagementGroups array = []

@description('Subscription IDs to audit (KMS_AUDIT_SUBSCRIPTIONS); empty: all the identity can read.')
param auditSubscriptions array = []

@description('NCRONTAB schedule of the timer (KMS_AUDIT_SCHEDULE), six fields.')
param auditSchedule string = '0 0 */6 * * *'

@description('What the timer does about missing KMS routes (KMS_AUDIT_REMEDIATION): off, plan (log them) or apply (add them; assign the remediation role of custom-roles.bicep first).')
@allowed(['off', 'plan', 'apply'])
param auditRemediation string = 'off'

@description('Confirm doubtful subnets against gateways\' learned routes (KMS_AUDIT_CONFIRM_GATEWAY_ROUTES; needs the confirm role of custom-roles.bicep).')
param auditConfirmGatewayRoutes bool = false

@description('Log level of the function (KMS_AUDIT_LOG_LEVEL).')
@allowed(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
param auditLogLevel string = 'info'

@description('Days the workspace and the tables keep data.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

@description('Resource ID of an existing action group the alerts notify (e.g. the platform team\'s); empty: none.')
param actionGroupId string = ''

@description('Email address the alerts go to, through an action group this template creates; empty: none. With neither this nor actionGroupId, alerts fire without notifying anyone.')
param alertEmail string = ''

@description('Runbook link carried by every alert (customProperties.runbook): where responders read what to do. Default: the README section of this repository; point it at your copy.')
param alertRunbookUrl string = 'https://github.com/kms-route-audit/kms-route-audit/blob/main/README.md#when-an-alert-fires'

@description('Resource ID of an existing Log Analytics workspace (a central one) to report to; empty: a workspace is created. It must be in the same region as location (the data collection rule needs it there); the tables are created in it.')
param logAnalyticsWorkspaceId string = ''

@description('Private networking: storage without public network access, reached through private endpoints from a VNet the app integrates with (outbound through a NAT gateway).')
param vnetEnabled bool = false

@description('Address space of the VNet when vnetEnabled (a /24 or larger).')
param vnetAddressPrefix string = '10.90.0.0/24'

@description('With vnetEnabled: Disabled also takes the Function App off the public network (HTTP API and deployment only through its private endpoint; deploy from inside the network).')
@allowed(['Enabled', 'Disabled'])
param appPublicNetworkAccess string = 'Enabled'

@description('Most instances the Function App may scale out to.')
param maximumInstanceCount int = 40

@description('Memory per Function App instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

var suffix = uniqueString(subscription().id, resourceGroup().id, environmentName)
var names = {
  identity: 'id-kmsaudit-${environmentName}'
  workspace: 'log-kmsaudit-${environmentName}-${suffix}'
  appInsights: 'appi-kmsaudit-${environmentName}-${suffix}'
  storage: take('stkms${toLower(replace(environmentName, '-', ''))}${suffix}', 24)
  plan: 'plan-kmsaudit-${environmentName}-${suffix}'
  functionApp: 'func-kmsaudit-${environmentName}-${suffix}'
  dcr: 'dcr-kmsaudit-${environmentName}'
  alerts: 'kmsaudit-${environmentName}'
  actionGroup: 'ag-kmsaudit-${environmentName}'
  network: 'kmsaudit-${environmentName}'
}
var createWorkspace = empty(logAnalyticsWorkspaceId)
// /subscriptions/{id}/resourceGroups/{name}/providers/Microsoft.OperationalInsights/workspaces/{name}
var broughtWorkspace = split(
  createWorkspace ? '/subscriptions/-/resourceGroups/-/p/-/workspaces/-' : logAnalyticsWorkspaceId,
  '/'
)
var workspaceSubscriptionId = createWorkspace ? subscription().subscriptionId : broughtWorkspace[2]
var workspaceResourceGroup = createWorkspace ? resourceGroup().name : broughtWorkspace[4]
var workspaceName = createWorkspace ? names.workspace : last(broughtWorkspace)
var workspaceId = resourceId(
  workspaceSubscriptionId,
  workspaceResourceGroup,
  'Microsoft.OperationalInsights/workspaces',
  workspaceName
)
var deploymentContainerName = 'app-package'
var pendingContainerName = 'log-analytics-pending'
var runsContainerName = 'scan-runs'

module identity 'app/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module workspace 'app/workspace.bicep' = if (createWorkspace) {
  name: 'workspace'
  params: {
    name: names.workspace
    location: location
    tags: tags
    retentionInDays: retentionInDays
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    appInsightsName: names.appInsights
    location: location
    tags: tags
    workspaceId: workspaceId
  }
  dependsOn: [workspace]
}

// The tables go where the workspace is (possibly another resource group or subscription).
module tables 'app/tables.bicep' = {
  name: 'tables'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroup)
  params: {
    workspaceName: workspaceName
    retentionInDays: retentionInDays
  }
  dependsOn: [workspace]
}

module dcr 'app/dcr.bicep' = {
  name: 'dcr'
  params: {
    name: names.dcr
    location: location
    tags: tags
    workspaceId: workspaceId
    tableNames: tables.outputs.tableNames
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    pendingContainerName: pendingContainerName
    runsContainerName: runsContainerName
    publicNetworkAccess: !vnetEnabled
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  params: {
    namePrefix: names.network
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    storageAccountId: storage.outputs.id
  }
}

module roles 'app/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    identityId: resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', names.identity)
    storageAccountName: names.storage
    dcrName: names.dcr
    appInsightsName: names.appInsights
  }
  dependsOn: [dcr, storage, monitoring]
}

module functionApp 'app/function.bicep' = {
  name: 'function-app'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    publicNetworkAccess: vnetEnabled ? appPublicNetworkAccess : 'Enabled'
    auditSettings: {
      KMS_AUDIT_CLOUD: auditCloud
      KMS_AUDIT_MANAGEMENT_GROUPS: join(auditManagementGroups, ',')
      KMS_AUDIT_SUBSCRIPTIONS: join(auditSubscriptions, ',')
      KMS_AUDIT_SCHEDULE: auditSchedule
      KMS_AUDIT_LOG_LEVEL: auditLogLevel
      KMS_AUDIT_REMEDIATION: auditRemediation
      KMS_AUDIT_CONFIRM_GATEWAY_ROUTES: string(auditConfirmGatewayRoutes)
      KMS_AUDIT_LOGS_ENDPOINT: dcr.outputs.logsIngestionEndpoint
      KMS_AUDIT_DCR_ID: dcr.outputs.immutableId
      KMS_AUDIT_FINDINGS_STREAM: dcr.outputs.findingsStream
      KMS_AUDIT_RUNS_STREAM: dcr.outputs.runsStream
      KMS_AUDIT_PENDING_BLOB_URL: '${storage.outputs.blobEndpoint}${storage.outputs.pendingContainerName}'
      KMS_AUDIT_RUNS_BLOB_URL: '${storage.outputs.blobEndpoint}${storage.outputs.runsContainerName}'
    }
  }
  dependsOn: [roles]
}

module functionEndpoint 'app/function-endpoint.bicep' = if (vnetEnabled && appPublicNetworkAccess == 'Disabled') {
  name: 'function-endpoint'
  params: {
    namePrefix: names.network
    location: location
    tags: tags
    vnetId: network!.outputs.vnetId
    subnetId: network!.outputs.endpointSubnetId
    functionAppId: functionApp.outputs.id
  }
}

module actionGroup 'app/action-group.bicep' = if (!empty(alertEmail)) {
  name: 'action-group'
  params: {
    name: names.actionGroup
    tags: tags
    email: alertEmail
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  params: {
    displayName: 'KMS activation routes (${environmentName})'
    location: location
    tags: tags
    workspaceId: workspaceId
  }
  dependsOn: [tables]
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: names.alerts
    location: location
    tags: tags
    workspaceId: workspaceId
    actionGroupIds: concat(
      empty(actionGroupId) ? [] : [actionGroupId],
      empty(alertEmail) ? [] : [actionGroup!.outputs.id]
    )
    runbookUrl: alertRunbookUrl
  }
  dependsOn: [tables]
}

@description('Principal ID to grant Reader on the audited scope (infra/reader-assignment.bicep).')
output AUDIT_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output KMS_AUDIT_LOGS_ENDPOINT string = dcr.outputs.logsIngestionEndpoint
output KMS_AUDIT_DCR_ID string = dcr.outputs.immutableId
output LOG_ANALYTICS_WORKSPACE_ID string = workspaceId
output WORKBOOK_ID string = workbook.outputs.id
