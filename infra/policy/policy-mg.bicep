// Azure Policy for kms-route-audit at a management group (README "Azure Policy"):
// - the Manual definition the scanner attests (subnets, default state Unknown) and its assignment;
// - the guard definition (route tables that force-tunnel KMS without the /32 Internet routes),
//   assigned with effect Audit by default (Deny when guardEffect says so): the pre-deployment half;
// - a least-privilege role for the scanner's identity to write attestations.
// Deploy (needs Resource Policy Contributor and, for the role, User Access Administrator there):
//   az deployment mg create --management-group-id contoso -l westeurope \
//     -f infra/policy/policy-mg.bicep -p principalId=$PRINCIPAL
// Then set KMS_AUDIT_POLICY_ASSIGNMENT_ID to the output attestedAssignmentId.
targetScope = 'managementGroup'

@description('Object ID of the scanner\'s managed identity (AUDIT_PRINCIPAL_ID); empty: no role assignment.')
param principalId string = ''

@description('Effect of the guard assignment: Audit reports, Deny rejects, Disabled turns it off.')
@allowed(['Audit', 'Deny', 'Disabled'])
param guardEffect string = 'Audit'

@description('The /32 of every KMS IP of the cloud (custom-routes-enable-kms-activation).')
param kmsHostRoutes array = ['20.118.99.224/32', '40.83.235.53/32', '23.102.135.246/32']

@description('Assign the guard definition (false: only define it, e.g. to put it in an initiative).')
param assignGuard bool = true

module policy 'policy-definitions.bicep' = {
  name: 'kms-route-audit-policy-definitions'
}

resource attested 'Microsoft.Authorization/policyAssignments@2024-04-01' = {
  name: 'kms-activation-attested'
  properties: {
    displayName: 'KMS activation reachable (attested by kms-route-audit)'
    description: 'Compliance of each subnet as kms-route-audit judged it in its last scheduled run (attestations).'
    policyDefinitionId: policy.outputs.attestedDefinitionId
    enforcementMode: 'Default'
    nonComplianceMessages: [
      {
        message: 'kms-route-audit found that Windows VMs in this subnet cannot activate against Azure KMS (TCP 1688) or reach their update servers. See the attestation\'s comments and the scanner\'s finding for the cause and the fix.'
      }
    ]
  }
}

resource guard 'Microsoft.Authorization/policyAssignments@2024-04-01' = if (assignGuard) {
  name: 'kms-route-guard'
  properties: {
    displayName: 'Route tables keep KMS activation out of forced tunneling (kms-route-audit guard)'
    policyDefinitionId: policy.outputs.guardDefinitionId
    enforcementMode: 'Default'
    parameters: {
      effect: { value: guardEffect }
      kmsHostRoutes: { value: kmsHostRoutes }
    }
    nonComplianceMessages: [
      {
        message: 'This route table sends traffic for a KMS IP to an appliance or gateway without the KMS /32 routes with next hop Internet (kms-route-audit guard). Add them, or check the path with kms-route-audit if the firewall lets activation through.'
      }
    ]
  }
}

module role 'attestation-role.bicep' = {
  name: 'kms-route-audit-attestation-role'
  params: {
    principalId: principalId
  }
}

output attestedAssignmentId string = attested.id
output attestedDefinitionId string = policy.outputs.attestedDefinitionId
output guardDefinitionId string = policy.outputs.guardDefinitionId
output attestationRoleDefinitionId string = role.outputs.roleDefinitionId
