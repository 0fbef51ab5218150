import { stringify } from "csv-stringify/sync";
import { decidingPathOf, type Finding, type ScanResult } from "../model.js";

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
  // Schema 2: ip=reachable:REASON (schema 1 wrote ip=bypassed).
  [
    "endpoints",
    (f) =>
      f.endpoints
        .map((e) => `${e.ip}=${e.reachable === null ? "unknown" : e.reachable}:${e.reason}`)
        .join(";"),
  ],
  ["decidingPath", (f) => decidingPathOf(f)],
  ["endpointSets", (f) => f.endpointSets.join(";")],
  ["networkInterfaces", (f) => f.impact.networkInterfaces],
  ["windowsVirtualMachines", (f) => f.impact.windowsVirtualMachines],
  ["windowsScaleSetInstances", (f) => f.impact.windowsScaleSetInstances],
  ["linuxVirtualMachines", (f) => f.impact.linuxVirtualMachines],
  ["rhelPayAsYouGoVirtualMachines", (f) => f.impact.rhelPayAsYouGoVirtualMachines],
  ["slesPayAsYouGoVirtualMachines", (f) => f.impact.slesPayAsYouGoVirtualMachines],
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
