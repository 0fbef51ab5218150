import { randomUUID } from "node:crypto";
import type {
  HttpHandler,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
} from "@azure/functions";
import { describeError } from "../errors.js";
import { createInvocationLogger, detachableInvocationLog } from "../logging/invocation-log.js";
import type { Status } from "../model.js";
import { formatResult } from "../outputs/format.js";
import { isGuid } from "../azure/ids.js";
import { logAnalyticsConfigured, readSettings, type Settings } from "../settings.js";
import { problemsOf } from "../run-outcome.js";
import { runLiveAudit, type FunctionDependencies } from "./audit-run.js";
import {
  invalidParameters,
  problemResponse,
  PROBLEM_TYPES,
  scanFailed,
  type InvalidParam,
  type Problem,
} from "./problem.js";
import {
  CONTENT_TYPES,
  MAX_BODY_BYTES,
  parsePollQuery,
  parseScanBody,
  parseScanQuery,
  type HttpFormat,
  type Parsed,
  type ScanRequest,
} from "./scan-request.js";
import { instanceScanService, type RunRecord, type ScanService } from "./scan-service.js";

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

export const RUNS_ROUTE_PREFIX = "/api/scan/runs/";

/** The query string as sent: repeated names survive (request.query may join them with commas). */
function queryOf(request: HttpRequest): URLSearchParams {
  return new URL(request.url).searchParams;
}

function isJsonMediaType(value: string | null): boolean {
  if (value === null) return true;
  const type = value.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Reads at most `max` bytes of the body; null when it is longer. */
async function readBody(request: HttpRequest, max: number): Promise<string | null> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > max) return null;
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function parseRequest(request: HttpRequest): Promise<Parsed<ScanRequest> | Problem> {
  if (request.method.toUpperCase() !== "POST") return parseScanQuery(queryOf(request));
  const stray: InvalidParam[] = [];
  for (const name of new Set(queryOf(request).keys())) {
    if (name !== "code")
      stray.push({ name, reason: "POST takes its parameters in the JSON body, not the query" });
  }
  if (stray.length > 0) return { ok: false, invalidParams: stray };
  const contentType = request.headers.get("content-type");
  if (!isJsonMediaType(contentType)) {
    return {
      type: PROBLEM_TYPES.unsupportedMediaType,
      title: "Unsupported media type",
      status: 415,
      detail: `the body must be application/json, not ${contentType}`,
    };
  }
  const text = await readBody(request, MAX_BODY_BYTES);
  if (text === null) {
    return {
      ok: false,
      invalidParams: [{ name: "body", reason: `larger than ${MAX_BODY_BYTES} bytes` }],
    };
  }
  return parseScanBody(text);
}

function settingsProblem(error: unknown): Problem {
  const setting = (error as { setting?: unknown }).setting;
  return {
    type: PROBLEM_TYPES.settings,
    title: "The Function App is misconfigured",
    status: 500,
    detail: describeError(error),
    ...(typeof setting === "string" ? { setting } : {}),
  };
}

function filtered(record: RunRecord, statuses: Status[] | null) {
  const result = record.result;
  if (!result || statuses === null) return result;
  return { ...result, findings: result.findings.filter((f) => statuses.includes(f.status)) };
}

/** 200 with the result, 202 while running, 500 problem when the run failed. */
function answer(
  record: RunRecord,
  format: HttpFormat,
  statuses: Status[] | null,
  pollRetryAfterSeconds: number,
): HttpResponseInit {
  const headers: Record<string, string> = { "x-run-id": record.id };
  if (record.state === "running") {
    const location = `${RUNS_ROUTE_PREFIX}${record.id}`;
    return {
      status: 202,
      headers: {
        ...headers,
        "content-type": "application/json",
        location,
        "retry-after": String(pollRetryAfterSeconds),
      },
      body: JSON.stringify({
        runId: record.id,
        state: "running",
        startedAt: record.startedAt.toISOString(),
        location,
      }),
    };
  }
  if (record.state === "failed" || !record.result) {
    return problemResponse(record.problem ?? scanFailed("unknown error"), headers);
  }
  const result = filtered(record, statuses) ?? record.result;
  headers["x-run-complete"] = String(record.result.run.complete);
  for (const report of record.reports) {
    headers[`x-${report.sink}-delivered`] = String(report.delivered);
    headers[`x-${report.sink}-failed`] = String(report.failed);
  }
  return {
    status: 200,
    headers: { ...headers, "content-type": CONTENT_TYPES[format] },
    body: formatResult(result, format, { color: false }),
  };
}

/** The handlers of GET/POST /api/scan and GET /api/scan/runs/{runId}. */
/**
 * When the app settings name a scope (KMS_AUDIT_SUBSCRIPTIONS, KMS_AUDIT_MANAGEMENT_GROUPS), a
 * request may narrow it but not leave it: a function key must not widen what the operators chose
 * to audit. Management-group membership of a subscription is not looked up, so with only
 * management groups configured a request names management groups. IDs compare case-insensitively.
 */
function outsideConfiguredScope(
  request: { subscriptions: readonly string[]; managementGroups: readonly string[] },
  settings: Settings,
): InvalidParam[] {
  const configuredSubs = new Set(settings.subscriptions.map((s) => s.toLowerCase()));
  const configuredMgs = new Set(settings.managementGroups.map((m) => m.toLowerCase()));
  if (configuredSubs.size === 0 && configuredMgs.size === 0) return [];
  const outside: InvalidParam[] = [];
  for (const sub of request.subscriptions) {
    if (!configuredSubs.has(sub.toLowerCase())) {
      outside.push({
        name: "subscriptionId",
        reason: `${sub} is outside the scope this app audits`,
      });
    }
  }
  for (const mg of request.managementGroups) {
    if (!configuredMgs.has(mg.toLowerCase())) {
      outside.push({
        name: "managementGroup",
        reason: `${mg} is outside the scope this app audits`,
      });
    }
  }
  return outside;
}

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
