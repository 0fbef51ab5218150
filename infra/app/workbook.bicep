// Azure Monitor workbook over KmsRouteAudit_CL and KmsRouteAuditRun_CL, and, for the Azure Policy
// side by side with the scanner, Resource Graph's policyresources. The queries are the files in
// ../queries, loaded as they are, so `npm run check:infra` parses exactly what is deployed
// (*.arg.kql against Resource Graph, the others against the Log Analytics tables). Current-state
// views read only the latest complete run; incomplete runs have a table of their own and never
// count as compliant.

@description('Display name of the workbook.')
param displayName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource ID of the Log Analytics workspace the queries run on (created or brought).')
param workspaceId string

func queryItem(name string, title string, query string, visualization string) object => {
  type: 3
  name: name
  content: {
    version: 'KqlItem/1.0'
    title: title
    query: query
    size: 0
    queryType: 0
    resourceType: 'microsoft.operationalinsights/workspaces'
    crossComponentResources: []
    timeContextFromParameter: 'TimeRange'
    visualization: visualization
  }
}

// A Resource Graph query (queryType 1) over every subscription the viewer can read
// ('value::all'; 'value::selected' would follow the portal's subscription filter). Azure Workbooks
// data sources: "choose at which level of data you wish to target, either Subscriptions,
// Management groups, or the entire Tenant/Directory"
// (https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-data-sources). It runs as
// the viewer, with the viewer's read access, and takes no time range.
func resourceGraphItem(name string, title string, query string, visualization string) object => {
  type: 3
  name: name
  content: {
    version: 'KqlItem/1.0'
    title: title
    query: query
    size: 0
    queryType: 1
    resourceType: 'microsoft.resourcegraph/resources'
    crossComponentResources: ['value::all']
    visualization: visualization
  }
}

// Half the workbook's width: two such items in a row are shown side by side.
func halfWidth(item object) object => union(item, { customWidth: '50' })

var workbook = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      name: 'intro'
      content: {
        json: '## KMS activation routes\nSubnets whose forced tunneling may break Windows KMS activation (TCP 1688). Current-state views use the latest **complete** run only; see *Incomplete runs* for runs that could not read everything.'
      }
    }
    {
      type: 9
      name: 'parameters'
      content: {
        version: 'KqlParameterItem/1.0'
        parameters: [
          {
            id: '6b0d5a8e-3c55-4d8e-9a59-0a4f3e0b7a11'
            version: 'KqlParameterItem/1.0'
            name: 'TimeRange'
            type: 4
            isRequired: true
            value: { durationMs: 2592000000 }
            typeSettings: {
              allowCustom: true
              selectableValues: [
                { durationMs: 86400000 }
                { durationMs: 604800000 }
                { durationMs: 2592000000 }
                { durationMs: 7776000000 }
              ]
            }
          }
        ]
      }
    }
    queryItem(
      'compliance-over-time',
      'Subnets by status over time (complete runs)',
      loadTextContent('../queries/compliance-over-time.kql'),
      'timechart'
    )
    queryItem(
      'by-subscription',
      'By subscription (latest complete run)',
      loadTextContent('../queries/by-subscription.kql'),
      'table'
    )
    // The same subnets counted by compliance state: Azure Policy's view (from the scanner's
    // attestations) beside the scanner's latest complete run mapped the way it attests.
    halfWidth(resourceGraphItem(
      'policy-states',
      'Azure Policy: attested subnets',
      loadTextContent('../queries/policy-states.arg.kql'),
      'table'
    ))
    halfWidth(queryItem(
      'scanner-policy-states',
      'Scanner: latest complete run, as Policy states',
      loadTextContent('../queries/scanner-policy-states.kql'),
      'table'
    ))
    queryItem(
      'worst-subnets',
      'Worst subnets (latest complete run)',
      loadTextContent('../queries/worst-subnets.kql'),
      'table'
    )
    queryItem(
      'legacy-kms-only',
      'Subnets that bypass only the pre-2022 KMS IP',
      loadTextContent('../queries/legacy-kms-only.kql'),
      'table'
    )
    queryItem(
      'incomplete-runs',
      'Incomplete runs and undelivered rows',
      loadTextContent('../queries/incomplete-runs.kql'),
      'table'
    )
  ]
  fallbackResourceIds: [workspaceId]
  '$schema': 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json'
}

resource kmsWorkbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, last(split(workspaceId, '/')), 'kms-route-audit-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: workspaceId
    serializedData: string(workbook)
    version: '1.0'
  }
}

output id string = kmsWorkbook.id
