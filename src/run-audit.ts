import { randomUUID } from "node:crypto";
import type { ActionReport, AuditAction } from "./actions/action.js";
import { auditInventory } from "./audit/audit.js";
import type { Catalog } from "./catalog/catalog.js";
import { flattenEndpoints } from "./catalog/endpoints.js";
import { InputError, describeError } from "./errors.js";
import { factErrors, type FactFailure, type FactsStage } from "./facts/fact-needs.js";
import { InventoryBuilder, type Inventory } from "./inventory/inventory.js";
import type { Logger } from "./logging/logger.js";
import {
  SCHEMA_VERSION,
  countByStatus,
  type CloudName,
  type RunError,
  type ScanResult,
} from "./model.js";
import type { ResultSink, SinkReport } from "./outputs/sink.js";
import type { EstateSource, SourceProgress } from "./sources/source.js";

/**
 * The one audit pipeline (DESIGN.md section 4): source → inventory → facts → audit (judged once) →
 * actions → sinks. The CLI's scan and remediate, the timer and the HTTP function only build a
 * plan (from flags or settings) and render what runAudit returns.
 */
export interface AuditPlan {
  source: EstateSource;
  cloud: CloudName;
  catalog: Catalog;
  /** Live facts read before the audit; none offline. */
  facts?: FactsStage;
  /**
   * The Azure Policy assignment the scanner attests (KMS_AUDIT_POLICY_ASSIGNMENT_ID): its
   * exemptions make subnets Exempt (README "Azure Policy").
   */
  policyAssignment?: { id: string; definitionReferenceId: string | null } | null;
  /** Run after the audit, in order (remediation, attestations). */
  actions?: readonly AuditAction[];
  /** Where the result goes besides the caller's rendering (Log Analytics). */
  sinks?: readonly ResultSink[];
  /**
   * A complete read without one subnet is an input error (a wrong file or scope), not a clean run:
   * the message to refuse it with (exit 2), or nothing to accept it.
   */
  noSubnetMessage?: () => string;
  /**
   * The caller's rendering of the result (the CLI's output), after the actions and before the
   * sinks: what the user asked to see is written even when a delivery later hangs or fails.
   */
  render?: (result: ScanResult) => Promise<void>;
  signal?: AbortSignal;
  now?: () => Date;
  newRunId?: () => string;
  onProgress?: (progress: SourceProgress) => void;
}

export interface AuditOutcome<A extends ActionReport = ActionReport> {
  result: ScanResult;
  actions: A[];
  sinks: SinkReport[];
}

export async function runAudit(plan: AuditPlan, deps: { logger: Logger }): Promise<AuditOutcome> {
  const now = plan.now ?? (() => new Date());
  const { result, inventory } = await judge(plan, deps.logger, now);
  if (plan.noSubnetMessage && result.run.complete && result.findings.length === 0)
    throw new InputError(plan.noSubnetMessage());
  const logger = deps.logger.child({ runId: result.run.id });
  const actions: ActionReport[] = [];
  for (const action of plan.actions ?? []) {
    try {
      actions.push(await action.run({ result, inventory, logger, signal: plan.signal, now }));
    } catch (error) {
      if (plan.signal?.aborted) throw error;
      const failure: RunError = {
        code: "ACTION_FAILED",
        target: action.name,
        message: `${action.name}: ${describeError(error)}`,
      };
      logger.error({ action: action.name, error: failure }, "action failed");
      actions.push({ action: action.name, failed: 1, errors: [failure] });
    }
  }
  await plan.render?.(result);
  const sinks = await writeToSinks(result, plan.sinks ?? [], { logger, signal: plan.signal });
  logger.info(
    {
      complete: result.run.complete,
      errors: result.run.errors.length,
      counts: result.run.counts,
      actions: actions.map(({ action, failed }) => ({ action, failed })),
      sinks: sinks.map(({ sink, delivered, failed }) => ({ sink, delivered, failed })),
    },
    "audit finished",
  );
  return { result, actions, sinks };
}

/**
 * Source → inventory → facts → audit, judged once: rows go straight into the inventory (only what
 * the audit needs is kept), the facts the inventory asks for are read, then every subnet is judged
 * and the run summarised.
 */
async function judge(
  plan: AuditPlan,
  parentLogger: Logger,
  now: () => Date,
): Promise<{ result: ScanResult; inventory: Inventory }> {
  const id = (plan.newRunId ?? randomUUID)();
  const startedAt = now();
  const logger = parentLogger.child({ runId: id });
  const errors: RunError[] = [];
  const readError = (error: RunError) => {
    errors.push(error);
    logger.warn({ error }, "part of the estate could not be read");
  };
  const endpoints = flattenEndpoints(plan.catalog.endpointSets);
  const { source } = plan;
  logger.info(
    { source: source.kind, inputs: source.inputs, scope: source.scope, cloud: plan.cloud },
    "scan started",
  );

  const builder = new InventoryBuilder({ keepForFacts: plan.facts !== undefined });
  for await (const batch of source.read({
    logger,
    signal: plan.signal,
    reportError: readError,
    onProgress: plan.onProgress,
  })) {
    for (const row of batch) builder.add(row);
  }
  const inventory = builder.finish();
  inventory.errors.forEach(readError);

  const auditOptions = {
    endpoints,
    serviceTags: plan.catalog.serviceTags,
    declarations: plan.catalog.declarations,
    forcedSets: plan.catalog.forcedSets,
    asOf: startedAt,
    policyAssignment: plan.policyAssignment ?? null,
  };
  let failures: FactFailure[] = [];
  if (plan.facts) {
    failures = await plan.facts(inventory, {
      logger,
      signal: plan.signal,
      audit: (inv) => auditInventory(inv, auditOptions).findings,
      addFacts: (rows) => builder.addFacts(rows),
    });
  }
  const { findings, warnings } = auditInventory(inventory, auditOptions);
  warnings.unshift(...(plan.catalog.warnings ?? []));
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
      cloud: plan.cloud,
      source: { kind: source.kind, inputs: source.inputs },
      scope: source.scope,
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

/**
 * Hands the result to every sink in turn. A sink that throws (rather than reporting failed
 * records) is turned into a report with every record failed, so one broken sink never hides the
 * others' outcome.
 */
export async function writeToSinks(
  result: ScanResult,
  sinks: readonly ResultSink[],
  context: { logger: Logger; signal?: AbortSignal },
): Promise<SinkReport[]> {
  const reports: SinkReport[] = [];
  for (const sink of sinks) {
    try {
      reports.push(await sink.write(result, context));
    } catch (error) {
      const failure: RunError = {
        code: "SINK_FAILED",
        message: `${sink.name}: ${describeError(error)}`,
        target: sink.name,
      };
      context.logger.error({ sink: sink.name, error: failure }, "sink failed");
      reports.push({
        sink: sink.name,
        delivered: 0,
        failed: result.findings.length + 1,
        errors: [failure],
        cause: describeError(error),
      });
    }
  }
  return reports;
}
