// Data collection rule of kind Direct: it has its own logs ingestion endpoint, so no separate
// data collection endpoint is needed. One stream per table, transform `source` (no change).

@description('Name of the data collection rule.')
param name string

@description('Azure region (same as the workspace).')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource ID of the Log Analytics workspace the streams go to.')
param workspaceId string

@description('Names of the tables, so the rule is created after them.')
param tableNames array

var schema = loadJsonContent('log-analytics-schema.json')

resource dcr 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: name
  location: location
  tags: tags
  kind: 'Direct'
  properties: {
    description: 'kms-route-audit findings and runs (${join(tableNames, ', ')})'
    streamDeclarations: toObject(
      schema.tables,
      table => table.stream,
      table => {
        columns: map(table.columns, column => { name: column.name, type: column.streamType })
      }
    )
    destinations: {
      logAnalytics: [
        {
          name: 'workspace'
          workspaceResourceId: workspaceId
        }
      ]
    }
    dataFlows: [
      for table in schema.tables: {
        streams: [table.stream]
        destinations: ['workspace']
        transformKql: 'source'
        outputStream: table.stream
      }
    ]
  }
}

output id string = dcr.id
output immutableId string = dcr.properties.immutableId
output logsIngestionEndpoint string = dcr.properties.endpoints.logsIngestion
output findingsStream string = schema.tables[0].stream
output runsStream string = schema.tables[1].stream
