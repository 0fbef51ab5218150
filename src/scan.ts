import { randomUUID } from "node:crypto";
import { auditInventory } from "./audit/audit.js";
import type { Declarations } from "./catalog/declarations.js";
import { flattenEndpoints } from "./catalog/endpoints.js";
import type { EndpointSet } from "./catalog/kms-endpoints.js";
import type { ServiceTagIndex } from "./catalog/service-tags.js";
import { InventoryBuilder, type Inventory } from "./inventory/inventory.js";
import type { Logger } from "./logging/logger.js";
import { factErrors, type FactFailure, type FactsStage } from "./facts/fact-needs.js";
import {
  SCHEMA_VERSION,
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
  /** Declared appliance behaviour (--declarations). */
  declarations?: Declarations;
  /** Endpoint sets judged for every subnet whatever its VMs (--endpoint-set). */
  forcedSets?: readonly string[];
  /** Live facts read before the audit (learned routes, effective routes). */
  facts?: FactsStage;
  /** The attested assignment (KMS_AUDIT_POLICY_ASSIGNMENT_ID): its exemptions make subnets Exempt. */
  policyAssignment?: { id: string; definitionReferenceId: string | null } | null;
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
  const builder = new InventoryBuilder({ keepForFacts: options.facts !== undefined });
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
  for (const error of inventory.errors) {
    errors.push(error);
    logger.warn({ error }, "part of the estate could not be read");
  }
  const auditOptions = {
    endpoints,
    serviceTags: options.serviceTags,
    declarations: options.declarations,
    forcedSets: options.forcedSets,
    asOf: startedAt,
    policyAssignment: options.policyAssignment ?? null,
  };
  let failures: FactFailure[] = [];
  if (options.facts) {
    failures = await options.facts(inventory, {
      logger,
      signal: options.signal,
      audit: (inv) => auditInventory(inv, auditOptions).findings,
      addFacts: (rows) => builder.addFacts(rows),
    });
  }
  const { findings, warnings } = auditInventory(inventory, auditOptions);
  // A fact that could not be read makes the run incomplete only where a verdict depends on it.
  const facts = factErrors(failures, inventory, findings);
  for (const error of facts.errors) {
    errors.push(error);
    logger.warn({ error }, "a fact a verdict depends on could not be read");
  }
  warnings.push(...facts.warnings);
  if (warnings.length > 0)
    logger.info(
      { warnings: warnings.length, first: warnings[0] },
      "malformed resources or unread facts in the estate",
    );
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
    schemaVersion: SCHEMA_VERSION,
    run: {
      id,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      cloud: options.cloud,
      source: { kind: options.source.kind, inputs: options.source.inputs },
      scope: options.source.scope,
      complete: errors.length === 0,
      errors,
      warnings,
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
