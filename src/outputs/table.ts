import { styleText } from "node:util";
import {
  STATUSES,
  decidingPathOf,
  type Finding,
  type ScanResult,
  type Severity,
  type Status,
} from "../model.js";
import { escapeControl as esc } from "../redact.js";

export interface TableOptions {
  color: boolean;
}

const SEVERITY_ORDER: Record<Severity, number> = { high: 0, medium: 1, low: 2, none: 3 };
/** The table lists the worst subnets of each status; the other formats list every one. */
export const TABLE_ROWS_PER_STATUS = 200;

type Style = Parameters<typeof styleText>[0];

const STATUS_STYLE: Record<Status, "red" | "yellow" | "cyan" | "green" | "gray"> = {
  NonCompliant: "red",
  Unverified: "yellow",
  Exempt: "cyan",
  Compliant: "green",
  NotApplicable: "gray",
};

function worstFirst(a: Finding, b: Finding): number {
  return (
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    (windowsCount(b) ?? 0) - (windowsCount(a) ?? 0) ||
    a.subnetId.toLowerCase().localeCompare(b.subnetId.toLowerCase())
  );
}

/** Windows VMs plus Windows scale-set instances; null (shown "-") when the inventory had neither. */
function windowsCount(f: Finding): number | null {
  const { windowsVirtualMachines: vms, windowsScaleSetInstances: instances } = f.impact;
  return vms === null && instances === null ? null : (vms ?? 0) + (instances ?? 0);
}

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
    .join("  ")
    .trimEnd();
}

/** Readable at a glance: counts by status first, then the subnets that need attention. */
export function formatTable(result: ScanResult, options: TableOptions): string {
  // Whether to colour is the caller's decision (TTY, NO_COLOR), not styleText's own stream check.
  const paint = (style: Style, text: string) =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  const { run } = result;
  const lines: string[] = [];
  const state = run.complete
    ? "complete"
    : paint("red", `INCOMPLETE (${run.errors.length} errors)`);
  lines.push(
    `kms-route-audit  run ${esc(run.id)}  ${run.cloud}  ${run.source.kind}${run.source.inputs.length ? `: ${esc(run.source.inputs.join(", "))}` : ""}  ${state}`,
  );
  lines.push("");
  const width = Math.max(...STATUSES.map((s) => s.length));
  lines.push(`Subnets audited: ${run.counts.total}`);
  for (const status of STATUSES) {
    lines.push(
      `  ${paint(STATUS_STYLE[status], status.padEnd(width))}  ${String(run.counts[status]).padStart(7)}`,
    );
  }

  let needsAttention = false;
  for (const status of ["NonCompliant", "Unverified"] as const) {
    const all = result.findings.filter((f) => f.status === status).sort(worstFirst);
    if (all.length === 0) continue;
    needsAttention = true;
    // At a glance: the worst ones. Every subnet is in the csv, json and ndjson formats.
    const rows = all.slice(0, TABLE_ROWS_PER_STATUS);
    lines.push("", paint(["bold", STATUS_STYLE[status]], `${status} (${all.length})`));
    const header = ["SEVERITY", "SUBSCRIPTION", "VNET/SUBNET", "ROUTE TABLE", "WINDOWS", "REASONS"];
    // Names come from the data: control characters (ESC, BEL, NUL...) are printed escaped.
    const cells = rows.map((f) => [
      f.severity,
      esc(f.subscriptionName ?? f.subscriptionId),
      esc(`${f.virtualNetworkName}/${f.subnetName}`),
      esc(f.routeTableName ?? "-"),
      String(windowsCount(f) ?? "-"),
      esc(f.reasons.join(", ")),
    ]);
    // A loop, not Math.max(...cells): a spread of 100k+ arguments overflows the stack.
    const widths = header.map((h, i) =>
      cells.reduce((w, c) => Math.max(w, c[i]!.length), h.length),
    );
    lines.push(`  ${paint("dim", pad(header, widths))}`);
    rows.forEach((f, i) => {
      lines.push(`  ${pad(cells[i]!, widths)}`);
      lines.push(`    ${paint("dim", esc(f.summary))}`);
      // The deciding hop in words, the way a packet goes.
      const path = decidingPathOf(f);
      if (path) lines.push(`    ${paint("dim", `path: ${esc(path).replaceAll(" -> ", " → ")}`)}`);
    });
    if (all.length > rows.length) {
      lines.push(
        `  ... and ${all.length - rows.length} more ${status} subnets (--format csv or json lists them all)`,
      );
    }
  }

  if (run.warnings.length > 0) {
    lines.push(
      "",
      paint(
        "yellow",
        `Malformed in the data (${run.warnings.length}; what depends on it is Unverified, not Compliant):`,
      ),
    );
    for (const w of run.warnings.slice(0, TABLE_ROWS_PER_STATUS)) lines.push(`  ${esc(w.message)}`);
    if (run.warnings.length > TABLE_ROWS_PER_STATUS)
      lines.push(
        `  ... and ${run.warnings.length - TABLE_ROWS_PER_STATUS} more (--format json: run.warnings)`,
      );
  }
  if (run.errors.length > 0) {
    lines.push(
      "",
      paint(
        "red",
        "Not read (the scan is incomplete; unread subnets are not reported as compliant):",
      ),
    );
    for (const e of run.errors) lines.push(`  ${esc(e.code)}: ${esc(e.message)}`);
  }
  if (needsAttention) {
    lines.push(
      "",
      "Fix commands for each subnet: --format json (findings[].remediation) or see the README.",
    );
  }
  return `${lines.join("\n")}\n`;
}
