import type { ActionReport, AuditAction } from "./actions/action.js";
import type { Catalog } from "./catalog/catalog.js";
import { InputError, describeError } from "./errors.js";
import type { FactsStage } from "./facts/fact-needs.js";
import type { Logger } from "./logging/logger.js";
import type { CloudName, RunError, ScanResult, Status } from "./model.js";
import type { ResultSink, SinkReport } from "./outputs/sink.js";
import { runScanWithInventory } from "./scan.js";
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
  const { result, inventory } = await runScanWithInventory({
    source: plan.source,
    cloud: plan.cloud,
    endpointSets: plan.catalog.endpointSets,
    serviceTags: plan.catalog.serviceTags,
    declarations: plan.catalog.declarations,
    forcedSets: plan.catalog.forcedSets,
    facts: plan.facts,
    policyAssignment: plan.policyAssignment ?? null,
    logger: deps.logger,
    signal: plan.signal,
    onProgress: plan.onProgress,
    now,
    newRunId: plan.newRunId,
  });
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
      });
    }
  }
  return reports;
}

/**
 * Why a run finished with problems, one line each (empty when none): the scan could not read
 * everything, a sink could not deliver, an action failed. The timer throws with them; the CLI exits
 * 3; the HTTP function reports them.
 */
export function problemsOf(outcome: Pick<AuditOutcome, "result" | "actions" | "sinks">): string[] {
  const problems: string[] = [];
  const { run } = outcome.result;
  if (!run.complete)
    problems.push(
      `incomplete: ${run.errors.map((e) => `${e.code} ${e.target ?? ""}`.trim()).join(", ")}`,
    );
  const failedRecords = outcome.sinks.reduce((n, r) => n + r.failed, 0);
  if (failedRecords > 0)
    problems.push(
      `${failedRecords} records not delivered (${outcome.sinks
        .filter((r) => r.failed > 0)
        .map((r) => r.sink)
        .join(", ")})`,
    );
  // Delivered, but a failure could not have been kept for the next run: not a clean run.
  for (const r of outcome.sinks) {
    const unsafe = r.errors.filter((e) => UNSAFE_SINK_CODES.has(e.code));
    if (r.failed === 0 && unsafe.length > 0)
      problems.push(`${r.sink}: ${unsafe.map((e) => e.code).join(", ")}`);
  }
  for (const a of outcome.actions)
    if (a.failed > 0) problems.push(`${a.failed} ${a.action} items failed`);
  return problems;
}

/** Sink errors that make a delivered run unsafe (the next failure would lose rows). */
const UNSAFE_SINK_CODES: ReadonlySet<string> = new Set(["LOG_ANALYTICS_PENDING_UNWRITABLE"]);

export const EXIT = { ok: 0, findings: 1, usage: 2, incomplete: 3 } as const;

const FAIL_STATUSES: Record<"NonCompliant" | "Unverified", Status[]> = {
  NonCompliant: ["NonCompliant"],
  Unverified: ["NonCompliant", "Unverified"],
};

/**
 * The exit code of DESIGN.md section 5: problems (3) outrank findings (1): a partial result cannot
 * vouch for anything.
 */
export function exitCodeFor(
  outcome: Pick<AuditOutcome, "result" | "actions" | "sinks">,
  failOn: "NonCompliant" | "Unverified" | null,
): number {
  if (problemsOf(outcome).length > 0) return EXIT.incomplete;
  if (failOn && outcome.result.findings.some((f) => FAIL_STATUSES[failOn].includes(f.status)))
    return EXIT.findings;
  return EXIT.ok;
}
