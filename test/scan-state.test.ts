/**
 * Durable HTTP runs and the one-scan lock, against Azurite: two service instances (as two Function
 * App instances would be) share one container through the real @azure/storage-blob client; a
 * holder killed mid-run (SIGKILL of a child process) loses the lock when its lease expires; a
 * lease that is lost stops its scan; the timer waits on the same lock. Waits that the lock makes
 * itself go through an injected sleep the test releases; only the lease expiry runs on Azurite's
 * clock, and the test waits for it by polling, never by asserting elapsed time.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { HttpResponseInit, Timer } from "@azure/functions";
import { createHttpScanHandlers } from "../src/function-app/http-scan-handlers.js";
import { BlobRunStore } from "../src/function-app/run-store.js";
import { createBlobScanService, type ScanService } from "../src/function-app/scan-service.js";
import { createTimerScanHandler } from "../src/function-app/timer-scan-handler.js";
import type { ScanResult } from "../src/model.js";
import type { ResourceGraphEmulator } from "../kit/emulators/resource-graph.js";
import {
  anInvocation,
  bodyJson,
  bodyText,
  get,
  getRun,
  headerOf,
  startLoopbackAzure,
  type LoopbackAzure,
} from "./functions/support.js";
import { startAzurite, type Azurite } from "./support/azurite.js";
import { buildEstate, subscriptionId } from "./support/estate.js";

const HOLDER = fileURLToPath(new URL("./support/scan-lock-holder.js", import.meta.url));
const SUB1 = subscriptionId(1);

let azurite: Azurite;
let azure: LoopbackAzure;
let rg: ResourceGraphEmulator;
let slow: ResourceGraphEmulator;

before(async () => {
  [azurite, azure] = await Promise.all([startAzurite(), startLoopbackAzure()]);
  rg = await azure.resourceGraph(buildEstate(2, 3));
  slow = await azure.resourceGraph(buildEstate(2, 3), { latencyInMs: 300 });
});

after(async () => {
  azurite.close();
  await azure.close();
});

/** A sleep the test ends: each call waits until release() (or its signal aborts). */
function manualSleep() {
  const waiting: { ms: number; resolve: () => void }[] = [];
  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const entry = { ms, resolve };
      waiting.push(entry);
      signal?.addEventListener(
        "abort",
        () => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  return {
    sleep,
    waiting,
    /** Ends the sleeps of `ms` waiting now. */
    release(ms: number) {
      for (const entry of waiting.filter((w) => w.ms === ms)) {
        waiting.splice(waiting.indexOf(entry), 1);
        entry.resolve();
      }
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, attempts = 6000) {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting: ${what}`);
}

function handlersOf(service: ScanService, emulator: ResourceGraphEmulator) {
  return createHttpScanHandlers({
    env: { KMS_AUDIT_ARM_ENDPOINT: emulator.url },
    overrides: azure.overrides,
    service,
  });
}

const aTimer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: true },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};

describe("durable runs and the scan lock (Azurite)", () => {
  it("two instances share one container: the other instance refuses a second scan and answers the poll", async () => {
    const a = createBlobScanService(azurite.container("runs-shared"), { leaseSeconds: 15 });
    const b = createBlobScanService(azurite.container("runs-shared"), { leaseSeconds: 15 });
    const onA = handlersOf(a, slow);
    const onB = handlersOf(b, slow);

    const accepted = await onA.scan(get("/api/scan"), anInvocation("a").context);
    assert.equal(accepted.status, 202, bodyText(accepted));
    const runId = headerOf(accepted, "x-run-id") ?? "";

    const busy = await onB.scan(get(`/api/scan?subscriptionId=${SUB1}`), anInvocation("b").context);
    assert.equal(busy.status, 429, bodyText(busy));
    assert.match(String(bodyJson(busy).type), /scan-in-progress/);

    let polled: HttpResponseInit = await onB.scanRun(getRun(runId), anInvocation("p").context);
    assert.equal(polled.status, 202, "B sees the run A is doing");
    await until(async () => {
      polled = await onB.scanRun(getRun(runId), anInvocation("p").context);
      return polled.status !== 202;
    }, "the run to finish");
    assert.equal(polled.status, 200, bodyText(polled));
    const result = bodyJson<ScanResult>(polled);
    assert.equal(result.run.id, runId);
    assert.ok(result.findings.length > 0);
    assert.equal(headerOf(polled, "x-run-complete"), "true");

    // The lock is free again, for either instance.
    const next = await onB.scan(get(`/api/scan?subscriptionId=${SUB1}`), anInvocation("b").context);
    assert.equal(next.status, 200, bodyText(next));
  });

  it("a holder killed mid-run: busy until its lease expires, then the lock is free and its run answers as abandoned", async () => {
    const container = "runs-killed";
    const runId = randomUUID();
    const child = spawn(process.execPath, [HOLDER, String(azurite.port), container, runId], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    await until(() => out.includes("holding") || child.exitCode !== null, "the child to hold");
    assert.equal(out.trim(), "holding");
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGKILL");
    await exited;

    const b = createBlobScanService(azurite.container(container), { leaseSeconds: 15 });
    const onB = handlersOf(b, rg);
    assert.equal(await b.lock.tryAcquire(randomUUID()), null, "the dead holder's lease still runs");
    assert.equal(await b.lock.holds(runId), true);
    const early = await onB.scanRun(getRun(runId), anInvocation("p").context);
    assert.equal(early.status, 202, "while its lease runs, the run may still be going");

    // Nobody renews the lease any more: Azurite lets it expire (15 s on its clock).
    let handle = null;
    await until(
      async () => (handle = await b.lock.tryAcquire(randomUUID())) !== null,
      "the lease to expire",
    );
    assert.ok(handle);
    assert.equal(await b.lock.holds(runId), false);
    const late = await onB.scanRun(getRun(runId), anInvocation("p").context);
    assert.equal(late.status, 500, bodyText(late));
    assert.match(String(bodyJson(late).detail), /abandoned: the instance running it stopped/);
    await (handle as { release(): Promise<void> }).release();

    const scan = await onB.scan(get(`/api/scan?subscriptionId=${SUB1}`), anInvocation("b").context);
    assert.equal(scan.status, 200, bodyText(scan));
  });

  it("a lease that cannot be renewed (broken by someone else) stops the scan that held it", async () => {
    const clock = manualSleep();
    const a = createBlobScanService(azurite.container("runs-lost"), {
      leaseSeconds: 15,
      sleep: clock.sleep,
    });
    const handle = await a.lock.tryAcquire(randomUUID());
    assert.ok(handle);
    await until(() => clock.waiting.some((w) => w.ms === 5000), "the renewal to be scheduled");
    clock.release(5000);
    await until(() => clock.waiting.some((w) => w.ms === 5000), "the next renewal");
    assert.equal(handle.signal.aborted, false, "renewed while held");

    await azurite
      .container("runs-lost")
      .getBlockBlobClient("locks/tenant-scan")
      .getBlobLeaseClient()
      .breakLease(0);
    clock.release(5000);
    await until(() => handle.signal.aborted, "the holder to notice");
    assert.match(String((handle.signal.reason as Error).message), /scan lock was lost/);
    await handle.release();
    const b = createBlobScanService(azurite.container("runs-lost"), { leaseSeconds: 15 });
    const next = await b.lock.tryAcquire(randomUUID());
    assert.ok(next, "free for the next scan");
    await next.release();
  });

  it("the timer waits on the same lock while another instance scans, then runs", async () => {
    const holder = createBlobScanService(azurite.container("runs-timer"), { leaseSeconds: 15 });
    const held = await holder.lock.tryAcquire(randomUUID());
    assert.ok(held);

    const clock = manualSleep();
    const timerService = createBlobScanService(azurite.container("runs-timer"), {
      leaseSeconds: 15,
      retryInMs: 7000,
      sleep: clock.sleep,
    });
    const timer = createTimerScanHandler({
      env: { KMS_AUDIT_ARM_ENDPOINT: rg.url, KMS_AUDIT_SUBSCRIPTIONS: SUB1 },
      overrides: azure.overrides,
      service: timerService,
    });
    const { context, lines } = anInvocation("timerScan");
    const before = rg.requests.length;
    const running = timer(aTimer, context);
    await until(() => clock.waiting.some((w) => w.ms === 7000), "the timer to wait");
    assert.ok(
      lines.some((l) => l.json?.msg === "another scan is running; waiting for the scan lock"),
    );
    assert.equal(rg.requests.length, before, "nothing read while the other scan runs");

    clock.release(7000); // tries again: still taken
    await until(() => clock.waiting.some((w) => w.ms === 7000), "the timer to wait again");
    await held.release();
    clock.release(7000);
    await running;
    assert.ok(rg.requests.length > before, "the timer scanned once the lock was free");
    assert.ok(lines.some((l) => l.json?.msg === "scan lock acquired"));
    assert.equal(await timerService.lock.holds("anything"), false);
    const again = await holder.lock.tryAcquire(randomUUID());
    assert.ok(again, "the timer released the lock");
    await again.release();
  });

  it("finished runs are kept for the retention and then answer 404, from any instance", async () => {
    let now = new Date("2026-12-01T10:00:00Z");
    const store = (name: string) =>
      new BlobRunStore(azurite.container(name), { retentionInMs: 3_600_000, now: () => now });
    const runId = randomUUID();
    const writer = store("runs-retention");
    await writer.start(runId, { format: "csv", statuses: ["NonCompliant"] });
    const reader = store("runs-retention");
    assert.equal((await reader.get(runId))?.state, "running");
    await writer.fail(runId, {
      type: "urn:kms-route-audit:problem:scan-failed",
      title: "The scan failed",
      status: 500,
      detail: "no token",
    });
    now = new Date("2026-12-01T10:59:00Z");
    const failed = await reader.get(runId.toUpperCase());
    assert.equal(failed?.state, "failed");
    assert.equal(failed?.format, "csv");
    assert.deepEqual(failed?.statuses, ["NonCompliant"]);
    assert.equal(failed?.problem?.detail, "no token");
    now = new Date("2026-12-01T11:00:01Z");
    assert.equal(await reader.get(runId), undefined, "expired after an hour");
    assert.equal(await reader.get("../locks/tenant-scan"), undefined, "only run IDs are read");
  });
});
