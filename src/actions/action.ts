import type { Inventory } from "../inventory/types.js";
import type { Logger } from "../logging/logger.js";
import type { RunError, ScanResult } from "../model.js";

/**
 * What the orchestrator does with a judged estate besides the outputs: remediation (plan or
 * apply), Azure Policy attestations. Actions run after the audit, in the plan's order, each on the
 * same result; none changes a verdict.
 */
export interface AuditAction<R extends ActionReport = ActionReport> {
  readonly name: string;
  run(context: ActionContext): Promise<R>;
}

export interface ActionContext {
  result: ScanResult;
  inventory: Inventory;
  logger: Logger;
  signal?: AbortSignal;
  now: () => Date;
}

/** What an action did, for the run's report and its exit code. */
export interface ActionReport {
  action: string;
  /** Items that failed (changes not applied, attestations not written): the run has problems. */
  failed: number;
  errors: RunError[];
}
