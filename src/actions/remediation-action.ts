import {
  remediateScanned,
  type RemediationOptions,
  type RemediationReport,
} from "../remediate/remediate.js";
import type { ActionReport, AuditAction } from "./action.js";

export interface RemediationActionReport extends ActionReport {
  report: RemediationReport;
}

/**
 * The route fix as an action (DESIGN.md section 3, rule 7): plan the missing /32 routes per route
 * table, or apply them, each write conditional on the table's etag. Only route additions are
 * applied; the other fixes stay scripts in the findings.
 */
export function remediationAction(
  options: RemediationOptions,
): AuditAction<RemediationActionReport> {
  return {
    name: "remediation",
    async run({ result, inventory, logger, signal, now }) {
      const report = await remediateScanned({ result, inventory }, options, {
        cloud: result.run.cloud,
        logger,
        signal,
        now,
      });
      // The audit trail: one line per change, with the run ID.
      for (const change of report.changes) logger.info({ change }, "remediation change");
      logger.info({ mode: report.mode, counts: report.counts }, "remediation finished");
      return {
        action: "remediation",
        failed: report.counts.failed,
        errors: report.changes
          .filter((c) => c.status === "failed")
          .map((c) => ({
            code: "REMEDIATION_FAILED",
            target: c.routeTableId,
            message: `${c.routeName} ${c.addressPrefix} on ${c.routeTableId}: ${c.error ?? "failed"}`,
          })),
        report,
      };
    },
  };
}
