import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, test } from "node:test";
import { pino } from "pino";
import {
  createFilePendingStore,
  createLogAnalyticsSink,
  createMemoryPendingStore,
  type LogAnalyticsSinkOptions,
  type PendingStore,
} from "../src/outputs/log-analytics/index.js";
import { FINDINGS_TABLE, RUNS_TABLE } from "../src/outputs/log-analytics/schema.js";
import {
  startLogsIngestionEmulator,
  type LogsIngestionEmulator,
} from "../kit/emulators/logs-ingestion.js";
import { aScanResult } from "./log-analytics/scan-result.js";
import { startIdentityEndpoint, type IdentityEndpoint } from "../kit/support/identity-endpoint.js";

const DCR = "dcr-0123456789abcdef0123456789abcdef";
const FINDINGS = FINDINGS_TABLE.stream;
const RUNS = RUNS_TABLE.stream;
const MiB = 1024 * 1024;
const logger = pino({ level: "silent" });

let identity: IdentityEndpoint;
let emulator: LogsIngestionEmulator;
let directory: string;

before(async () => {
  identity = await startIdentityEndpoint();
  // The real DefaultAzureCredential finds the App Service managed identity through these.
  Object.assign(process.env, identity.env());
  directory = await mkdtemp(join(tmpdir(), "kms-la-"));
});

after(async () => {
  await identity.close();
  await rm(directory, { recursive: true, force: true });
});

async function startEmulator() {
  emulator = await startLogsIngestionEmulator({
    dcrId: DCR,
    isValidToken: (token) => identity.isValidToken(token),
  });
  return emulator;
}

afterEach(async () => {
  await emulator?.close();
});

function sink(store: PendingStore, extra: Partial<LogAnalyticsSinkOptions> = {}) {
  return createLogAnalyticsSink({
    endpoint: emulator.url,
    dcrId: DCR,
    pendingStore: store,
    roundDelayInMs: 5,
    ...extra,
    clientOptions: {
      tlsOptions: { ca: emulator.certificate.cert },
      retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 },
      ...extra.clientOptions,
    },
  });
}

function countBy(rows: Record<string, unknown>[], key: string) {
  const counts = new Map<unknown, number>();
  for (const row of rows) counts.set(row[key], (counts.get(row[key]) ?? 0) + 1);
  return counts;
}

function assertExactlyOnce(rows: Record<string, unknown>[], expected: number) {
  const counts = countBy(rows, "RecordId");
  assert.equal(counts.size, expected, "distinct records");
  assert.equal(rows.length, expected, "no record twice");
}

void test("thousands of findings arrive exactly once, in requests of at most 1 MB", async () => {
  await startEmulator();
  const result = aScanResult(6000);
  const report = await sink(createMemoryPendingStore()).write(result, { logger });

  assert.deepEqual(report, { sink: "log-analytics", delivered: 6001, failed: 0, errors: [] });
  assertExactlyOnce(emulator.rowsOf(FINDINGS), 6000);
  const findingRequests = emulator.requests.filter((r) => r.stream === FINDINGS);
  assert.ok(findingRequests.length > 1, "the client split the rows into several requests");
  for (const request of emulator.requests) {
    assert.equal(request.contentEncoding, "gzip");
    assert.ok(request.compressedBytes <= MiB, `gzip body ${request.compressedBytes} <= 1 MB`);
    assert.ok(request.uncompressedBytes <= MiB, `body ${request.uncompressedBytes} <= 1 MB`);
  }
  const [run] = emulator.rowsOf(RUNS);
  assert.equal(emulator.rowsOf(RUNS).length, 1);
  assert.equal(run?.FindingRecords, 6000);
  assert.equal(run?.FailedRecords, 0);
  assert.equal(run?.Complete, true);
  // The token came from the managed-identity endpoint, for the Monitor audience.
  assert.ok(identity.requests.some((r) => r.resource?.startsWith("https://monitor.azure.com")));
});

void test("429 with Retry-After, then 500, then success: every record exactly once", async () => {
  await startEmulator();
  emulator.inject(
    { status: 429, retryAfterSeconds: 1, stream: FINDINGS },
    { status: 500, stream: FINDINGS },
  );
  const report = await sink(createMemoryPendingStore(), { maxConcurrency: 1 }).write(
    aScanResult(1500),
    { logger },
  );

  assert.equal(report.failed, 0);
  assert.equal(report.delivered, 1501);
  assertExactlyOnce(emulator.rowsOf(FINDINGS), 1500);
  const statuses = emulator.requests.filter((r) => r.stream === FINDINGS).map((r) => r.status);
  assert.deepEqual(statuses.slice(0, 2), [429, 500]);
  // One request at a time: the second is the first one's retry, sent after Retry-After.
  const [throttled, retried] = emulator.requests;
  assert.ok(retried!.at - throttled!.at >= 900, "the client waited for Retry-After");
});

void test("a chunk that fails for good in one round is resent alone in the next", async () => {
  await startEmulator();
  // No client retries: the sink's own rounds must resend only the failed chunks.
  emulator.inject({ status: 503, stream: FINDINGS }, { status: 500, stream: FINDINGS });
  const result = aScanResult(4000);
  const report = await sink(createMemoryPendingStore(), {
    clientOptions: { retryOptions: { maxRetries: 0 } },
    maxConcurrency: 2,
  }).write(result, { logger });

  assert.equal(report.failed, 0);
  assertExactlyOnce(emulator.rowsOf(FINDINGS), 4000);
  const accepted = emulator.requests.filter((r) => r.stream === FINDINGS && r.status === 204);
  const refused = emulator.requests.filter((r) => r.stream === FINDINGS && r.status !== 204);
  assert.equal(refused.length, 2);
  assert.equal(
    accepted.reduce((n, r) => n + r.rows, 0),
    4000,
  );
});

void test("a permanent failure is counted and kept; the next run resends it once", async () => {
  await startEmulator();
  const store = createFilePendingStore(join(directory, "pending"));
  emulator.failStream(FINDINGS, 500);
  const first = aScanResult(1200, { id: "run-1", complete: false });
  const report = await sink(store, { uploadRounds: 2 }).write(first, { logger });

  assert.equal(report.failed, 1200);
  assert.equal(report.delivered, 1, "the run row got through");
  assert.ok(report.errors.some((e) => e.code === "LOG_ANALYTICS_UPLOAD_FAILED"));
  assert.equal(emulator.rowsOf(FINDINGS).length, 0);
  const [runRow] = emulator.rowsOf(RUNS);
  assert.equal(runRow?.FailedRecords, 1200);
  assert.equal(runRow?.Complete, false);
  const pending = await store.list();
  assert.equal(pending.length, 1);
  assert.equal(pending[0]?.rows.length, 1200);

  // Next run: the service is back.
  emulator.failStream(FINDINGS, null);
  const second = aScanResult(300, { id: "run-2", finishedAt: "2026-11-28T16:01:00.000Z" });
  const report2 = await sink(store).write(second, { logger });
  assert.equal(report2.failed, 0);
  assert.equal(report2.delivered, 1200 + 300 + 1);
  assert.deepEqual(await store.list(), []);

  const rows = emulator.rowsOf(FINDINGS);
  assertExactlyOnce(rows, 1500);
  const byRun = countBy(rows, "RunId");
  assert.equal(byRun.get("run-1"), 1200);
  assert.equal(byRun.get("run-2"), 300);
  for (const row of rows.filter((r) => r.RunId === "run-1")) {
    assert.equal(row.TimeGenerated, first.run.finishedAt, "resent rows keep TimeGenerated");
    assert.equal(row.RunComplete, false, "rows of an incomplete run say so");
  }
  const run2 = emulator.rowsOf(RUNS).find((r) => r.RunId === "run-2");
  assert.equal(run2?.ResentRecords, 1200);
  assert.equal(run2?.PendingRecords, 0);
});

void test("a failed run row is kept and resent unchanged", async () => {
  await startEmulator();
  const store = createMemoryPendingStore();
  emulator.failStream(RUNS, 503);
  const report = await sink(store, { uploadRounds: 1 }).write(aScanResult(10), { logger });
  assert.equal(report.failed, 1);
  assert.equal(emulator.rowsOf(FINDINGS).length, 10);
  emulator.failStream(RUNS, null);
  await sink(store).write(aScanResult(0, { id: "run-2" }), { logger });
  assert.deepEqual(
    emulator.rowsOf(RUNS).map((r) => r.RunId),
    ["run-1", "run-2"],
  );
});

void test("rows refused for good (400) are dropped after the next attempt, and reported", async () => {
  await startEmulator();
  const store = createMemoryPendingStore();
  emulator.failStream(FINDINGS, 400);
  const report = await sink(store).write(aScanResult(5), { logger });
  assert.equal(report.failed, 5);
  assert.equal((await store.list()).length, 1);
  const report2 = await sink(store).write(aScanResult(0, { id: "run-2" }), { logger });
  assert.ok(report2.errors.some((e) => e.code === "LOG_ANALYTICS_PENDING_DROPPED"));
  assert.deepEqual(await store.list(), []);
});

void test("the file pending store writes, lists oldest first and removes", async () => {
  const store = createFilePendingStore(join(directory, "store-test"));
  assert.deepEqual(await store.list(), []);
  const batch = (id: string) => ({
    id,
    stream: FINDINGS,
    rows: [{ RecordId: id }],
    firstFailedAt: "2026-11-28T00:00:00.000Z",
    attempts: 1,
    lastError: "HTTP 500",
  });
  await store.put(batch("b"));
  await store.put(batch("a"));
  await store.put({ ...batch("a"), attempts: 2 });
  assert.deepEqual(
    (await store.list()).map((b) => [b.id, b.attempts]),
    [
      ["a", 2],
      ["b", 1],
    ],
  );
  await store.remove("a");
  await store.remove("missing");
  assert.deepEqual(
    (await store.list()).map((b) => b.id),
    ["b"],
  );
  await assert.rejects(store.put(batch("../escape")), /invalid pending batch id/);
});

void test("a torn pending batch is set aside and reported; this run's rows still go out", async () => {
  await startEmulator();
  const dir = join(directory, "pending-torn");
  const store = createFilePendingStore(dir);
  const { mkdir, writeFile, readdir } = await import("node:fs/promises");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "2026-11-28T00-00-00-000Z_torn.json"), '{"id":"x","stream":"Cust');
  const report = await sink(store).write(aScanResult(20, { id: "run-torn" }), { logger });
  assert.equal(report.failed, 0);
  assert.equal(emulator.rowsOf(FINDINGS).length, 20);
  const corrupt = report.errors.find((e) => e.code === "LOG_ANALYTICS_PENDING_CORRUPT");
  assert.ok(corrupt, JSON.stringify(report.errors));
  assert.match(corrupt.message, /not JSON/);
  assert.deepEqual(await readdir(dir), ["2026-11-28T00-00-00-000Z_torn.json.corrupt"]);
  assert.deepEqual(await store.list(), []);
});
