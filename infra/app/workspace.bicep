// The Log Analytics workspace kms-route-audit creates when none is brought (logAnalyticsWorkspaceId).

@description('Name of the Log Analytics workspace.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Days the workspace keeps data (30 is included in the Analytics plan price).')
@minValue(30)
@maxValue(730)
param retentionInDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
    features: { enableLogAccessUsingOnlyResourcePermissions: true }
  }
}

output id string = workspace.id
output name string = workspace.name
