// Log search alert rules over the kms-route-audit tables. Queries live in ../queries. The two
// NonCompliant rules split by subscription and reason (one alert per pair) and carry a runbook
// link in the alert payload (customProperties, common alert schema).

@description('Name prefix of the alert rules.')
param namePrefix string

@description('Azure region (same as the workspace).')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource ID of the Log Analytics workspace.')
param workspaceId string

@description('Resource IDs of the action groups to notify; empty: the rules fire without notifying anyone.')
param actionGroupIds array

@description('Where the responder finds what to do (README section "When an alert fires").')
param runbookUrl string

var byDimension = [
  { name: 'SubscriptionId', operator: 'Include', values: ['*'] }
  { name: 'Reason', operator: 'Include', values: ['*'] }
]

var rules = [
  {
    name: '${namePrefix}-noncompliant-windows'
    displayName: 'KMS routes: NonCompliant subnets with Windows VMs'
    description: 'The latest complete kms-route-audit run has NonCompliant subnets with Windows VMs or scale-set instances: they cannot activate. One alert per subscription and reason; fires after every run until fixed. Runbook: ${runbookUrl}'
    severity: 1
    windowSize: 'PT12H'
    query: loadTextContent('../queries/alert-noncompliant-windows.kql')
    measure: 'Subnets'
    dimensions: byDimension
  }
  {
    name: '${namePrefix}-new-noncompliant'
    displayName: 'KMS routes: new NonCompliant subnets'
    description: 'Subnets NonCompliant in the latest complete kms-route-audit run that were not in the run before. One alert per subscription and reason. Runbook: ${runbookUrl}'
    severity: 2
    windowSize: 'P2D'
    query: loadTextContent('../queries/alert-new-noncompliant.kql')
    measure: 'Subnets'
    dimensions: byDimension
  }
  {
    name: '${namePrefix}-failed-runs'
    displayName: 'KMS routes: failed or incomplete audit runs'
    description: 'A kms-route-audit run could not read every scope, reported errors, or could not deliver its findings. Runbook: ${runbookUrl}'
    severity: 3
    windowSize: 'PT6H'
    query: loadTextContent('../queries/alert-failed-runs.kql')
    measure: null
    dimensions: []
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
          union(
            {
              query: rule.query
              operator: 'GreaterThan'
              threshold: 0
              dimensions: rule.dimensions
              failingPeriods: {
                numberOfEvaluationPeriods: 1
                minFailingPeriodsToAlert: 1
              }
            },
            rule.measure == null
              ? { timeAggregation: 'Count' }
              : { timeAggregation: 'Maximum', metricMeasureColumn: rule.measure }
          )
        ]
      }
      autoMitigate: false
      actions: {
        actionGroups: actionGroupIds
        customProperties: {
          runbook: runbookUrl
          source: 'kms-route-audit'
        }
      }
    }
  }
]

output ruleIds array = [for (rule, i) in rules: alertRules[i].id]
