import { stringify } from "csv-stringify/sync";
import type { Finding, ScanResult } from "../model.js";

const COLUMNS: [string, (f: Finding) => string | number | null][] = [
  ["subscriptionId", (f) => f.subscriptionId],
  ["subscriptionName", (f) => f.subscriptionName],
  ["resourceGroup", (f) => f.resourceGroup],
  ["virtualNetworkName", (f) => f.virtualNetworkName],
  ["subnetName", (f) => f.subnetName],
  ["status", (f) => f.status],
  ["severity", (f) => f.severity],
  ["reasons", (f) => f.reasons.join(";")],
  ["missingRoutes", (f) => f.missingRoutes.join(";")],
  [
    "endpoints",
    (f) =>
      f.endpoints.map((e) => `${e.ip}=${e.bypassed === null ? "unknown" : e.bypassed}`).join(";"),
  ],
  ["networkInterfaces", (f) => f.impact.networkInterfaces],
  ["windowsVirtualMachines", (f) => f.impact.windowsVirtualMachines],
  ["windowsScaleSetInstances", (f) => f.impact.windowsScaleSetInstances],
  ["routeTableId", (f) => f.routeTableId],
  ["subnetId", (f) => f.subnetId],
  ["summary", (f) => f.summary],
];

/** RFC 4180 CSV, one row per finding; list columns are joined with ";". */
export function formatCsv(result: ScanResult): string {
  return stringify(
    [
      ["runId", ...COLUMNS.map(([name]) => name)],
      ...result.findings.map((f) => [result.run.id, ...COLUMNS.map(([, get]) => get(f) ?? "")]),
    ],
    { record_delimiter: "\r\n" },
  );
}
