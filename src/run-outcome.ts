import type { AuditOutcome } from "./run-audit.js";
import type { Status } from "./model.js";

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
