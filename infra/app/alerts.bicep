// Log search alert rules over the kms-route-audit tables. Queries live in ../queries.

@description('Name prefix of the alert rules.')
param namePrefix string

@description('Azure region (same as the workspace).')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource ID of the Log Analytics workspace.')
param workspaceId string

@description('Resource ID of the action group to notify; empty: rules fire without notifying anyone.')
param actionGroupId string

var rules = [
  {
    name: '${namePrefix}-new-noncompliant'
    displayName: 'KMS routes: new NonCompliant subnets'
    description: 'Subnets NonCompliant in the latest complete kms-route-audit run that were not in the run before.'
    severity: 2
    windowSize: 'P2D'
    query: loadTextContent('../queries/alert-new-noncompliant.kql')
  }
  {
    name: '${namePrefix}-failed-runs'
    displayName: 'KMS routes: failed or incomplete audit runs'
    description: 'A kms-route-audit run could not read every scope, reported errors, or could not deliver its findings.'
    severity: 3
    windowSize: 'PT6H'
    query: loadTextContent('../queries/alert-failed-runs.kql')
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for rule in rules: {
    name: rule.name
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [workspaceId]
      evaluationFrequency: 'PT1H'
      windowSize: rule.windowSize
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: false
      actions: {
        actionGroups: empty(actionGroupId) ? [] : [actionGroupId]
      }
    }
  }
]

output ruleIds array = [for (rule, i) in rules: alertRules[i].id]
