// The two kms-route-audit policy definitions, from their JSON (validated by the tests against the
// policy definition schema). At a management group, so that any assignment below can use them.
targetScope = 'managementGroup'

var attestedJson = loadJsonContent('kms-activation-attested.json')
var guardJson = loadJsonContent('kms-route-guard.json')

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

resource guard 'Microsoft.Authorization/policyDefinitions@2023-04-01' = {
  name: 'kms-route-guard'
  properties: {
    policyType: 'Custom'
    displayName: guardJson.displayName
    description: guardJson.description
    mode: guardJson.mode
    metadata: guardJson.metadata
    parameters: guardJson.parameters
    policyRule: guardJson.policyRule
  }
}

output attestedDefinitionId string = attested.id
output guardDefinitionId string = guard.id
