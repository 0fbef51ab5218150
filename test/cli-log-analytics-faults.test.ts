/**
 * Issue 15, item 3, end to end: the real binary in a child process, the real LogsIngestionClient
 * and DefaultAzureCredential against the loopback Logs Ingestion emulator. A CLI killed with
 * SIGKILL in the middle of its delivery loses no row: the rerun delivers every finding at least
 * once (duplicates removable by RecordId), and the killed run's run row too.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import type { ScanResult } from "../src/model.js";
import type { PendingBatch } from "../src/outputs/log-analytics/index.js";
import { FINDINGS_TABLE, RUNS_TABLE } from "../src/outputs/log-analytics/schema.js";
import {
  startLogsIngestionEmulator,
  type LogsIngestionEmulator,
} from "../kit/emulators/logs-ingestion.js";
import { describeRun, runCli, type CliRun } from "./support/cli-process.js";
import { startIdentityEndpoint, type IdentityEndpoint } from "../kit/support/identity-endpoint.js";
import { syntheticEstate } from "../kit/estates/synthetic.js";
import { createLoopbackCertificate, type LoopbackCertificate } from "../kit/support/tls.js";

const DCR = "dcr-00112233445566778899aabbccddeeff";
const FINDINGS = FINDINGS_TABLE.stream;
const RUNS = RUNS_TABLE.stream;

let identity: IdentityEndpoint;
let tls: LoopbackCertificate;
let tmp: string;
let estateFile: string;
let emulator: LogsIngestionEmulator;
let counter = 0;

before(async () => {
  [identity, tmp, tls] = await Promise.all([
    startIdentityEndpoint(),
    mkdtemp(path.join(tmpdir(), "kms-cli-la-faults-")),
    createLoopbackCertificate(),
  ]);
  // About 3,000 subnets: several requests of at most 1 MB.
  estateFile = path.join(tmp, "estate.json");
  await writeFile(estateFile, JSON.stringify(syntheticEstate({ subnets: 3000 })));
});
after(async () => {
  await identity.close();
  await tls.dispose();
  await rm(tmp, { recursive: true, force: true });
});
afterEach(async () => {
  await emulator?.close();
});

async function startEmulator() {
  emulator = await startLogsIngestionEmulator({
    dcrId: DCR,
    isValidToken: (t) => identity.issued.get(t)?.startsWith("https://monitor.azure.com") === true,
  });
}

const newPendingDir = () => path.join(tmp, `pending-${++counter}`);

function scan(
  pendingDir: string,
  extra: { args?: string[]; killWhen?: Promise<unknown> } = {},
): Promise<CliRun> {
  return runCli(
    ["scan", "--input", estateFile, "--log-analytics", "--format", "json", ...(extra.args ?? [])],
    {
      NODE_EXTRA_CA_CERTS: tls.caFile,
      ...identity.env(),
      KMS_AUDIT_LOGS_ENDPOINT: emulator.url,
      KMS_AUDIT_DCR_ID: DCR,
      KMS_AUDIT_PENDING_DIR: pendingDir,
    },
    { cwd: tmp, ...(extra.killWhen ? { killWhen: extra.killWhen } : {}) },
  );
}

async function pendingBatches(dir: string): Promise<PendingBatch[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(
    names
      .filter((n) => n.endsWith(".json"))
      .map(async (n) => JSON.parse(await readFile(path.join(dir, n), "utf8")) as PendingBatch),
  );
}

const recordIds = (rows: Record<string, unknown>[], runId: string) =>
  new Set(rows.filter((r) => r.RunId === runId).map((r) => String(r.RecordId)));

void describe("kms-route-audit scan --log-analytics under faults (real binary)", () => {
  void it("SIGKILL mid-delivery, then a rerun: every finding at least once, the killed run's run row too", async () => {
    await startEmulator();
    const pendingDir = newPendingDir();
    const output = path.join(tmp, "killed-run.json");
    // Two requests of findings are taken, the third is left hanging: the CLI is killed there.
    const hanging = emulator.hangStreamAfter(FINDINGS, 2);
    const killed = await scan(pendingDir, { args: ["--output", output], killWhen: hanging });
    assert.equal(killed.signal, "SIGKILL", describeRun(killed));
    const run1 = JSON.parse(await readFile(output, "utf8")) as ScanResult;
    const n = run1.findings.length;
    assert.ok(n > 3000);
    const deliveredBeforeKill = recordIds(emulator.rowsOf(FINDINGS), run1.run.id);
    assert.ok(deliveredBeforeKill.size > 0 && deliveredBeforeKill.size < n, "killed mid-delivery");
    assert.equal(emulator.rowsOf(RUNS).length, 0, "the run row had not been sent");

    // What the killed run left: every finding row it had not confirmed, and a run row.
    const kept = await pendingBatches(pendingDir);
    const keptIds = new Set(kept.flatMap((b) => b.rows.map((r) => String(r.RecordId))));
    for (const f of run1.findings) {
      const id = `${run1.run.id}/${f.subnetId.toLowerCase()}`;
      assert.ok(keptIds.has(id) || deliveredBeforeKill.has(id), `${id} is neither sent nor kept`);
    }
    assert.equal(kept.filter((b) => b.stream === RUNS).length, 1, "the run row was written ahead");

    // The service answers again; the next run resends what the killed one left, then its own.
    emulator.failStream(FINDINGS, null);
    const second = await scan(pendingDir);
    assert.equal(second.code, 0, describeRun(second));
    const run2 = JSON.parse(second.stdout) as ScanResult;
    const rows = emulator.rowsOf(FINDINGS);
    assert.equal(recordIds(rows, run1.run.id).size, n, "every finding of the killed run arrived");
    assert.equal(recordIds(rows, run2.run.id).size, run2.findings.length);
    // At least once: rows taken before the kill may come twice, and RecordId tells them apart.
    const distinct = new Set(rows.map((r) => String(r.RecordId)));
    assert.equal(distinct.size, n + run2.findings.length, "nothing but these rows");
    assert.ok(rows.length >= distinct.size);
    const runRows = emulator.rowsOf(RUNS);
    assert.deepEqual(
      runRows.map((r) => r.RunId),
      [run1.run.id, run2.run.id],
    );
    const interrupted = (runRows[0]!.Errors as { code: string }[]).map((e) => e.code);
    assert.deepEqual(interrupted, ["LOG_ANALYTICS_DELIVERY_INTERRUPTED"]);
    assert.equal(runRows[1]!.FailedRecords, 0);
    assert.deepEqual(await pendingBatches(pendingDir), [], "the pending store is empty again");
  });

  void it("a 413 in two runs in a row: the second run says on stderr that the first run's rows were dropped", async () => {
    await startEmulator();
    const pendingDir = newPendingDir();
    emulator.failStream(FINDINGS, 413);
    const first = await scan(pendingDir);
    assert.equal(first.code, 3, describeRun(first));
    const n = (JSON.parse(first.stdout) as ScanResult).findings.length;
    assert.match(first.stderr, /^[^\n]+\n$/, "one line");
    assert.match(first.stderr, /HTTP 413/);

    const second = await scan(pendingDir);
    assert.equal(second.code, 3, describeRun(second));
    assert.match(second.stderr, /^[^\n]+\n$/, `one line, got:\n${second.stderr}`);
    assert.ok(
      second.stderr.includes(`LOG_ANALYTICS_PENDING_DROPPED: dropped ${n} rows`),
      second.stderr,
    );
    const runs = emulator.rowsOf(RUNS);
    const codes = (runs.at(-1)!.Errors as { code: string }[]).map((e) => e.code);
    assert.ok(codes.includes("LOG_ANALYTICS_PENDING_DROPPED"), codes.join(","));
  });

  void it("KMS_AUDIT_PENDING_DIR=/proc/x: one clear line and exit 3, every row still delivered", async () => {
    await startEmulator();
    const r = await scan("/proc/kms-route-audit-pending");
    assert.equal(r.code, 3, describeRun(r));
    assert.match(r.stderr, /^[^\n]+\n$/, `one line, got:\n${r.stderr}`);
    assert.match(
      r.stderr,
      /LOG_ANALYTICS_PENDING_UNWRITABLE: pending store \/proc\/kms-route-audit-pending cannot be written/,
    );
    const result = JSON.parse(r.stdout) as ScanResult;
    assert.equal(recordIds(emulator.rowsOf(FINDINGS), result.run.id).size, result.findings.length);
    assert.equal(emulator.rowsOf(RUNS).length, 1);
  });
});
