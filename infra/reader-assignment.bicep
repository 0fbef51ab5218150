// Grants Reader on a management group to the kms-route-audit identity, so Resource Graph and
// ARM show it every subscription below. Deploy at the management group, e.g.
//   az deployment mg create --management-group-id contoso -l westeurope \
//     -f infra/reader-assignment.bicep -p principalId=<AUDIT_PRINCIPAL_ID>
// Needs Owner or User Access Administrator (Microsoft.Authorization/roleAssignments/write) there.
targetScope = 'managementGroup'

@description('Principal (object) ID of the Function App identity: output AUDIT_PRINCIPAL_ID of main.bicep.')
param principalId string

@description('Type of the principal.')
@allowed(['ServicePrincipal', 'User', 'Group'])
param principalType string = 'ServicePrincipal'

var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, readerRoleId)
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    description: 'kms-route-audit reads networks, NICs and VMs below this management group.'
  }
}

output roleAssignmentId string = reader.id
