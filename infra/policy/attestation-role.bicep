// Least privilege for attestations: read and write Microsoft.PolicyInsights/attestations, nothing
// else (the scanner reads each attestation before it writes, and never deletes one). No built-in
// role is that narrow (Resource Policy Contributor also writes assignments and exemptions).
// The same definition as JSON: infra/roles/kms-route-audit-attest.json.
targetScope = 'managementGroup'

@description('Object ID of the scanner\'s managed identity; empty: define the role only.')
param principalId string = ''

resource attestRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, 'kms-route-audit-attest')
  properties: {
    roleName: 'kms-route-audit attest (${managementGroup().name})'
    description: 'Write the Azure Policy attestations of the kms-route-audit Manual policy: read and write Microsoft.PolicyInsights/attestations. Assign with Reader.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.PolicyInsights/attestations/read'
          'Microsoft.PolicyInsights/attestations/write'
        ]
        notActions: []
      }
    ]
    assignableScopes: [managementGroup().id]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(managementGroup().id, principalId, attestRole.id)
  properties: {
    roleDefinitionId: attestRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output roleDefinitionId string = attestRole.id
