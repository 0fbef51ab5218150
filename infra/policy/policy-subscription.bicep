// The kms-route-audit Manual policy assigned at a subscription (definitions in the subscription):
// for estates without management groups. See policy-mg.bicep for the management-group variant.
//   az deployment sub create -l westeurope -f infra/policy/policy-subscription.bicep
// The attestation role: assign infra/roles/kms-route-audit-attest.json (az role definition create).
targetScope = 'subscription'

var attestedJson = loadJsonContent('kms-activation-attested.json')

resource attested 'Microsoft.Authorization/policyDefinitions@2023-04-01' = {
  name: 'kms-activation-attested'
  properties: {
    policyType: 'Custom'
    displayName: attestedJson.displayName
    description: attestedJson.description
    mode: attestedJson.mode
    metadata: attestedJson.metadata
    parameters: attestedJson.parameters
    policyRule: attestedJson.policyRule
  }
}

resource assignment 'Microsoft.Authorization/policyAssignments@2024-04-01' = {
  name: 'kms-activation-attested'
  properties: {
    displayName: 'KMS activation reachable (attested by kms-route-audit)'
    policyDefinitionId: attested.id
    enforcementMode: 'Default'
    nonComplianceMessages: [
      {
        message: 'kms-route-audit found that Windows VMs in this subnet cannot activate against Azure KMS (TCP 1688) or reach their update servers. See the attestation\'s comments and the scanner\'s finding for the cause and the fix.'
      }
    ]
  }
}

output attestedAssignmentId string = assignment.id
