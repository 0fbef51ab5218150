// Least-privilege custom roles for the opt-in modes of kms-route-audit (issue 6). The read-only
// audit needs only the built-in Reader (reader-assignment.bicep); each role below is assigned in
// addition to Reader. Deploy at the management group whose subscriptions are audited, e.g.
//   az deployment mg create --management-group-id contoso -l westeurope -f infra/custom-roles.bicep
// Needs Microsoft.Authorization/roleDefinitions/write there (Owner or User Access Administrator).
// The same definitions as JSON, for az role definition create: infra/roles/*.json.
targetScope = 'managementGroup'

// Polling a Network long-running operation reads these (Reader covers them too).
var operationReads = [
  'Microsoft.Network/locations/operations/read'
  'Microsoft.Network/locations/operationResults/read'
]

resource confirmRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, 'kms-route-audit-confirm')
  properties: {
    roleName: 'kms-route-audit confirm (${managementGroup().name})'
    description: 'scan --confirm-gateway-routes / --verify-effective-routes: read gateways\' learned routes and NICs\' effective routes. Assign with Reader.'
    type: 'CustomRole'
    permissions: [
      {
        actions: concat(
          [
            'Microsoft.Network/virtualNetworkGateways/getLearnedRoutes/action'
            'Microsoft.Network/networkInterfaces/effectiveRouteTable/action'
          ],
          operationReads
        )
        notActions: []
      }
    ]
    assignableScopes: [managementGroup().id]
  }
}

resource remediateRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, 'kms-route-audit-remediate')
  properties: {
    roleName: 'kms-route-audit remediate (${managementGroup().name})'
    description: 'remediate --apply: add KMS routes to existing route tables; never deletes routes, never writes route tables or subnets. Assign with Reader.'
    type: 'CustomRole'
    permissions: [
      {
        actions: concat(
          [
            'Microsoft.Network/routeTables/read'
            'Microsoft.Network/routeTables/routes/read'
            'Microsoft.Network/routeTables/routes/write'
          ],
          operationReads
        )
        notActions: []
      }
    ]
    assignableScopes: [managementGroup().id]
  }
}

output confirmRoleDefinitionId string = confirmRole.id
output remediateRoleDefinitionId string = remediateRole.id
