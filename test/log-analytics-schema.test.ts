import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { toFindingRows, toRunRow } from "../src/outputs/log-analytics/rows.js";
import {
  FINDINGS_TABLE,
  infraSchemaDocument,
  RUNS_TABLE,
  TABLES,
  type ColumnType,
  type TableSchema,
} from "../src/outputs/log-analytics/schema.js";
import {
  analyzeKql,
  analyzeResourceGraphKql,
  isResourceGraphQuery,
  readKqlFiles,
} from "../scripts/kql-check.js";
import { aScanResult } from "./log-analytics/scan-result.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const INFRA = join(ROOT, "infra");

function fits(type: ColumnType, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "int":
    case "long":
      return Number.isInteger(value);
    case "real":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "datetime":
      return typeof value === "string" && !Number.isNaN(Date.parse(value));
    case "dynamic":
      return typeof value === "object" && value !== null;
  }
}

function assertMatchesSchema(row: Record<string, unknown>, table: TableSchema) {
  assert.deepEqual(
    Object.keys(row),
    table.columns.map((c) => c.name),
    `${table.name}: the row has exactly the declared columns, in order`,
  );
  for (const column of table.columns) {
    const value = row[column.name];
    if (value === null) {
      assert.ok(column.nullable, `${table.name}.${column.name} is not nullable`);
    } else {
      assert.ok(fits(column.type, value), `${table.name}.${column.name}: ${JSON.stringify(value)}`);
    }
  }
}

void test("finding rows match KmsRouteAudit_CL column for column", () => {
  const rows = toFindingRows(aScanResult(40));
  assert.equal(rows.length, 40);
  for (const row of rows) assertMatchesSchema(row, FINDINGS_TABLE);
  assert.ok(rows.some((r) => r.SubscriptionName === null && r.RouteTableId === null));
});

void test("run rows match KmsRouteAuditRun_CL column for column", () => {
  const result = aScanResult(10, { complete: false });
  const row = toRunRow(result, {
    findingRecords: 10,
    failedRecords: 3,
    resentRecords: 2,
    pendingRecords: 1,
  });
  assertMatchesSchema(row, RUNS_TABLE);
  assert.equal(row.Complete, false);
  assert.equal(row.FailedRecords, 3);
  assert.equal(row.DurationMs, 90_000);
  assert.equal(row.Total, 10);
});

void test("the Bicep tables and DCR streams are generated from the schema", async () => {
  const file = JSON.parse(
    await readFile(join(INFRA, "app", "log-analytics-schema.json"), "utf8"),
  ) as unknown;
  assert.deepEqual(file, infraSchemaDocument(), "stale: run npm run generate:schema");
  const doc = infraSchemaDocument();
  for (const [i, table] of TABLES.entries()) {
    const declared = doc.tables[i]!;
    assert.equal(declared.name, table.name);
    assert.equal(declared.stream, table.stream);
    assert.deepEqual(
      declared.columns.map((c) => (c as { name: string }).name),
      table.columns.map((c) => c.name),
    );
  }
  const tables = await readFile(join(INFRA, "app", "tables.bicep"), "utf8");
  const dcr = await readFile(join(INFRA, "app", "dcr.bicep"), "utf8");
  for (const bicep of [tables, dcr]) {
    assert.match(bicep, /loadJsonContent\('log-analytics-schema\.json'\)/);
  }
  assert.match(tables, /type: column\.tableType/);
  assert.match(dcr, /type: column\.streamType/);
  assert.match(dcr, /kind: 'Direct'/);
  assert.match(dcr, /transformKql: 'source'/);
});

void test("every workbook and alert query is deployed and parses against the schema", async () => {
  const queries = await readKqlFiles(join(INFRA, "queries"));
  assert.ok(queries.size >= 7);
  const bicep = (
    await Promise.all(
      (await readdir(join(INFRA, "app")))
        .filter((n) => n.endsWith(".bicep"))
        .map((n) => readFile(join(INFRA, "app", n), "utf8")),
    )
  ).join("\n");
  for (const [name, text] of queries) {
    assert.ok(bicep.includes(`loadTextContent('../queries/${name}')`), `${name} is deployed`);
    // A Resource Graph query (.arg.kql, the workbook's Policy panel) is checked against
    // policyresources and Resource Graph's operators, the others against the tables' schema.
    const problems = isResourceGraphQuery(name)
      ? analyzeResourceGraphKql(text)
      : analyzeKql(text, TABLES);
    assert.deepEqual(problems, [], name);
  }
});

void test("a renamed column fails the KQL check", () => {
  const problems = analyzeKql("KmsRouteAudit_CL | where WindowsVMs > 0", TABLES);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /WindowsVMs/);
  const renamed = TABLES.map((t) => ({
    ...t,
    columns: t.columns.map((c) => (c.name === "Complete" ? { ...c, name: "IsComplete" } : c)),
  }));
  assert.ok(
    analyzeKql("KmsRouteAuditRun_CL | where Complete == true", renamed).length > 0,
    "queries are checked against the declared schema",
  );
});

void test("current-state dashboard queries read complete runs only", async () => {
  const queries = await readKqlFiles(join(INFRA, "queries"));
  for (const name of [
    "compliance-over-time.kql",
    "by-subscription.kql",
    "worst-subnets.kql",
    "legacy-kms-only.kql",
  ]) {
    assert.match(queries.get(name) ?? "", /Complete == true/, name);
  }
});
