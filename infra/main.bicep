// kms-route-audit: the Function App that audits KMS activation routes, and the Log Analytics
// workspace, tables, data collection rule, workbook and alerts it reports to.
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

@description('Resource ID of an existing action group the alerts notify; empty: alerts notify no one.')
param actionGroupId string = ''

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
}
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

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: location
    tags: tags
    retentionInDays: retentionInDays
  }
}

module tables 'app/tables.bicep' = {
  name: 'tables'
  params: {
    workspaceName: names.workspace
    retentionInDays: retentionInDays
  }
  dependsOn: [monitoring]
}

module dcr 'app/dcr.bicep' = {
  name: 'dcr'
  params: {
    name: names.dcr
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
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

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  params: {
    displayName: 'KMS activation routes (${environmentName})'
    location: location
    tags: tags
    workspaceName: names.workspace
  }
  dependsOn: [tables]
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: names.alerts
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    actionGroupId: actionGroupId
  }
  dependsOn: [tables]
}

@description('Principal ID to grant Reader on the audited scope (infra/reader-assignment.bicep).')
output AUDIT_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output KMS_AUDIT_LOGS_ENDPOINT string = dcr.outputs.logsIngestionEndpoint
output KMS_AUDIT_DCR_ID string = dcr.outputs.immutableId
output LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceId
output WORKBOOK_ID string = workbook.outputs.id
