/**
 * The Log Analytics table schemas of kms-route-audit, declared once.
 *
 * Everything else derives from these two declarations: the row mappers are typed against them,
 * `infra/app/log-analytics-schema.json` (tables and DCR stream declarations) is generated from
 * them by `npm run generate:schema`, and `npm run check:infra` parses the workbook and alert KQL
 * against them.
 */

/** Column types as Log Analytics tables name them (DCR stream declarations write `datetime`). */
export type ColumnType = "string" | "int" | "long" | "real" | "boolean" | "datetime" | "dynamic";

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  /** True when the value may be null (Log Analytics stores an empty value). */
  readonly nullable?: boolean;
  readonly description: string;
}

export interface TableSchema {
  /** Table name in the workspace (ends in _CL). */
  readonly name: string;
  /** Default DCR stream that feeds the table. */
  readonly stream: string;
  readonly description: string;
  readonly columns: readonly Column[];
}

export const FINDINGS_TABLE = {
  name: "KmsRouteAudit_CL",
  stream: "Custom-KmsRouteAudit_CL",
  description: "kms-route-audit: one row per audited subnet per run.",
  columns: [
    { name: "TimeGenerated", type: "datetime", description: "When the run finished." },
    { name: "RunId", type: "string", description: "ID of the run that produced the row." },
    {
      name: "RecordId",
      type: "string",
      description: "RunId/subnet key; identical on a resent row, so duplicates can be removed.",
    },
    {
      name: "RunComplete",
      type: "boolean",
      description: "False when the run could not read every scope or page.",
    },
    { name: "Cloud", type: "string", description: "Azure cloud audited." },
    { name: "SubnetId", type: "string", description: "Subnet resource ID." },
    { name: "SubnetName", type: "string", description: "Subnet name." },
    { name: "VirtualNetworkId", type: "string", description: "Virtual network resource ID." },
    { name: "VirtualNetworkName", type: "string", description: "Virtual network name." },
    { name: "SubscriptionId", type: "string", description: "Subscription ID." },
    {
      name: "SubscriptionName",
      type: "string",
      nullable: true,
      description: "Subscription display name.",
    },
    { name: "ResourceGroup", type: "string", description: "Resource group of the subnet." },
    { name: "Location", type: "string", nullable: true, description: "Region of the VNet." },
    {
      name: "RouteTableId",
      type: "string",
      nullable: true,
      description: "Route table associated with the subnet.",
    },
    {
      name: "Status",
      type: "string",
      description: "NonCompliant, Unverified, Exempt, Compliant or NotApplicable.",
    },
    { name: "Severity", type: "string", description: "high, medium, low or none." },
    { name: "Reasons", type: "dynamic", description: "Array of reason codes (UPPER_SNAKE)." },
    {
      name: "MissingRoutes",
      type: "dynamic",
      description: "Array of CIDRs that need a route with next hop Internet.",
    },
    {
      name: "Endpoints",
      type: "dynamic",
      description:
        "Array of per-endpoint-IP verdicts {set, host, ip, port, reachable, reason, path[], nextHopType, ...} (schema 2; schema 1 had bypassed instead of reachable).",
    },
    {
      name: "GatewayRoutesPossible",
      type: "boolean",
      description: "True when the subnet may learn gateway (BGP) routes.",
    },
    {
      name: "WindowsVmCount",
      type: "int",
      nullable: true,
      description: "Windows VMs with a NIC in the subnet.",
    },
    {
      name: "WindowsScaleSetInstanceCount",
      type: "int",
      nullable: true,
      description: "Windows scale-set instances in the subnet.",
    },
    {
      name: "NicCount",
      type: "int",
      nullable: true,
      description: "NICs with an IP configuration in the subnet.",
    },
    {
      name: "LinuxVmCount",
      type: "int",
      nullable: true,
      description: "Linux VMs with a NIC in the subnet.",
    },
    {
      name: "RhelPayGoVmCount",
      type: "int",
      nullable: true,
      description: "RHEL pay-as-you-go VMs in the subnet (they update from RHUI).",
    },
    {
      name: "SlesPayGoVmCount",
      type: "int",
      nullable: true,
      description: "SLES pay-as-you-go VMs in the subnet.",
    },
    {
      name: "EndpointSets",
      type: "dynamic",
      description:
        "Endpoint sets judged for the subnet (kms; rhui where RHEL pay-as-you-go VMs run).",
    },
    {
      name: "DecidingPath",
      type: "string",
      nullable: true,
      description: "The path that decided the status, hop by hop, in words.",
    },
    {
      name: "SchemaVersion",
      type: "int",
      description: "The JSON contract version of the row (2).",
    },
    { name: "Summary", type: "string", description: "One readable line." },
  ],
} as const satisfies TableSchema;

export const RUNS_TABLE = {
  name: "KmsRouteAuditRun_CL",
  stream: "Custom-KmsRouteAuditRun_CL",
  description: "kms-route-audit: one row per run.",
  columns: [
    { name: "TimeGenerated", type: "datetime", description: "When the run finished." },
    { name: "RunId", type: "string", description: "Run ID." },
    { name: "StartedAt", type: "datetime", description: "When the run started." },
    { name: "FinishedAt", type: "datetime", description: "When the run finished." },
    { name: "DurationMs", type: "long", description: "FinishedAt - StartedAt in milliseconds." },
    { name: "Cloud", type: "string", description: "Azure cloud audited." },
    { name: "Source", type: "string", description: "file, demo or resource-graph." },
    { name: "Inputs", type: "dynamic", description: "Input files of an offline run." },
    {
      name: "Scope",
      type: "dynamic",
      description: "{subscriptions: [...], managementGroups: [...]} (empty: all readable).",
    },
    {
      name: "Complete",
      type: "boolean",
      description: "False when some scope or page could not be read.",
    },
    { name: "Errors", type: "dynamic", description: "Array of {code, message, target}." },
    { name: "ErrorCount", type: "int", description: "Number of entries in Errors." },
    {
      name: "Warnings",
      type: "dynamic",
      description:
        "Array of {code, message, target}: malformed resources (their subnets are Unverified).",
    },
    { name: "WarningCount", type: "int", description: "Number of entries in Warnings." },
    {
      name: "SchemaVersion",
      type: "int",
      description: "The JSON contract version of the run (2).",
    },
    { name: "NonCompliant", type: "int", description: "Subnets NonCompliant." },
    { name: "Unverified", type: "int", description: "Subnets Unverified." },
    { name: "Exempt", type: "int", description: "Subnets Exempt." },
    { name: "Compliant", type: "int", description: "Subnets Compliant." },
    { name: "NotApplicable", type: "int", description: "Subnets NotApplicable." },
    { name: "Total", type: "int", description: "Subnets audited." },
    {
      name: "FindingRecords",
      type: "int",
      description: "Finding rows this run tried to send to KmsRouteAudit_CL.",
    },
    {
      name: "FailedRecords",
      type: "int",
      description: "Finding rows of this run that could not be delivered (kept for resend).",
    },
    {
      name: "ResentRecords",
      type: "int",
      description: "Rows of earlier runs delivered from the pending store during this run.",
    },
    {
      name: "PendingRecords",
      type: "int",
      description: "Rows of earlier runs still in the pending store after the resend.",
    },
    { name: "Endpoints", type: "dynamic", description: "KMS endpoints audited." },
  ],
} as const satisfies TableSchema;

export const TABLES = [FINDINGS_TABLE, RUNS_TABLE] as const;

type ValueOf<T extends ColumnType> = T extends "string" | "datetime"
  ? string
  : T extends "int" | "long" | "real"
    ? number
    : T extends "boolean"
      ? boolean
      : unknown;

type ColumnValue<C extends Column> = C extends { nullable: true }
  ? ValueOf<C["type"]> | null
  : ValueOf<C["type"]>;

/** A row of a table: exactly its columns, with the TypeScript type of each column's type. */
export type RowOf<T extends TableSchema> = {
  [C in T["columns"][number] as C["name"]]: ColumnValue<C>;
};

export type FindingRow = RowOf<typeof FINDINGS_TABLE>;
export type RunRow = RowOf<typeof RUNS_TABLE>;

/** Column type as `Microsoft.OperationalInsights/workspaces/tables` spells it. */
export function tableColumnType(type: ColumnType): string {
  return type === "datetime" ? "dateTime" : type;
}

/** `(Name:type, ...)` — the schema text the Kusto language service takes. */
export function kustoSchemaText(table: TableSchema): string {
  return `(${table.columns.map((c) => `${c.name}:${c.type}`).join(", ")})`;
}

/**
 * The JSON that Bicep loads with `loadJsonContent` for the tables and the DCR stream
 * declarations (generated into infra/app/log-analytics-schema.json).
 */
export function infraSchemaDocument(): {
  tables: { name: string; stream: string; description: string; columns: object[] }[];
} {
  return {
    tables: TABLES.map((t) => ({
      name: t.name,
      stream: t.stream,
      description: t.description,
      columns: t.columns.map((c) => ({
        name: c.name,
        tableType: tableColumnType(c.type),
        streamType: c.type,
        description: c.description,
      })),
    })),
  };
}
