// The kms-route-audit tables. Their columns come from log-analytics-schema.json, which
// `npm run generate:schema` writes from src/outputs/log-analytics/schema.ts.

@description('Name of the existing Log Analytics workspace.')
param workspaceName string

@description('Days the tables keep data.')
param retentionInDays int

var schema = loadJsonContent('log-analytics-schema.json')

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' existing = {
  name: workspaceName
}

resource tables 'Microsoft.OperationalInsights/workspaces/tables@2025-07-01' = [
  for table in schema.tables: {
    parent: workspace
    name: table.name
    properties: {
      plan: 'Analytics'
      retentionInDays: retentionInDays
      schema: {
        name: table.name
        description: table.description
        columns: map(table.columns, column => {
          name: column.name
          type: column.tableType
          description: column.description
        })
      }
    }
  }
]

output tableNames array = [for (table, i) in schema.tables: tables[i].name]
