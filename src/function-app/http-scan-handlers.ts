import { randomUUID } from "node:crypto";
import type { HttpHandler, HttpRequest, InvocationContext } from "@azure/functions";
import { describeError } from "../errors.js";
import { createInvocationLogger, detachableInvocationLog } from "../logging/invocation-log.js";
import { isGuid } from "../azure/ids.js";
import { logAnalyticsConfigured, readSettings, type Settings } from "../settings.js";
import { problemsOf } from "../run-outcome.js";
import { runLiveAudit, type FunctionDependencies } from "./audit-run.js";
import { invalidParameters, problemResponse, PROBLEM_TYPES, scanFailed } from "./problem.js";
import { parsePollQuery } from "./scan-request.js";
import { instanceScanService, type RunRecord, type ScanService } from "./scan-service.js";
import { outsideConfiguredScope, parseRequest, queryOf } from "./http-request.js";
import { RUNS_ROUTE_PREFIX, answer, settingsProblem } from "./http-answer.js";

export interface HttpScanDependencies extends FunctionDependencies {
  service?: ScanService;
  /**
   * How long a scoped request waits for its scan before answering 202 instead (the HTTP front
   * end gives up after 230 s). Default 200 s.
   */
  syncBudgetInMs?: number;
  /**
   * A run still going after this long is abandoned and recorded as failed, so a stuck scan never
   * holds the one-scan lock for good. Default 30 minutes.
   */
  maxRunInMs?: number;
  /** Retry-After of a 429 (a scan is running). Default 60. */
  busyRetryAfterSeconds?: number;
  /** Retry-After of a 202 (the run is still going). Default 10. */
  pollRetryAfterSeconds?: number;
}

/** The handlers of GET/POST /api/scan and GET /api/scan/runs/{runId}. */
export function createHttpScanHandlers(dependencies: HttpScanDependencies = {}): {
  scan: HttpHandler;
  scanRun: HttpHandler;
} {
  const syncBudgetInMs = dependencies.syncBudgetInMs ?? 200_000;
  const busyRetryAfter = dependencies.busyRetryAfterSeconds ?? 60;
  const pollRetryAfter = dependencies.pollRetryAfterSeconds ?? 10;
  const serviceFor = (settings: Settings) =>
    dependencies.service ??
    instanceScanService(settings, {
      ...(dependencies.overrides?.credential
        ? { credential: dependencies.overrides.credential }
        : {}),
    });

  async function scan(request: HttpRequest, context: InvocationContext) {
    const parsed = await parseRequest(request);
    if (!("ok" in parsed)) return problemResponse(parsed);
    if (!parsed.ok) return problemResponse(invalidParameters(parsed.invalidParams));
    const scanRequest = parsed.value;

    const env = dependencies.env ?? process.env;
    let settings: Settings;
    try {
      settings = readSettings(env);
    } catch (error) {
      context.error(`kms-route-audit: ${describeError(error)}`);
      return problemResponse(settingsProblem(error));
    }
    if (scanRequest.write && !logAnalyticsConfigured(settings)) {
      return problemResponse(
        invalidParameters([
          {
            name: "write",
            reason:
              "Log Analytics is not configured on this app (KMS_AUDIT_LOGS_ENDPOINT, KMS_AUDIT_DCR_ID)",
          },
        ]),
      );
    }

    const outside = outsideConfiguredScope(scanRequest, settings);
    if (outside.length > 0) return problemResponse(invalidParameters(outside));

    const runId = randomUUID();
    const { lock, runs } = serviceFor(settings);
    let handle;
    try {
      handle = await lock.tryAcquire(runId);
    } catch (error) {
      context.error(`kms-route-audit: scan lock ${lock.location}: ${describeError(error)}`);
      return problemResponse(
        scanFailed(`the scan lock could not be read: ${describeError(error)}`),
      );
    }
    if (!handle) {
      return problemResponse(
        {
          type: PROBLEM_TYPES.busy,
          title: "A scan is already running",
          status: 429,
          detail: `this app runs one audit at a time; retry in ${busyRetryAfter} s`,
        },
        { "retry-after": String(busyRetryAfter) },
      );
    }
    const lockHandle = handle;

    const tenantWide =
      scanRequest.subscriptions.length === 0 && scanRequest.managementGroups.length === 0;
    const output = detachableInvocationLog(context);
    const baseLogger = createInvocationLogger(output.log, {
      level: settings.logLevel,
      base: { invocationId: context.invocationId, trigger: "http" },
    });
    const logger = baseLogger.child({ runId });
    logger.info(
      {
        method: request.method,
        subscriptions: scanRequest.subscriptions.length,
        managementGroups: scanRequest.managementGroups,
        tenantWide,
        format: scanRequest.format,
        statuses: scanRequest.statuses,
        write: scanRequest.write,
        lock: lock.location,
        runs: runs.location,
      },
      "http scan requested",
    );
    let record: RunRecord;
    try {
      record = await runs.start(runId, scanRequest);
    } catch (error) {
      await lockHandle.release();
      logger.error({ error: describeError(error) }, "run record could not be written");
      return problemResponse(
        scanFailed(`the run record could not be written: ${describeError(error)}`),
      );
    }
    const done = (async () => {
      try {
        const outcome = await runLiveAudit({
          settings,
          env,
          scope: scanRequest,
          write: scanRequest.write,
          runId,
          logger: baseLogger,
          overrides: dependencies.overrides,
          signal: AbortSignal.any([
            AbortSignal.timeout(dependencies.maxRunInMs ?? 30 * 60_000),
            lockHandle.signal,
          ]),
        });
        const { result, sinks: reports } = outcome;
        record = { ...record, state: "done", result, reports, finishedAt: new Date() };
        await runs.finish(runId, result, reports);
        const problems = problemsOf(outcome);
        if (problems.length > 0) {
          logger.error(
            { complete: result.run.complete, runErrors: result.run.errors, problems },
            "http scan finished with problems",
          );
        }
      } catch (error) {
        const why = lockHandle.signal.aborted
          ? describeError(lockHandle.signal.reason)
          : describeError(error);
        logger.error({ error: why }, "http scan failed");
        record = { ...record, state: "failed", problem: scanFailed(why), finishedAt: new Date() };
        await runs
          .fail(runId, scanFailed(why))
          .catch((e: unknown) =>
            logger.error({ error: describeError(e) }, "run record could not be written"),
          );
      } finally {
        await lockHandle.release();
      }
    })();

    if (!tenantWide) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        done,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, syncBudgetInMs))),
      ]);
      clearTimeout(timer);
    }
    if (record.state === "running") {
      logger.info(
        { location: `${RUNS_ROUTE_PREFIX}${runId}` },
        tenantWide
          ? "tenant-wide scan continues in the background"
          : "scan outlasted the synchronous budget; continues in the background",
      );
      output.detach();
    }
    return answer(record, scanRequest.format, scanRequest.statuses, pollRetryAfter);
  }

  async function scanRun(request: HttpRequest, context: InvocationContext) {
    const runId = request.params.runId ?? "";
    if (!isGuid(runId)) {
      return problemResponse(
        invalidParameters([{ name: "runId", reason: "is not a run ID (a UUID)" }]),
      );
    }
    const parsed = parsePollQuery(queryOf(request));
    if (!parsed.ok) return problemResponse(invalidParameters(parsed.invalidParams));
    let settings: Settings;
    try {
      settings = readSettings(dependencies.env ?? process.env);
    } catch (error) {
      context.error(`kms-route-audit: ${describeError(error)}`);
      return problemResponse(settingsProblem(error));
    }
    const { lock, runs } = serviceFor(settings);
    const id = runId.toLowerCase();
    let record: RunRecord | undefined;
    try {
      record = await runs.get(id);
      // A run still "running" whose scan no longer holds the lock: it just finished (read it
      // again), or its instance stopped before it could record the end.
      if (record?.state === "running" && !(await lock.holds(id))) {
        record = await runs.get(id);
        if (record?.state === "running") {
          record = {
            ...record,
            state: "failed",
            problem: scanFailed(
              "the run was abandoned: the instance running it stopped before it finished (its scan lock expired); start a new scan",
            ),
          };
        }
      }
    } catch (error) {
      context.error(`kms-route-audit: run store ${runs.location}: ${describeError(error)}`);
      return problemResponse(scanFailed(`the run could not be read: ${describeError(error)}`));
    }
    if (!record) {
      return problemResponse({
        type: PROBLEM_TYPES.runNotFound,
        title: "Run not found",
        status: 404,
        detail: `no run ${runId}: unknown or expired`,
      });
    }
    return answer(
      record,
      parsed.value.format ?? record.format,
      parsed.value.statuses ?? record.statuses,
      pollRetryAfter,
    );
  }

  return { scan, scanRun };
}
