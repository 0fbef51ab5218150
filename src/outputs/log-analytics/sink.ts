import type { TokenCredential } from "@azure/identity";
import { DefaultAzureCredential } from "@azure/identity";
import { LogsIngestionClient, type LogsIngestionClientOptions } from "@azure/monitor-ingestion";
import { describeError, SettingsError } from "../../errors.js";
import type { Logger } from "../../logging/logger.js";
import type { CloudName, RunError, ScanResult } from "../../model.js";
import { logAnalyticsConfigured, type Settings } from "../../settings.js";
import type { ResultSink, SinkReport } from "../sink.js";
import { newPendingBatchId, type PendingBatch, type PendingStore } from "./pending-store.js";
import { toFindingRows, toRunRow } from "./rows.js";
import { FINDINGS_TABLE, RUNS_TABLE } from "./schema.js";

export const LOG_ANALYTICS_SINK_NAME = "log-analytics";

/** Largest JSON row the client can send: it puts each row in a request of at most 1 MB. */
export const MAX_RECORD_BYTES = 1_000_000 - 2;

/** Token audience of the Logs Ingestion API in each cloud. */
export const MONITOR_AUDIENCE: Record<CloudName, string> = {
  AzureCloud: "https://monitor.azure.com",
  AzureUSGovernment: "https://monitor.azure.us",
  AzureChinaCloud: "https://monitor.azure.cn",
};

export interface LogAnalyticsSinkOptions {
  /** Logs ingestion endpoint of the DCR (kind Direct) or of a DCE. */
  endpoint: string | URL;
  /** Immutable ID of the DCR (dcr-...). */
  dcrId: string;
  /** Default Custom-KmsRouteAudit_CL. */
  findingsStream?: string;
  /** Default Custom-KmsRouteAuditRun_CL. */
  runsStream?: string;
  /** Default: DefaultAzureCredential (managed identity in Azure). */
  credential?: TokenCredential;
  /** Token audience; default that of the public cloud (see MONITOR_AUDIENCE). */
  audience?: string;
  /** Where rows that could not be delivered wait for the next run. */
  pendingStore: PendingStore;
  /** Concurrent requests per upload; default 4. */
  maxConcurrency?: number;
  /**
   * Upload rounds per set of rows; each round resends only the chunks that failed in the one
   * before. The client itself already retries each request (429/503 after Retry-After, 408 and
   * 5xx with exponential back-off, 3 times by default). Default 3.
   */
  uploadRounds?: number;
  /** Pause before the second round, doubled for each further one; default 5000. */
  roundDelayInMs?: number;
  /** A pending batch that failed this many times is dropped (and reported); default 50. */
  maxPendingAttempts?: number;
  /** Passed to LogsIngestionClient (retryOptions, proxyOptions, tlsOptions, ...). */
  clientOptions?: LogsIngestionClientOptions;
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

interface UploadOutcome {
  delivered: number;
  /** Rows still undelivered, in their original order. */
  failed: Record<string, unknown>[];
  lastError: string | null;
  /** True when a later run may succeed (throttling, 5xx, network, auth propagation). */
  retryLater: boolean;
}

const NEVER_RETRY_IN_RUN = new Set([400, 401, 403, 404, 413]);

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

function retryAfterMs(error: unknown): number | undefined {
  const headers = (error as { response?: { headers?: { get(name: string): string | undefined } } })
    ?.response?.headers;
  const raw = headers?.get("retry-after");
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

function describeUploadError(error: unknown): string {
  const status = statusOf(error);
  const text = describeError(error).split("\n")[0] ?? "";
  return status === undefined ? text : `HTTP ${status}: ${text}`;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Builds the sink options from validated settings. Throws SettingsError when Log Analytics is
 * not configured (KMS_AUDIT_LOGS_ENDPOINT and KMS_AUDIT_DCR_ID).
 */
export function logAnalyticsSinkOptionsFromSettings(
  settings: Settings,
  extra: Omit<LogAnalyticsSinkOptions, "endpoint" | "dcrId" | "findingsStream" | "runsStream">,
): LogAnalyticsSinkOptions {
  if (!logAnalyticsConfigured(settings)) {
    throw new SettingsError(
      "KMS_AUDIT_LOGS_ENDPOINT",
      "Log Analytics output needs KMS_AUDIT_LOGS_ENDPOINT and KMS_AUDIT_DCR_ID",
    );
  }
  return {
    audience: MONITOR_AUDIENCE[settings.cloud],
    ...extra,
    endpoint: settings.logsEndpoint,
    dcrId: settings.dcrId,
    findingsStream: settings.findingsStream,
    runsStream: settings.runsStream,
  };
}

/**
 * A ResultSink that writes one row per finding to KmsRouteAudit_CL and one row per run to
 * KmsRouteAuditRun_CL through the Logs Ingestion API. Rows that cannot be delivered are kept in
 * the pending store and sent first by the next run, with their original TimeGenerated and RunId.
 */
export function createLogAnalyticsSink(options: LogAnalyticsSinkOptions): ResultSink {
  const endpoint = String(options.endpoint);
  if (!/^https:\/\//i.test(endpoint)) {
    throw new TypeError(`Log Analytics endpoint must be an https:// URL, got "${endpoint}"`);
  }
  if (!options.dcrId) throw new TypeError("Log Analytics sink needs the DCR immutable ID (dcrId)");
  const findingsStream = options.findingsStream ?? FINDINGS_TABLE.stream;
  const runsStream = options.runsStream ?? RUNS_TABLE.stream;
  const store = options.pendingStore;
  const rounds = Math.max(1, options.uploadRounds ?? 3);
  const roundDelay = options.roundDelayInMs ?? 5000;
  const maxConcurrency = Math.max(1, options.maxConcurrency ?? 4);
  const maxPendingAttempts = Math.max(1, options.maxPendingAttempts ?? 50);
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? defaultSleep;
  let client: LogsIngestionClient | undefined;

  function getClient(): LogsIngestionClient {
    client ??= new LogsIngestionClient(
      endpoint,
      options.credential ?? new DefaultAzureCredential(),
      {
        audience: options.audience,
        ...options.clientOptions,
      },
    );
    return client;
  }

  async function upload(
    stream: string,
    rows: Record<string, unknown>[],
    logger: Logger,
    signal?: AbortSignal,
  ): Promise<UploadOutcome> {
    let remaining = rows;
    let lastError: string | null = null;
    let retryLater = true;
    for (let round = 0; round < rounds && remaining.length > 0; round++) {
      if (signal?.aborted) break;
      const failed = new Set<object>();
      let firstCause: unknown;
      try {
        await getClient().upload(options.dcrId, stream, remaining, {
          maxConcurrency,
          abortSignal: signal,
          // Each chunk is one request: the service takes all its rows or none. The client hands
          // back the very row objects of a failed chunk, so failed rows are known by identity.
          onError: (failure) => {
            firstCause ??= failure.cause;
            for (const row of failure.failedLogs) failed.add(row);
          },
        });
      } catch (error) {
        if ((error as Error | null)?.name !== "AggregateLogsUploadError") {
          // Not a per-chunk failure (e.g. aborted before start): treat every row as failed.
          firstCause ??= error;
          for (const row of remaining) failed.add(row);
        }
      }
      const before = remaining.length;
      remaining = remaining.filter((row) => failed.has(row));
      if (remaining.length === 0)
        return { delivered: rows.length, failed: [], lastError, retryLater };
      const status = statusOf(firstCause);
      lastError = describeUploadError(firstCause);
      logger.warn(
        { stream, round: round + 1, failed: remaining.length, of: before, status },
        "Log Analytics upload: some rows failed",
      );
      if (status !== undefined && NEVER_RETRY_IN_RUN.has(status)) {
        retryLater = status === 401 || status === 403 || status === 404;
        break;
      }
      if (round + 1 < rounds) {
        const wait = Math.max(roundDelay * 2 ** round, retryAfterMs(firstCause) ?? 0);
        await sleep(wait, signal);
      }
    }
    return { delivered: rows.length - remaining.length, failed: remaining, lastError, retryLater };
  }

  async function keep(stream: string, rows: Record<string, unknown>[], lastError: string) {
    const at = now();
    const batch: PendingBatch = {
      id: newPendingBatchId(at),
      stream,
      rows,
      firstFailedAt: at.toISOString(),
      attempts: 1,
      lastError,
    };
    await store.put(batch);
  }

  return {
    name: LOG_ANALYTICS_SINK_NAME,
    async write(result: ScanResult, { logger, signal }): Promise<SinkReport> {
      const errors: RunError[] = [];
      let delivered = 0;
      let failed = 0;

      // 1. Rows earlier runs could not deliver, unchanged.
      let resent = 0;
      let stillPending = 0;
      // A store that cannot be listed (storage down) must not stop this run's rows.
      let pendingBatches: Awaited<ReturnType<PendingStore["list"]>> = [];
      let listed = true;
      try {
        pendingBatches = await store.list((id, reason) =>
          errors.push({
            code: "LOG_ANALYTICS_PENDING_CORRUPT",
            message: `pending batch ${id} in ${store.location} cannot be read (${reason}); it was set aside`,
            target: id,
          }),
        );
      } catch (error) {
        listed = false;
        errors.push({
          code: "LOG_ANALYTICS_PENDING_UNREADABLE",
          message: `pending rows in ${store.location} could not be listed: ${describeError(error)}`,
        });
      }
      for (const batch of pendingBatches) {
        const outcome = await upload(batch.stream, batch.rows, logger, signal);
        resent += outcome.delivered;
        delivered += outcome.delivered;
        if (outcome.failed.length === 0) {
          await store.remove(batch.id);
          continue;
        }
        const attempts = batch.attempts + 1;
        if (attempts >= maxPendingAttempts || !outcome.retryLater) {
          await store.remove(batch.id);
          errors.push({
            code: "LOG_ANALYTICS_PENDING_DROPPED",
            message: `dropped ${outcome.failed.length} rows first failed at ${batch.firstFailedAt} after ${attempts} attempts: ${outcome.lastError}`,
            target: batch.stream,
          });
          continue;
        }
        stillPending += outcome.failed.length;
        await store.put({
          ...batch,
          rows: outcome.failed,
          attempts,
          lastError: outcome.lastError ?? batch.lastError,
        });
      }
      if (stillPending > 0) {
        errors.push({
          code: "LOG_ANALYTICS_PENDING",
          message: `${stillPending} rows of earlier runs are still pending in ${store.location}`,
        });
      }

      // Rows in the store after this write: the earlier ones kept above, then this run's.
      let waiting = stillPending;

      // 2. This run's findings.
      const rows = toFindingRows(result) as unknown as Record<string, unknown>[];
      const sendable: Record<string, unknown>[] = [];
      let tooLarge = 0;
      for (const row of rows) {
        if (Buffer.byteLength(JSON.stringify(row), "utf8") > MAX_RECORD_BYTES) tooLarge++;
        else sendable.push(row);
      }
      if (tooLarge > 0) {
        errors.push({
          code: "LOG_ANALYTICS_RECORD_TOO_LARGE",
          message: `${tooLarge} finding rows exceed ${MAX_RECORD_BYTES} bytes and were not sent`,
          target: findingsStream,
        });
      }
      const findings = await upload(findingsStream, sendable, logger, signal);
      delivered += findings.delivered;
      const failedFindings = findings.failed.length + tooLarge;
      failed += failedFindings;
      if (findings.failed.length > 0) {
        await keep(findingsStream, findings.failed, findings.lastError ?? "unknown error");
        waiting += findings.failed.length;
        errors.push({
          code: "LOG_ANALYTICS_UPLOAD_FAILED",
          message: `${findings.failed.length} of ${sendable.length} finding rows not delivered (kept in ${store.location}): ${findings.lastError}`,
          target: findingsStream,
        });
      }

      // 3. The run row, which records how many finding rows failed.
      const runRow = toRunRow(result, {
        findingRecords: rows.length,
        failedRecords: failedFindings,
        resentRecords: resent,
        pendingRecords: stillPending,
      }) as unknown as Record<string, unknown>;
      const run = await upload(runsStream, [runRow], logger, signal);
      delivered += run.delivered;
      if (run.failed.length > 0) {
        failed += 1;
        await keep(runsStream, run.failed, run.lastError ?? "unknown error");
        waiting += run.failed.length;
        errors.push({
          code: "LOG_ANALYTICS_UPLOAD_FAILED",
          message: `run row not delivered (kept in ${store.location}): ${run.lastError}`,
          target: runsStream,
        });
      }
      logger.info(
        { sink: LOG_ANALYTICS_SINK_NAME, delivered, failed, resent, stillPending },
        "Log Analytics write finished",
      );
      const report: SinkReport = { sink: LOG_ANALYTICS_SINK_NAME, delivered, failed, errors };
      if (failed > 0) report.waitingRecords = listed ? waiting : null;
      return report;
    },
  };
}
