import type { TokenCredential } from "@azure/identity";
import { headersFrom, retryAfterInMs } from "../../azure/retry-after.js";
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
  /**
   * Time one ingestion request may take before it is abandoned (its rows stay pending); default
   * 60 s. The client does not retry a request that timed out; the sink's rounds do.
   */
  requestTimeoutInMs?: number;
  /**
   * Finding rows per pending batch: the unit written to the pending store before it is sent and
   * removed once the service took it; default 5,000.
   */
  batchRows?: number;
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
  const headers = headersFrom((error as { response?: { headers?: unknown } })?.response?.headers);
  return retryAfterInMs(headers, Date.now()) ?? undefined;
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
  const requestTimeoutInMs = Math.max(1, options.requestTimeoutInMs ?? 60_000);
  const batchRows = Math.max(1, options.batchRows ?? 5_000);
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? defaultSleep;
  let client: LogsIngestionClient | undefined;

  function getClient(): LogsIngestionClient {
    if (!client) {
      client = new LogsIngestionClient(
        endpoint,
        options.credential ?? new DefaultAzureCredential(),
        {
          audience: options.audience,
          ...options.clientOptions,
        },
      );
      // Every request (each retry too) is abandoned after the timeout: a hanging endpoint fails
      // the rows of that request, which stay pending, instead of hanging the run for good.
      client.pipeline.addPolicy({
        name: "kmsRouteAuditRequestTimeout",
        sendRequest: (request, next) => {
          request.timeout = requestTimeoutInMs;
          return next(request);
        },
      });
    }
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
      lastError =
        (firstCause as Error | null)?.name === "AbortError" && !signal?.aborted
          ? `no answer within ${requestTimeoutInMs} ms`
          : describeUploadError(firstCause);
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

  return {
    name: LOG_ANALYTICS_SINK_NAME,
    /**
     * Write-ahead delivery: this run's finding rows (in batches of `batchRows`) and its run row
     * go to the pending store BEFORE anything is sent, and each batch is removed once the service
     * took it. A run killed at any point leaves every row it did not deliver in the store; the
     * next run resends them (RecordId lets queries drop a row delivered twice). Then: the batches
     * of earlier runs, this run's findings, and the final run row, which replaces the one
     * written ahead.
     */
    async write(result: ScanResult, { logger, signal }): Promise<SinkReport> {
      const errors: RunError[] = [];
      let delivered = 0;
      let failed = 0;
      let storeError: string | null = null;
      // A stream that failed in a way the next batches would meet too (5xx after the rounds,
      // timeouts, 401/403/404) is not tried again in this run: its rows wait in the store.
      const givenUp = new Map<string, string>();

      const put = async (batch: PendingBatch): Promise<boolean> => {
        if (storeError !== null) return false;
        try {
          await store.put(batch);
          return true;
        } catch (error) {
          // Once: a store that takes nothing is not retried batch after batch.
          storeError = describeError(error);
          errors.push({
            code: "LOG_ANALYTICS_PENDING_UNWRITABLE",
            message: `${storeError}; rows that are not delivered in this run cannot be kept for the next one`,
            target: store.location,
          });
          return false;
        }
      };
      const remove = async (id: string) => {
        try {
          await store.remove(id);
        } catch (error) {
          // The rows were delivered; the next run sends them again (duplicates by RecordId).
          logger.warn(
            { batch: id, error: describeError(error) },
            "Log Analytics: delivered batch could not be removed from the pending store",
          );
        }
      };
      /** Sends one batch of one stream, or skips it when its stream was given up in this run. */
      const send = async (
        stream: string,
        rows: Record<string, unknown>[],
      ): Promise<UploadOutcome & { skipped: boolean }> => {
        const reason = givenUp.get(stream);
        if (reason !== undefined) {
          return { delivered: 0, failed: rows, lastError: reason, retryLater: true, skipped: true };
        }
        const outcome = { ...(await upload(stream, rows, logger, signal)), skipped: false };
        if (outcome.failed.length === rows.length && outcome.retryLater) {
          givenUp.set(stream, outcome.lastError ?? "unknown error");
        }
        return outcome;
      };

      // 1. What earlier runs left (read before this run writes ahead). A store that cannot be
      //    listed (storage down) must not stop this run's rows.
      let pendingBatches: PendingBatch[] = [];
      let listed = true;
      try {
        pendingBatches = await store.list(
          (id, reason) =>
            errors.push({
              code: "LOG_ANALYTICS_PENDING_CORRUPT",
              message: `pending batch ${id} in ${store.location} cannot be read (${reason}); it was set aside`,
              target: id,
            }),
          (name, reason) =>
            errors.push({
              code: "LOG_ANALYTICS_PENDING_FOREIGN",
              message: `${name} in the pending store ${store.location} is ${reason}`,
              target: name,
            }),
        );
      } catch (error) {
        listed = false;
        errors.push({
          code: "LOG_ANALYTICS_PENDING_UNREADABLE",
          message: `pending rows in ${store.location} could not be listed: ${describeError(error)}`,
        });
      }
      const earlierRows = pendingBatches.reduce((n, b) => n + b.rows.length, 0);

      // 2. This run's rows, written ahead: finding batches, then a provisional run row that says
      //    nothing was confirmed delivered. Each ID sorts after the earlier runs' and the run row
      //    after its findings, so a later run resends them in order.
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
      const at = now();
      const key = newPendingBatchId(at);
      const fresh = (suffix: string, stream: string, batch: Record<string, unknown>[]) =>
        ({
          id: `${key}_${suffix}`,
          stream,
          rows: batch,
          firstFailedAt: at.toISOString(),
          attempts: 0,
          lastError: "",
        }) satisfies PendingBatch;
      const findingBatches: PendingBatch[] = [];
      for (let i = 0; i < sendable.length; i += batchRows) {
        const suffix = `f${String(findingBatches.length).padStart(6, "0")}`;
        findingBatches.push(fresh(suffix, findingsStream, sendable.slice(i, i + batchRows)));
      }
      const runRowOf = (delivery: Parameters<typeof toRunRow>[1]) =>
        toRunRow(result, delivery) as unknown as Record<string, unknown>;
      const provisional = fresh("r", runsStream, [
        runRowOf({
          findingRecords: rows.length,
          failedRecords: rows.length,
          resentRecords: 0,
          pendingRecords: earlierRows,
          deliveryErrors: [
            {
              code: "LOG_ANALYTICS_DELIVERY_INTERRUPTED",
              message:
                "this run row was written ahead of delivery and sent by a later run: the run stopped before its delivery finished; its finding rows were resent too",
              target: runsStream,
            },
          ],
        }),
      ]);
      for (const batch of [...findingBatches, provisional]) {
        if (!(await put(batch))) break;
      }

      // 3. Rows earlier runs could not deliver, unchanged.
      let resent = 0;
      let stillPending = 0;
      for (const batch of pendingBatches) {
        const outcome = await send(batch.stream, batch.rows);
        resent += outcome.delivered;
        delivered += outcome.delivered;
        if (outcome.failed.length === 0) {
          await remove(batch.id);
          continue;
        }
        const attempts = batch.attempts + (outcome.skipped ? 0 : 1);
        if (attempts >= maxPendingAttempts || !outcome.retryLater) {
          await remove(batch.id);
          errors.push({
            code: "LOG_ANALYTICS_PENDING_DROPPED",
            message: `dropped ${outcome.failed.length} rows (first kept at ${batch.firstFailedAt}) refused ${attempts === 1 ? "once" : `${attempts} times`}: ${outcome.lastError}`,
            target: batch.stream,
          });
          continue;
        }
        stillPending += outcome.failed.length;
        // Not tried (its stream was given up in this run): the batch stays as it is.
        if (outcome.skipped) continue;
        await put({
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

      // 4. This run's findings, batch by batch; each is removed from the store once accepted.
      let failedFindings = tooLarge;
      let findingsError: string | null = null;
      for (const batch of findingBatches) {
        const outcome = await send(findingsStream, batch.rows);
        delivered += outcome.delivered;
        if (outcome.failed.length === 0) {
          await remove(batch.id);
          continue;
        }
        failedFindings += outcome.failed.length;
        findingsError ??= outcome.lastError ?? "unknown error";
        const kept = await put({
          ...batch,
          rows: outcome.failed,
          attempts: 1,
          lastError: outcome.lastError ?? "unknown error",
        });
        if (kept || storeError === null) waiting += outcome.failed.length;
      }
      failed += failedFindings;
      const unsent = failedFindings - tooLarge;
      if (unsent > 0) {
        errors.push({
          code: "LOG_ANALYTICS_UPLOAD_FAILED",
          message: `${unsent} of ${sendable.length} finding rows not delivered (${storeError === null ? `kept in ${store.location}` : "NOT kept: the pending store is unusable"}): ${findingsError}`,
          target: findingsStream,
        });
      }

      // 5. The run row, which records how many finding rows failed and what went wrong, in
      //    place of the provisional one.
      const runRow = runRowOf({
        findingRecords: rows.length,
        failedRecords: failedFindings,
        resentRecords: resent,
        pendingRecords: stillPending,
        deliveryErrors: errors,
      });
      const final: PendingBatch = { ...provisional, rows: [runRow] };
      await put(final);
      const run = await send(runsStream, [runRow]);
      delivered += run.delivered;
      if (run.failed.length === 0) {
        await remove(final.id);
      } else {
        failed += 1;
        await put({ ...final, attempts: 1, lastError: run.lastError ?? "unknown error" });
        if (storeError === null) waiting += 1;
        errors.push({
          code: "LOG_ANALYTICS_UPLOAD_FAILED",
          message: `run row not delivered (${storeError === null ? `kept in ${store.location}` : "NOT kept: the pending store is unusable"}): ${run.lastError}`,
          target: runsStream,
        });
      }
      logger.info(
        { sink: LOG_ANALYTICS_SINK_NAME, delivered, failed, resent, stillPending },
        "Log Analytics write finished",
      );
      const report: SinkReport = { sink: LOG_ANALYTICS_SINK_NAME, delivered, failed, errors };
      if (failed > 0) {
        report.waitingRecords = listed && storeError === null ? waiting : null;
        report.cause = findingsError ?? run.lastError ?? errors[0]?.message ?? "unknown error";
      }
      return report;
    },
  };
}
