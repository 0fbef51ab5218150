import { randomUUID } from "node:crypto";
import { auditInventory } from "./audit/audit.js";
import { flattenEndpoints } from "./catalog/endpoints.js";
import type { EndpointSet } from "./catalog/kms-endpoints.js";
import type { ServiceTagIndex } from "./catalog/service-tags.js";
import { InventoryBuilder, type Inventory } from "./inventory/inventory.js";
import type { Logger } from "./logging/logger.js";
import {
  STATUSES,
  type CloudName,
  type Finding,
  type RunError,
  type ScanResult,
  type StatusCounts,
} from "./model.js";
import type { EstateSource, SourceProgress } from "./sources/source.js";

export interface ScanOptions {
  source: EstateSource;
  cloud: CloudName;
  endpointSets: EndpointSet[];
  serviceTags?: ServiceTagIndex;
  logger: Logger;
  signal?: AbortSignal;
  /** Passed to the source: told after each page it reads. */
  onProgress?: (progress: SourceProgress) => void;
  now?: () => Date;
  newRunId?: () => string;
}

/** The one code path every entry point runs: read the estate, audit it, summarise the run. */
export async function runScan(options: ScanOptions): Promise<ScanResult> {
  return (await runScanWithInventory(options)).result;
}

/**
 * runScan, also handing back the inventory the findings were judged on, for steps that work on
 * after the audit (confirmation against ARM, remediation) without reading the estate twice.
 */
export async function runScanWithInventory(
  options: ScanOptions,
): Promise<{ result: ScanResult; inventory: Inventory }> {
  const now = options.now ?? (() => new Date());
  const id = (options.newRunId ?? randomUUID)();
  const startedAt = now();
  const logger = options.logger.child({ runId: id });
  const errors: RunError[] = [];
  const endpoints = flattenEndpoints(options.endpointSets);
  logger.info(
    {
      source: options.source.kind,
      inputs: options.source.inputs,
      scope: options.source.scope,
      cloud: options.cloud,
    },
    "scan started",
  );

  // Rows go straight into the inventory: only what the audit needs is kept, not the rows.
  const builder = new InventoryBuilder();
  for await (const batch of options.source.read({
    logger,
    signal: options.signal,
    reportError: (error) => {
      errors.push(error);
      logger.warn({ error }, "part of the estate could not be read");
    },
    onProgress: options.onProgress,
  })) {
    for (const row of batch) builder.add(row);
  }
  const inventory = builder.finish();
  const findings = auditInventory(inventory, { endpoints, serviceTags: options.serviceTags });
  const finishedAt = now();
  const counts = countByStatus(findings);
  logger.info(
    {
      rows: builder.rows,
      subnets: findings.length,
      counts,
      complete: errors.length === 0,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    },
    "scan finished",
  );
  const result: ScanResult = {
    schemaVersion: 1,
    run: {
      id,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      cloud: options.cloud,
      source: { kind: options.source.kind, inputs: options.source.inputs },
      scope: options.source.scope,
      complete: errors.length === 0,
      errors,
      counts,
      endpoints: endpoints.map(({ set, host, ip, port }) => ({ set, host, ip, port })),
    },
    findings,
  };
  return { result, inventory };
}

export function countByStatus(findings: Finding[]): StatusCounts {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as StatusCounts;
  counts.total = findings.length;
  for (const f of findings) counts[f.status]++;
  return counts;
}
