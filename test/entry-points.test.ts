/**
 * Issue 12: the CLI, the timer and the HTTP function build a plan from the same settings and run
 * the one orchestrator, so the same estate gives the same findings through all three. The estate
 * is the demo's (34 subnets: hub and spoke, Azure Firewall, Route Server, Virtual WAN), served by
 * the loopback Resource Graph and ARM emulators behind one Resource Manager endpoint; results go
 * to the loopback Logs Ingestion endpoint. The CLI runs as the real binary in a child process; the
 * Functions' handlers run in this process. Only 127.0.0.1 is contacted.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Timer } from "@azure/functions";
import type { ArmRow } from "../src/inventory/arm-row.js";
import type { Finding, ScanResult } from "../src/model.js";
import { createHttpScanHandlers } from "../src/function-app/http-scan-handlers.js";
import { createScanService } from "../src/function-app/scan-service.js";
import { createTimerScanHandler } from "../src/function-app/timer-scan-handler.js";
import { FINDINGS_TABLE, RUNS_TABLE } from "../src/outputs/log-analytics/schema.js";
import type { LiveScanOverrides } from "../src/scan-setup.js";
import {
  startLogsIngestionEmulator,
  type LogsIngestionEmulator,
} from "../kit/emulators/logs-ingestion.js";
import { startResourceGraphEmulator } from "../kit/emulators/resource-graph.js";
import type { RunningHttpsServer } from "../kit/support/https-server.js";
import { startIdentityEndpoint, type IdentityEndpoint } from "../kit/support/identity-endpoint.js";
import { createLoopbackCertificate, type LoopbackCertificate } from "../kit/support/tls.js";
import { armEmulatorFor, startArmFrontDoor } from "./support/arm-front-door.js";
import { describeRun, runCli } from "./support/cli-process.js";
import { anInvocation, bodyJson, bodyText, get, getRun, headerOf } from "./functions/support.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DCR = "dcr-0123456789abcdef0123456789abcdef";

let tls: LoopbackCertificate;
let identity: IdentityEndpoint;
let logs: LogsIngestionEmulator;
let door: RunningHttpsServer;
let tmp: string;
const closers: { close(): Promise<void> }[] = [];

/** The settings every entry point is given: the app settings of a deployment, the CLI's env. */
let settings: Record<string, string>;

before(async () => {
  [tls, identity, tmp] = await Promise.all([
    createLoopbackCertificate(),
    startIdentityEndpoint(),
    mkdtemp(path.join(tmpdir(), "kms-entry-points-")),
  ]);
  // The in-process Functions find the loopback managed identity the way the CLI child does.
  Object.assign(process.env, identity.env());
  const rows = JSON.parse(
    await readFile(path.join(ROOT, "samples", "demo-estate.json"), "utf8"),
  ) as ArmRow[];
  const graph = await startResourceGraphEmulator({
    rows,
    isValidToken: (t) => identity.isValidToken(t),
  });
  const arm = await armEmulatorFor(rows);
  door = await startArmFrontDoor({ resourceGraph: graph, network: arm });
  logs = await startLogsIngestionEmulator({
    dcrId: DCR,
    isValidToken: (t) => identity.isValidToken(t),
  });
  closers.push(door, arm, graph, logs);
  settings = {
    KMS_AUDIT_ARM_ENDPOINT: door.url,
    KMS_AUDIT_LOGS_ENDPOINT: logs.url,
    KMS_AUDIT_DCR_ID: DCR,
    KMS_AUDIT_DECLARATIONS_FILE: path.join(ROOT, "samples", "declarations.json"),
    KMS_AUDIT_ENDPOINT_SETS: "kms",
  };
});

after(async () => {
  await Promise.all(closers.map((c) => c.close()));
  await identity.close();
  await tls.dispose();
  await rm(tmp, { recursive: true, force: true });
});

/** What the in-process Functions need to trust the loopback certificate. */
function overrides(): LiveScanOverrides {
  const tlsOptions = { ca: tls.cert };
  return {
    resourceGraph: { clientOptions: { tlsOptions } },
    network: { clientOptions: { tlsOptions } },
    logAnalytics: { roundDelayInMs: 5, clientOptions: { tlsOptions } },
  };
}

async function pendingDir(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await rm(dir, { recursive: true, force: true });
  return dir;
}

async function viaCli(): Promise<ScanResult> {
  const r = await runCli(
    ["scan", "--format", "json", "--log-analytics"],
    {
      ...settings,
      ...identity.env(),
      NODE_EXTRA_CA_CERTS: tls.caFile,
      KMS_AUDIT_PENDING_DIR: await pendingDir("cli"),
    },
    { cwd: tmp },
  );
  assert.equal(r.code, 0, describeRun(r));
  return JSON.parse(r.stdout) as ScanResult;
}

async function viaHttp(): Promise<ScanResult> {
  const { scan, scanRun } = createHttpScanHandlers({
    env: { ...settings, KMS_AUDIT_PENDING_DIR: await pendingDir("http") },
    overrides: overrides(),
    service: createScanService(),
  });
  // Tenant-wide, the scan runs on after a 202; the run is polled until it answers with its result.
  let response = await scan(get("/api/scan?write=true"), anInvocation("httpScan").context);
  const runId = headerOf(response, "x-run-id") ?? bodyJson<{ runId: string }>(response).runId;
  while (response.status === 202) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    response = await scanRun(getRun(runId), anInvocation("httpScanRun").context);
  }
  assert.equal(response.status, 200, bodyText(response));
  return bodyJson<ScanResult>(response);
}

/** The timer renders nothing: its run is what it logged and wrote to Log Analytics. */
async function viaTimer(): Promise<string> {
  const handler = createTimerScanHandler({
    env: { ...settings, KMS_AUDIT_PENDING_DIR: await pendingDir("timer") },
    overrides: overrides(),
    service: createScanService(),
  });
  const { context, lines } = anInvocation("timerScan");
  const timer: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: true },
    scheduleStatus: { last: "", next: "", lastUpdated: "" },
  };
  await handler(timer, context);
  const runId = lines.find((l) => l.json?.msg === "timer scan triggered")?.json?.runId;
  assert.equal(typeof runId, "string");
  return runId as string;
}

const byId = (a: Finding, b: Finding) =>
  a.subnetId.toLowerCase() < b.subnetId.toLowerCase() ? -1 : 1;

/** A run's finding rows in Log Analytics, without what differs by run (its ID and time). */
function deliveredFindings(runId: string): Record<string, unknown>[] {
  return logs
    .rowsOf(FINDINGS_TABLE.stream)
    .filter((r) => r.RunId === runId)
    .map((r) => {
      const rest: Record<string, unknown> = { ...r };
      delete rest.RunId;
      delete rest.RecordId;
      delete rest.TimeGenerated;
      return rest;
    })
    .sort((a, b) => (String(a.SubnetId) < String(b.SubnetId) ? -1 : 1));
}

function deliveredRun(runId: string): Record<string, unknown> {
  const rows = logs.rowsOf(RUNS_TABLE.stream).filter((r) => r.RunId === runId);
  assert.equal(rows.length, 1, `one run row for ${runId}`);
  return rows[0]!;
}

void describe("CLI, timer and HTTP function: one pipeline", () => {
  it("give the same findings for the same estate and settings", async () => {
    const cli = await viaCli();
    const http = await viaHttp();
    const timerRun = await viaTimer();

    assert.equal(cli.findings.length, 34, "the demo's subnets");
    assert.ok(cli.run.complete && http.run.complete, "both runs read everything");
    // Every verdict, reason, path, impact and fix, subnet by subnet.
    assert.deepEqual([...http.findings].sort(byId), [...cli.findings].sort(byId));
    assert.deepEqual(http.run.counts, cli.run.counts);
    assert.deepEqual(http.run.endpoints, cli.run.endpoints);
    assert.deepEqual(http.run.warnings, cli.run.warnings);

    // What each of the three delivered to Log Analytics is identical too.
    const cliRows = deliveredFindings(cli.run.id);
    assert.equal(cliRows.length, 34);
    assert.deepEqual(deliveredFindings(http.run.id), cliRows);
    assert.deepEqual(deliveredFindings(timerRun), cliRows);
    const counts = (row: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(row).filter(([k]) => /count|complete|subnets/i.test(k)));
    const cliRunRow = counts(deliveredRun(cli.run.id));
    assert.ok(Object.keys(cliRunRow).length > 2, "the run row carries counts");
    assert.deepEqual(counts(deliveredRun(http.run.id)), cliRunRow);
    assert.deepEqual(counts(deliveredRun(timerRun)), cliRunRow);
  });
});
