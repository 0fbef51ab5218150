import { randomUUID } from "node:crypto";
import type { InvocationContext, Timer } from "@azure/functions";
import { describeError } from "../errors.js";
import { createInvocationLogger } from "../logging/invocation-log.js";
import { logAnalyticsConfigured, readSettings } from "../settings.js";
import { failedRecords, runLiveAudit, type FunctionDependencies } from "./audit-run.js";
import { scanFailed } from "./problem.js";
import { instanceScanService, type ScanService } from "./scan-service.js";

/**
 * The scheduled audit: the settings' scope, every sink the settings configure (Log Analytics
 * when KMS_AUDIT_LOGS_ENDPOINT and KMS_AUDIT_DCR_ID are set).
 *
 * Failure policy: timer triggers never retry, so a run that is incomplete, or whose records a
 * sink could not deliver, is logged at error level and then the invocation throws, AFTER the
 * results were written. The invocation shows as failed in Application Insights (and the
 * Function App's failure alerts), while the rows of the subnets that were read, and the run row
 * with Complete=false / FailedRecords, are already in Log Analytics.
 */
export function createTimerScanHandler(
  dependencies: FunctionDependencies & { service?: ScanService } = {},
): (timer: Timer, context: InvocationContext) => Promise<void> {
  return async function timerScan(timer, context) {
    const env = dependencies.env ?? process.env;
    let settings;
    try {
      settings = readSettings(env);
    } catch (error) {
      context.error(`kms-route-audit timer scan not started: ${describeError(error)}`);
      throw error;
    }
    const runId = randomUUID();
    const baseLogger = createInvocationLogger(context, {
      level: settings.logLevel,
      base: { invocationId: context.invocationId, trigger: "timer" },
    });
    const logger = baseLogger.child({ runId });
    logger.info(
      { isPastDue: timer.isPastDue, scheduleStatus: timer.scheduleStatus },
      "timer scan triggered",
    );
    if (timer.isPastDue) {
      logger.warn({ isPastDue: true }, "timer is past due: this run is late (missed schedule)");
    }
    const service = dependencies.service ?? instanceScanService();
    const waitStarted = Date.now();
    if (service.gate.busy) logger.info("another scan is running on this instance; waiting for it");
    const release = await service.gate.acquire();
    const waitedInMs = Date.now() - waitStarted;
    if (waitedInMs > 0) logger.info({ waitedInMs }, "scan gate acquired");
    const write = logAnalyticsConfigured(settings);
    if (!write) logger.warn("Log Analytics is not configured: results are only logged");
    service.runs.start(runId, { format: "json", statuses: null });
    let outcome;
    try {
      outcome = await runLiveAudit({
        settings,
        env,
        write,
        runId,
        logger: baseLogger,
        overrides: dependencies.overrides,
        remediate: true,
      });
      service.runs.finish(runId, outcome.result, outcome.reports);
    } catch (error) {
      logger.error({ error: describeError(error) }, "timer scan failed");
      service.runs.fail(runId, scanFailed(describeError(error)));
      throw error;
    } finally {
      release();
    }
    const { result, reports } = outcome;
    const failed = failedRecords(reports);
    const problems: string[] = [];
    if (!result.run.complete) {
      problems.push(
        `incomplete: ${result.run.errors.map((e) => `${e.code} ${e.target ?? ""}`.trim()).join(", ")}`,
      );
    }
    if (failed > 0) problems.push(`${failed} records not delivered to Log Analytics`);
    const failedChanges = outcome.remediation?.counts.failed ?? 0;
    if (failedChanges > 0) problems.push(`${failedChanges} route changes failed`);
    if (problems.length > 0) {
      logger.error(
        { complete: result.run.complete, runErrors: result.run.errors, failedRecords: failed },
        "timer scan finished with problems",
      );
      throw new Error(`kms-route-audit run ${runId} ${problems.join("; ")}`);
    }
  };
}
