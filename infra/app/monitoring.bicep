// Workspace-based Application Insights for the Function App's telemetry, in the given workspace
// (created by workspace.bicep, or brought with logAnalyticsWorkspaceId).

@description('Name of the (workspace-based) Application Insights component.')
param appInsightsName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource ID of the Log Analytics workspace the telemetry goes to.')
param workspaceId string

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspaceId
    // Telemetry only with Entra ID tokens (the Function App's identity), no instrumentation key.
    DisableLocalAuth: true
  }
}

output appInsightsId string = appInsights.id
output appInsightsName string = appInsights.name
output appInsightsConnectionString string = appInsights.properties.ConnectionString
