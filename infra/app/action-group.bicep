// An action group that emails the alerts (parameter alertEmail), with the common alert schema so
// the mail carries the dimensions (subscription, reason) and the runbook link.

@description('Name of the action group.')
param name string

@description('Tags for every resource.')
param tags object

@description('Email address the alerts go to.')
param email string

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'kmsaudit'
    enabled: true
    emailReceivers: [
      {
        name: 'kms-route-audit-email'
        emailAddress: email
        useCommonAlertSchema: true
      }
    ]
  }
}

output id string = actionGroup.id
