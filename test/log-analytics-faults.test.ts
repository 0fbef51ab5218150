/**
 * Issue 15, item 3: no fault loses a Log Analytics row. The real LogsIngestionClient and
 * DefaultAzureCredential (loopback managed identity) against the Logs Ingestion emulator, with
 * the real file pending store in a temporary directory.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { pino } from "pino";
import {
  createFilePendingStore,
  createLogAnalyticsSink,
  type LogAnalyticsSinkOptions,
  type PendingBatch,
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
const logger = pino({ level: "silent" });

let identity: IdentityEndpoint;
let emulator: LogsIngestionEmulator;
let directory: string;
let counter = 0;

before(async () => {
  identity = await startIdentityEndpoint();
  Object.assign(process.env, identity.env());
  directory = await mkdtemp(join(tmpdir(), "kms-la-faults-"));
});
after(async () => {
  await identity.close();
  await rm(directory, { recursive: true, force: true });
});
afterEach(async () => {
  await emulator?.close();
});

async function startEmulator() {
  emulator = await startLogsIngestionEmulator({
    dcrId: DCR,
    isValidToken: (token) => identity.isValidToken(token),
  });
}

const newDir = () => join(directory, `pending-${++counter}`);

function sink(store: PendingStore, extra: Partial<LogAnalyticsSinkOptions> = {}) {
  return createLogAnalyticsSink({
    endpoint: emulator.url,
    dcrId: DCR,
    pendingStore: store,
    roundDelayInMs: 1,
    ...extra,
    clientOptions: {
      tlsOptions: { ca: emulator.certificate.cert },
      retryOptions: { maxRetries: 0 },
      ...extra.clientOptions,
    },
  });
}

function aBatch(id: string, rows: number, runId = "run-0"): PendingBatch {
  return {
    id,
    stream: FINDINGS,
    rows: Array.from({ length: rows }, (_, i) => ({
      TimeGenerated: "2026-11-28T10:00:00.000Z",
      RunId: runId,
      RecordId: `${runId}/${id}-${i}`,
    })),
    firstFailedAt: "2026-11-28T10:00:00.000Z",
    attempts: 1,
    lastError: "HTTP 500",
  };
}

const jsonFiles = async (dir: string) =>
  (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json")).sort();

void describe("Log Analytics delivery under faults", () => {
  void it("writes every batch ahead of sending it; a hanging endpoint times out, the rows stay pending", async () => {
    await startEmulator();
    const dir = newDir();
    const store = createFilePendingStore(dir);
    const firstHang = emulator.hangStreamAfter(FINDINGS, 0);
    const result = aScanResult(100, { id: "run-hang" });
    // Two batches of 50 rows: one request each.
    const writing = sink(store, {
      requestTimeoutInMs: 5_000,
      uploadRounds: 1,
      batchRows: 50,
    }).write(result, { logger });

    // The first findings request is on the wire and unanswered: the store already holds this
    // run's finding rows and a run row, written before anything was sent.
    await firstHang;
    const ahead = await store.list();
    assert.deepEqual(
      ahead.map((b) => [b.stream, b.rows.length]),
      [
        [FINDINGS, 50],
        [FINDINGS, 50],
        [RUNS, 1],
      ],
    );
    assert.ok(ahead.every((b) => b.rows.every((r) => r.RunId === "run-hang")));

    // The run completes: the findings batches failed for want of an answer and are kept; the
    // run row (another stream) was delivered and says so.
    const report = await writing;
    assert.equal(report.failed, 100);
    assert.equal(report.delivered, 1);
    const upload = report.errors.find((e) => e.code === "LOG_ANALYTICS_UPLOAD_FAILED");
    assert.match(upload?.message ?? "", /no answer within 5000 ms/);
    const kept = await store.list();
    assert.deepEqual(
      kept.map((b) => [b.stream, b.rows.length, b.attempts]),
      [
        [FINDINGS, 50, 1],
        [FINDINGS, 50, 1],
      ],
    );
    const [runRow] = emulator.rowsOf(RUNS);
    assert.equal(runRow?.FailedRecords, 100);
    assert.ok(
      (runRow?.Errors as { code: string }[]).some((e) => e.code === "LOG_ANALYTICS_UPLOAD_FAILED"),
    );
    // The stream was given up after its first batch hung: the second was not sent in this run.
    assert.deepEqual(
      emulator.requests.filter((r) => r.stream === FINDINGS).map((r) => r.status),
      [0],
    );
  });

  void it("a 413 in two runs in a row: the first run's rows are dropped loudly, in the report and the run row's Errors", async () => {
    await startEmulator();
    const store = createFilePendingStore(newDir());
    emulator.failStream(FINDINGS, 413);
    const first = await sink(store).write(aScanResult(30, { id: "run-1" }), { logger });
    assert.equal(first.failed, 30);
    assert.equal((await store.list()).length, 1, "kept for one more attempt");

    const second = await sink(store).write(aScanResult(20, { id: "run-2" }), { logger });
    const dropped = second.errors.filter((e) => e.code === "LOG_ANALYTICS_PENDING_DROPPED");
    assert.equal(dropped.length, 1, JSON.stringify(second.errors));
    assert.match(dropped[0]!.message, /dropped 30 rows .*HTTP 413/);
    const run2 = emulator.rowsOf(RUNS).find((r) => r.RunId === "run-2");
    assert.ok(run2, "run 2's run row was delivered");
    const codes = (run2.Errors as { code: string }[]).map((e) => e.code);
    assert.ok(codes.includes("LOG_ANALYTICS_PENDING_DROPPED"), codes.join(","));
    assert.equal(run2.ErrorCount, codes.length);
    assert.equal(run2.Complete, true, "the scan itself was complete");
  });

  void it("foreign names in the file store are reported and skipped; old temporary files are removed", async () => {
    await startEmulator();
    const dir = newDir();
    await mkdir(join(dir, "sub"), { recursive: true });
    await mkdir(join(dir, "y.json"));
    await writeFile(join(dir, "sub", "x.json"), JSON.stringify(aBatch("x", 1)));
    await writeFile(join(dir, "batch.copy.json"), JSON.stringify(aBatch("copy", 2)));
    await writeFile(join(dir, "README"), "hands off");
    const real = aBatch("2026-11-28T10-00-00-000Z_earlier", 3, "run-earlier");
    await writeFile(join(dir, `${real.id}.json`), JSON.stringify(real));
    const old = join(dir, `${real.id}.json.4242.dead.tmp`);
    const fresh = join(dir, `${real.id}.json.4243.busy.tmp`);
    await writeFile(old, "{");
    await writeFile(fresh, "{");
    const now = new Date("2026-11-28T12:00:00.000Z");
    const twoHoursAgo = new Date(now.getTime() - 2 * 3_600_000);
    await utimes(old, twoHoursAgo, twoHoursAgo);
    await utimes(fresh, now, now);
    const store = createFilePendingStore(dir, { now: () => now });

    const report = await sink(store).write(aScanResult(10, { id: "run-now" }), { logger });

    assert.equal(report.failed, 0, JSON.stringify(report.errors));
    const foreign = report.errors.filter((e) => e.code === "LOG_ANALYTICS_PENDING_FOREIGN");
    assert.deepEqual(foreign.map((e) => e.target).sort(), [
      "README",
      "batch.copy.json",
      "sub",
      "y.json",
    ]);
    assert.deepEqual(
      emulator
        .rowsOf(FINDINGS)
        .filter((r) => r.RunId === "run-earlier")
        .map((r) => r.RecordId),
      real.rows.map((r) => r.RecordId),
      "the real batch was resent",
    );
    assert.equal(emulator.rowsOf(FINDINGS).filter((r) => r.RunId === "run-now").length, 10);
    const left = (await readdir(dir)).sort();
    assert.deepEqual(left, [
      `${real.id}.json.4243.busy.tmp`,
      "README",
      "batch.copy.json",
      "sub",
      "y.json",
    ]);
  });

  void it("an unusable pending directory (/proc/x) fails once with a clear error; delivery goes on", async () => {
    await startEmulator();
    const store = createFilePendingStore("/proc/kms-route-audit/pending");
    await assert.rejects(store.put(aBatch("a", 1)), (e: Error) => {
      assert.equal(e.name, "PendingStoreError");
      assert.match(
        e.message,
        /^pending store \/proc\/kms-route-audit\/pending cannot be written: /,
      );
      return true;
    });
    const report = await sink(store).write(aScanResult(15, { id: "run-proc" }), { logger });
    assert.equal(report.failed, 0);
    assert.equal(emulator.rowsOf(FINDINGS).length, 15);
    const unwritable = report.errors.filter((e) => e.code === "LOG_ANALYTICS_PENDING_UNWRITABLE");
    assert.equal(unwritable.length, 1, "reported once, not per batch");
    assert.deepEqual(await jsonFiles("/proc/kms-route-audit/pending"), []);
  });

  void it("delivery in batches: each batch leaves the store once accepted; a failed one stays alone", async () => {
    await startEmulator();
    const dir = newDir();
    const store = createFilePendingStore(dir);
    // 2,500 rows in batches of 1,000: one request of the first batch is refused (400).
    emulator.inject({ status: 400, stream: FINDINGS });
    const report = await sink(store, { batchRows: 1_000, uploadRounds: 1 }).write(
      aScanResult(2_500, { id: "run-batches" }),
      { logger },
    );
    // The client cuts each batch into requests of about 1 MB; only the refused one's rows stay.
    const kept = await store.list();
    assert.equal(kept.length, 1, JSON.stringify(kept.map((b) => b.id)));
    assert.equal(kept[0]!.stream, FINDINGS);
    assert.equal(report.failed, kept[0]!.rows.length);
    const delivered = emulator.rowsOf(FINDINGS).length;
    assert.equal(delivered + kept[0]!.rows.length, 2_500);
  });
});
