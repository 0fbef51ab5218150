import {
  createNetworkClients,
  type ArmNetworkOptions,
  type NetworkClients,
} from "../azure/network-client.js";
import type { Inventory } from "../inventory/inventory.js";
import type { CloudName, RunError, ScanResult } from "../model.js";
import type { Logger } from "../logging/logger.js";
import { applyPlan } from "./apply.js";
import { desiredByTable, planFromInventory, type ChangeStatus, type RouteChange } from "./plan.js";

export interface RemediationOptions {
  mode: "plan" | "apply";
  replaceConflicting: boolean;
  /** Needed for apply. */
  network?: ArmNetworkOptions;
  /** Injectable for tests; default createNetworkClients(network). */
  clients?: NetworkClients;
}

/** The plan / applied report: every change is one record (the audit trail). */
export interface RemediationReport {
  schemaVersion: 1;
  kind: "remediation";
  mode: "plan" | "apply";
  run: {
    id: string;
    startedAt: string;
    finishedAt: string;
    cloud: string;
    source: { kind: string; inputs: string[] };
    /** The scan the plan rests on read everything. */
    scanComplete: boolean;
    errors: RunError[];
  };
  changes: RouteChange[];
  /** Subnets that need routes but have no route table: use their finding's remediation script. */
  subnetsWithoutRouteTable: { subnetId: string; missingRoutes: string[] }[];
  counts: Record<ChangeStatus, number> & { conflicts: number };
}

/** Plans (and in apply mode adds) the missing KMS routes of an estate already scanned. */
export async function remediateScanned(
  { result, inventory }: { result: ScanResult; inventory: Inventory },
  options: RemediationOptions,
  scan: { cloud: CloudName; logger: Logger; now?: () => Date; signal?: AbortSignal },
): Promise<RemediationReport> {
  const now = scan.now ?? (() => new Date());
  const { tables, withoutTable } = desiredByTable(result.findings);
  let changes: RouteChange[];
  if (options.mode === "apply") {
    if (!options.network && !options.clients) throw new Error("apply needs ARM network options");
    const clients = options.clients ?? createNetworkClients(options.network!);
    changes = await applyPlan(tables, {
      clients,
      options: options.network ?? { cloud: scan.cloud },
      logger: scan.logger.child({ runId: result.run.id }),
      replaceConflicting: options.replaceConflicting,
      now,
      signal: scan.signal,
    });
  } else {
    changes = planFromInventory(inventory, tables, {
      replaceConflicting: options.replaceConflicting,
    });
  }
  const counts = { planned: 0, applied: 0, failed: 0, skipped: 0, unchanged: 0, conflicts: 0 };
  for (const c of changes) {
    counts[c.status]++;
    if (c.action === "conflict") counts.conflicts++;
  }
  return {
    schemaVersion: 1,
    kind: "remediation",
    mode: options.mode,
    run: {
      id: result.run.id,
      startedAt: result.run.startedAt,
      finishedAt: now().toISOString(),
      cloud: result.run.cloud,
      source: result.run.source,
      scanComplete: result.run.complete,
      errors: result.run.errors,
    },
    changes,
    subnetsWithoutRouteTable: withoutTable.map((f) => ({
      subnetId: f.subnetId,
      missingRoutes: f.missingRoutes,
    })),
    counts,
  };
}

/** Table output: one block per route table, one line per change. */
export function formatRemediationTable(report: RemediationReport): string {
  const lines = [
    `kms-route-audit remediate  ${report.mode}  run ${report.run.id}  ${report.run.cloud}${report.run.scanComplete ? "" : "  (scan incomplete)"}`,
    "",
  ];
  let current = "";
  for (const c of report.changes) {
    if (c.routeTableId !== current) {
      current = c.routeTableId;
      lines.push(
        `${current}  (${c.subnetIds.length} subnet${c.subnetIds.length === 1 ? "" : "s"})`,
      );
    }
    const what =
      c.action === "create"
        ? `add ${c.routeName} ${c.addressPrefix} -> Internet`
        : c.action === "replace"
          ? `replace ${c.routeName} ${c.addressPrefix}: ${c.previousNextHopType} -> Internet`
          : c.action === "conflict"
            ? `CONFLICT ${c.routeName} ${c.addressPrefix} -> ${c.previousNextHopType} (left alone; --replace-conflicting)`
            : `present ${c.routeName} ${c.addressPrefix} -> Internet`;
    lines.push(
      `  ${c.status.padEnd(9)} ${what}${c.error && c.action !== "conflict" ? `: ${c.error}` : ""}`,
    );
  }
  if (report.changes.length === 0) lines.push("Nothing to change.");
  for (const s of report.subnetsWithoutRouteTable)
    lines.push(
      `no route table: ${s.subnetId} needs ${s.missingRoutes.join(", ")} (see the finding's remediation script)`,
    );
  const n = report.counts;
  lines.push(
    "",
    `planned ${n.planned}, applied ${n.applied}, failed ${n.failed}, skipped ${n.skipped}, unchanged ${n.unchanged}, conflicts ${n.conflicts}`,
  );
  return `${lines.join("\n")}\n`;
}
