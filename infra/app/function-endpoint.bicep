// The Function App's inbound private endpoint (vnetEnabled with appPublicNetworkAccess Disabled):
// its HTTP API and its deployment endpoint are then reachable only from the VNet (and networks
// peered with it), so `azd deploy` has to run from there.

@description('Name prefix of the network resources.')
param namePrefix string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource ID of the VNet the private DNS zone is linked to.')
param vnetId string

@description('Resource ID of the subnet for private endpoints.')
param subnetId string

@description('Resource ID of the Function App.')
param functionAppId string

resource sitesDns 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: 'privatelink.azurewebsites.net'
  location: 'global'
  tags: tags
}

resource sitesDnsLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: sitesDns
  name: 'link-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnetId }
  }
}

resource appEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: 'pe-${namePrefix}-func'
  location: location
  tags: tags
  properties: {
    subnet: { id: subnetId }
    privateLinkServiceConnections: [
      {
        name: 'func-sites'
        properties: {
          privateLinkServiceId: functionAppId
          groupIds: ['sites']
        }
      }
    ]
  }
}

resource appEndpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: appEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'sites'
        properties: { privateDnsZoneId: sitesDns.id }
      }
    ]
  }
}

output privateEndpointId string = appEndpoint.id
