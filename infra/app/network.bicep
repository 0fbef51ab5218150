// Private networking (main.bicep vnetEnabled=true): a VNet with a subnet the Flex Consumption app
// integrates with (outbound: storage through private endpoints, Azure APIs through a NAT gateway,
// since new subnets have no default outbound access) and a subnet for private endpoints: the
// storage account's blob, queue and table services, and the Function App itself when its public
// network access is off (function-endpoint.bicep, deployed after the app). Private DNS zones
// resolve the private endpoints inside the VNet.

@description('Name prefix of the network resources.')
param namePrefix string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Address space of the VNet; the app subnet takes its first half, private endpoints the third quarter.')
param addressPrefix string

@description('Resource ID of the storage account to reach through private endpoints.')
param storageAccountId string

var storageServices = ['blob', 'queue', 'table']

resource natIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: 'pip-${namePrefix}-nat'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    publicIPAllocationMethod: 'Static'
  }
}

resource nat 'Microsoft.Network/natGateways@2024-05-01' = {
  name: 'ng-${namePrefix}'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    publicIpAddresses: [{ id: natIp.id }]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: 'vnet-${namePrefix}'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'snet-app'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 25, 0)
          defaultOutboundAccess: false
          natGateway: { id: nat.id }
          delegations: [
            {
              name: 'flex-consumption'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 26, 2)
          defaultOutboundAccess: false
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }

  resource appSubnet 'subnets' existing = {
    name: 'snet-app'
  }

  resource endpointSubnet 'subnets' existing = {
    name: 'snet-private-endpoints'
  }
}

resource storageZones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for service in storageServices: {
    name: 'privatelink.${service}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource storageZoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (service, i) in storageServices: {
    parent: storageZones[i]
    name: 'link-${namePrefix}'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: { id: vnet.id }
    }
  }
]

resource storageEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for (service, i) in storageServices: {
    name: 'pe-${namePrefix}-st-${service}'
    location: location
    tags: tags
    properties: {
      subnet: { id: vnet::endpointSubnet.id }
      privateLinkServiceConnections: [
        {
          name: 'st-${service}'
          properties: {
            privateLinkServiceId: storageAccountId
            groupIds: [service]
          }
        }
      ]
    }
  }
]

resource storageEndpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (service, i) in storageServices: {
    parent: storageEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: service
          properties: { privateDnsZoneId: storageZones[i].id }
        }
      ]
    }
  }
]

output vnetId string = vnet.id
output appSubnetId string = vnet::appSubnet.id
output endpointSubnetId string = vnet::endpointSubnet.id
output natPublicIp string = natIp.properties.ipAddress
