import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Timer } from "@azure/functions";
import { timerScan, timerScanOptions } from "../functions/timer-scan.js";
import { createScanService } from "../src/function-app/scan-service.js";
import { createTimerScanHandler } from "../src/function-app/timer-scan-handler.js";
import { FINDINGS_TABLE, RUNS_TABLE } from "../src/outputs/log-analytics/schema.js";
import {
  startLogsIngestionEmulator,
  type LogsIngestionEmulator,
} from "../kit/emulators/logs-ingestion.js";
import type { ResourceGraphEmulator } from "../kit/emulators/resource-graph.js";
import { buildEstate, subscriptionId } from "./support/estate.js";
import { anInvocation, startLoopbackAzure, type LoopbackAzure } from "./functions/support.js";

const DCR = "dcr-0123456789abcdef0123456789abcdef";
const SUB1 = subscriptionId(1);
const MISSING = subscriptionId(99);
let azure: LoopbackAzure;
let rg: ResourceGraphEmulator;
let logs: LogsIngestionEmulator;
let pendingDir: string;

before(async () => {
  azure = await startLoopbackAzure();
  rg = await azure.resourceGraph(buildEstate(2, 4));
  logs = await startLogsIngestionEmulator({
    dcrId: DCR,
    isValidToken: (t) => azure.identity.isValidToken(t),
  });
  pendingDir = await mkdtemp(join(tmpdir(), "kms-timer-"));
});

after(async () => {
  await logs.close();
  await azure.close();
  await rm(pendingDir, { recursive: true, force: true });
});

function aTimer(isPastDue: boolean): Timer {
  return {
    isPastDue,
    schedule: { adjustForDST: true },
    scheduleStatus: {
      last: "2026-11-28T00:00:00Z",
      next: "2026-11-28T06:00:00Z",
      lastUpdated: "2026-11-28T00:00:00Z",
    },
  };
}

function handler(env: Record<string, string>) {
  return createTimerScanHandler({
    env: { KMS_AUDIT_ARM_ENDPOINT: rg.url, KMS_AUDIT_PENDING_DIR: pendingDir, ...env },
    overrides: {
      ...azure.overrides,
      logAnalytics: {
        roundDelayInMs: 5,
        clientOptions: {
          tlsOptions: { ca: azure.ca },
          retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 },
        },
      },
    },
    service: createScanService(),
  });
}

const LA_ENV = { KMS_AUDIT_LOGS_ENDPOINT: "", KMS_AUDIT_DCR_ID: DCR };

void describe("timerScan", () => {
  it("is registered on %KMS_AUDIT_SCHEDULE%, not on startup", () => {
    assert.equal(timerScanOptions.schedule, "%KMS_AUDIT_SCHEDULE%");
    assert.equal(timerScanOptions.runOnStartup, false);
    assert.equal(timerScanOptions.handler, timerScan);
  });

  it("logs a past-due timer through the invocation context and scans the settings' scope", async () => {
    const { context, lines } = anInvocation("timerScan");
    const before = rg.requests.length;
    await handler({ KMS_AUDIT_SUBSCRIPTIONS: SUB1 })(aTimer(true), context);

    const triggered = lines.find((l) => l.json?.msg === "timer scan triggered");
    assert.equal(triggered?.json?.isPastDue, true);
    assert.equal(triggered?.level, "information");
    const late = lines.find((l) => l.json?.isPastDue === true && l.level === "warning");
    assert.ok(late, "past-due warning");
    const runId = triggered?.json?.runId;
    assert.equal(typeof runId, "string");
    const finished = lines.find((l) => l.json?.msg === "audit finished");
    assert.equal(finished?.json?.runId, runId);
    assert.ok(
      lines.some((l) => l.json?.msg === "Log Analytics is not configured: results are only logged"),
    );
    for (const r of rg.requests.slice(before)) assert.deepEqual(r.subscriptions, [SUB1]);
  });

  it("an on-time timer logs isPastDue false and no warning", async () => {
    const { context, lines } = anInvocation("timerScan");
    await handler({ KMS_AUDIT_SUBSCRIPTIONS: SUB1 })(aTimer(false), context);
    assert.equal(lines.find((l) => l.json?.msg === "timer scan triggered")?.json?.isPastDue, false);
    assert.ok(!lines.some((l) => l.level === "warning" && l.json?.isPastDue === true));
  });

  it("writes findings and the run row to Log Analytics when configured", async () => {
    const { context, lines } = anInvocation("timerScan");
    await handler({ ...LA_ENV, KMS_AUDIT_LOGS_ENDPOINT: logs.url })(aTimer(false), context);
    const runId = lines.find((l) => l.json?.msg === "timer scan triggered")?.json?.runId;
    const findings = logs.rowsOf(FINDINGS_TABLE.stream).filter((r) => r.RunId === runId);
    const runs = logs.rowsOf(RUNS_TABLE.stream).filter((r) => r.RunId === runId);
    assert.equal(findings.length, 8, "one subnet per group: 2 subscriptions x 4 groups");
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.Complete, true);
    assert.equal(runs[0]?.FailedRecords, 0);
    assert.ok(lines.some((l) => l.json?.msg === "Log Analytics write finished"));
  });

  it("an incomplete run is written, logged at error level, then fails the invocation", async () => {
    const { context, lines } = anInvocation("timerScan");
    await assert.rejects(
      handler({
        ...LA_ENV,
        KMS_AUDIT_LOGS_ENDPOINT: logs.url,
        KMS_AUDIT_SUBSCRIPTIONS: `${SUB1},${MISSING}`,
      })(aTimer(false), context),
      /incomplete: SCOPE_NOT_READABLE/,
    );
    const runId = lines.find((l) => l.json?.msg === "timer scan triggered")?.json?.runId;
    const [run] = logs.rowsOf(RUNS_TABLE.stream).filter((r) => r.RunId === runId);
    assert.equal(run?.Complete, false, "the run row was written before the failure");
    assert.ok(logs.rowsOf(FINDINGS_TABLE.stream).some((r) => r.RunId === runId));
    assert.ok(
      lines.some((l) => l.level === "error" && l.json?.msg === "timer scan finished with problems"),
    );
  });

  it("records Log Analytics could not take fail the invocation and wait in the pending store", async () => {
    const { context } = anInvocation("timerScan");
    logs.failStream(FINDINGS_TABLE.stream, 403);
    try {
      await assert.rejects(
        handler({ ...LA_ENV, KMS_AUDIT_LOGS_ENDPOINT: logs.url, KMS_AUDIT_SUBSCRIPTIONS: SUB1 })(
          aTimer(false),
          context,
        ),
        /records not delivered \(log-analytics\)/,
      );
    } finally {
      logs.failStream(FINDINGS_TABLE.stream, null);
    }
    assert.ok((await readdir(pendingDir)).length > 0, "kept in KMS_AUDIT_PENDING_DIR");
  });

  it("KMS_AUDIT_REMEDIATION=plan logs every planned route change, and changes nothing", async () => {
    const { context, lines } = anInvocation("timerScan");
    const before = rg.requests.length;
    await handler({ KMS_AUDIT_SUBSCRIPTIONS: SUB1, KMS_AUDIT_REMEDIATION: "plan" })(
      aTimer(false),
      context,
    );
    const changes = lines.filter((l) => l.json?.msg === "remediation change");
    assert.ok(changes.length > 0, "planned changes are logged");
    for (const line of changes) {
      const change = line.json?.change as { status: string; action: string; addressPrefix: string };
      assert.equal(change.status, "planned");
      assert.match(change.addressPrefix, /^\d+\.\d+\.\d+\.\d+\/32$/);
    }
    const finished = lines.find((l) => l.json?.msg === "remediation finished");
    assert.equal(finished?.json?.mode, "plan");
    // Planning reads nothing but the estate: only Resource Graph was asked.
    assert.ok(rg.requests.length > before);
  });

  it("no remediation runs unless KMS_AUDIT_REMEDIATION asks for it", async () => {
    const { context, lines } = anInvocation("timerScan");
    await handler({ KMS_AUDIT_SUBSCRIPTIONS: SUB1 })(aTimer(false), context);
    assert.ok(!lines.some((l) => l.json?.msg === "remediation finished"));
  });

  it("a malformed setting fails the invocation with the setting's name", async () => {
    const { context, lines } = anInvocation("timerScan");
    await assert.rejects(
      handler({ KMS_AUDIT_SUBSCRIPTIONS: "not-a-guid" })(aTimer(false), context),
      /KMS_AUDIT_SUBSCRIPTIONS/,
    );
    assert.ok(lines.some((l) => l.level === "error" && l.text.includes("KMS_AUDIT_SUBSCRIPTIONS")));
    await assert.rejects(
      handler({ KMS_AUDIT_DCR_ID: DCR })(aTimer(false), anInvocation("t").context),
      /KMS_AUDIT_LOGS_ENDPOINT/,
    );
  });
});
