import { randomUUID } from "node:crypto";
import type { InvocationContext, Timer } from "@azure/functions";
import { describeError } from "../errors.js";
import { createInvocationLogger } from "../logging/invocation-log.js";
import { logAnalyticsConfigured, readSettings } from "../settings.js";
import { problemsOf } from "../run-outcome.js";
import { runLiveAudit, type FunctionDependencies } from "./audit-run.js";
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
  dependencies: FunctionDependencies & {
    service?: ScanService;
    /** Longest wait for the scan lock before the invocation fails. Default 20 minutes. */
    maxLockWaitInMs?: number;
  } = {},
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
    const service =
      dependencies.service ??
      instanceScanService(settings, {
        ...(dependencies.overrides?.credential
          ? { credential: dependencies.overrides.credential }
          : {}),
      });
    // The same lock as the HTTP scans: wait for a running scan, on any instance, to end.
    const waitStarted = Date.now();
    let handle;
    try {
      handle = await service.lock.acquire(runId, {
        signal: AbortSignal.timeout(dependencies.maxLockWaitInMs ?? 20 * 60_000),
        onWait: () =>
          logger.info(
            { lock: service.lock.location },
            "another scan is running; waiting for the scan lock",
          ),
      });
    } catch (error) {
      logger.error({ error: describeError(error) }, "timer scan not started: no scan lock");
      throw new Error(
        `kms-route-audit run ${runId} not started: the scan lock (${service.lock.location}) stayed taken: ${describeError(error)}`,
        { cause: error },
      );
    }
    const waitedInMs = Date.now() - waitStarted;
    logger.info({ waitedInMs, lock: service.lock.location }, "scan lock acquired");
    const write = logAnalyticsConfigured(settings);
    if (!write) logger.warn("Log Analytics is not configured: results are only logged");
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
        attest: true,
        signal: handle.signal,
      });
    } catch (error) {
      const why = handle.signal.aborted
        ? describeError(handle.signal.reason)
        : describeError(error);
      logger.error({ error: why }, "timer scan failed");
      throw handle.signal.aborted
        ? new Error(`kms-route-audit run ${runId}: ${why}`, { cause: error })
        : error;
    } finally {
      await handle.release();
    }
    const problems = problemsOf(outcome);
    if (problems.length > 0) {
      const { run } = outcome.result;
      logger.error(
        { complete: run.complete, runErrors: run.errors, problems },
        "timer scan finished with problems",
      );
      throw new Error(`kms-route-audit run ${runId} ${problems.join("; ")}`);
    }
  };
}
