import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HttpResponseInit } from "@azure/functions";
import { httpScan, httpScanOptions } from "../functions/http-scan.js";
import { httpScanRun, httpScanRunOptions } from "../functions/http-scan-runs.js";
import {
  createHttpScanHandlers,
  type HttpScanDependencies,
} from "../src/function-app/http-scan-handlers.js";
import { createScanService } from "../src/function-app/scan-service.js";
import type { ScanResult } from "../src/model.js";
import type { ResourceGraphEmulator } from "../kit/emulators/resource-graph.js";
import { buildEstate, subscriptionId } from "./support/estate.js";
import {
  anInvocation,
  bodyJson,
  bodyText,
  get,
  getRun,
  headerOf,
  post,
  startLoopbackAzure,
  type LoopbackAzure,
} from "./functions/support.js";

// The handlers run in this process with the real DefaultAzureCredential (loopback managed
// identity) and the real ResourceGraphClient against the loopback emulator; only 127.0.0.1.

const SUB1 = subscriptionId(1);
const SUB2 = subscriptionId(2);
const ONLINE_VNET = `/subscriptions/${SUB1}/resourceGroups/rg-online/providers/Microsoft.Network/virtualNetworks/vnet-online`;
// The synthetic estate's subnets are all NonCompliant; an online VNet adds other statuses.
const estate = [
  ...buildEstate(2, 6),
  {
    id: ONLINE_VNET,
    name: "vnet-online",
    type: "microsoft.network/virtualnetworks",
    location: "westeurope",
    subscriptionId: SUB1,
    resourceGroup: "rg-online",
    properties: {
      subnets: [
        {
          id: `${ONLINE_VNET}/subnets/web`,
          name: "web",
          properties: { addressPrefix: "10.9.0.0/24" },
        },
        {
          id: `${ONLINE_VNET}/subnets/AzureBastionSubnet`,
          name: "AzureBastionSubnet",
          properties: { addressPrefix: "10.9.1.0/26" },
        },
      ],
    },
  },
];
let azure: LoopbackAzure;
let rg: ResourceGraphEmulator;
let slow: ResourceGraphEmulator;

before(async () => {
  azure = await startLoopbackAzure();
  rg = await azure.resourceGraph(estate, { managementGroups: { "mg-corp": [SUB1] } });
  slow = await azure.resourceGraph(estate, { latencyInMs: 400 });
});

after(async () => {
  await azure.close();
});

/** Waits until `condition` holds (checked every 10 ms; the cap is only a hang guard). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 60_000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

function handlers(emulator: ResourceGraphEmulator, extra: Partial<HttpScanDependencies> = {}) {
  return createHttpScanHandlers({
    env: { KMS_AUDIT_ARM_ENDPOINT: emulator.url, KMS_AUDIT_LOG_LEVEL: "debug" },
    overrides: azure.overrides,
    service: createScanService(),
    ...extra,
  });
}

function assertProblem(response: HttpResponseInit, status: number) {
  assert.equal(response.status, status, bodyText(response));
  assert.equal(headerOf(response, "content-type"), "application/problem+json");
  const problem = bodyJson(response);
  assert.equal(problem.status, status);
  for (const field of ["type", "title", "detail"]) assert.equal(typeof problem[field], "string");
  return problem as {
    type: string;
    detail: string;
    invalidParams?: { name: string; reason: string }[];
  };
}

const subscriptionsOf = (result: ScanResult) =>
  [...new Set(result.findings.map((f) => f.subscriptionId.toLowerCase()))].sort();

void describe("GET/POST /api/scan", () => {
  it("is registered as GET+POST /api/scan and GET /api/scan/runs/{runId} with function keys", () => {
    assert.equal(httpScanOptions.route, "scan");
    assert.deepEqual(httpScanOptions.methods, ["GET", "POST"]);
    assert.equal(httpScanOptions.authLevel, "function");
    assert.equal(httpScanRunOptions.route, "scan/runs/{runId}");
    assert.deepEqual(httpScanRunOptions.methods, ["GET"]);
    assert.equal(httpScanRunOptions.authLevel, "function");
  });

  it("GET with subscriptions answers 200 JSON with X-Run-Id, scanning only that scope", async () => {
    const { scan } = handlers(rg);
    const { context, lines } = anInvocation("httpScan");
    const before = rg.requests.length;
    const response = await scan(get(`/api/scan?subscriptionId=${SUB1}&code=functionkey`), context);

    assert.equal(response.status, 200, bodyText(response));
    assert.equal(headerOf(response, "content-type"), "application/json");
    const result = bodyJson<ScanResult>(response);
    assert.equal(headerOf(response, "x-run-id"), result.run.id);
    assert.equal(headerOf(response, "x-run-complete"), "true");
    assert.equal(result.run.complete, true);
    assert.deepEqual(result.run.scope.subscriptions, [SUB1]);
    assert.ok(result.findings.length > 0);
    assert.deepEqual(subscriptionsOf(result), [SUB1]);
    const sent = rg.requests.slice(before);
    assert.ok(sent.length >= 2);
    for (const r of sent) {
      assert.deepEqual(r.subscriptions, [SUB1], "scope only in the subscriptions field");
      assert.equal(r.authorization, "valid");
    }
    // pino lines reached the invocation context, by level, with the run ID bound.
    const pages = lines.filter((l) => l.json?.msg === "resource graph: page read");
    assert.ok(pages.length >= 2);
    assert.ok(pages.every((l) => l.level === "information" && l.json?.runId === result.run.id));
    const finished = lines.find((l) => l.json?.msg === "audit finished");
    assert.deepEqual((finished?.json?.counts as { total: number }).total, result.findings.length);
    const logText = lines.map((l) => l.text).join("\n");
    for (const token of azure.identity.issued.keys())
      assert.ok(!logText.includes(token), "token leaked");
    assert.ok(!logText.includes("functionkey"), "the function key is not logged");
  });

  it("a request may narrow the configured scope but not leave it", async () => {
    const { scan } = handlers(rg, {
      env: {
        KMS_AUDIT_ARM_ENDPOINT: rg.url,
        KMS_AUDIT_SUBSCRIPTIONS: SUB1,
        KMS_AUDIT_MANAGEMENT_GROUPS: "mg-corp",
      },
    });
    const before = rg.requests.length;
    const outside = await scan(
      get(`/api/scan?subscriptionId=${SUB2}&managementGroup=mg-other`),
      anInvocation("httpScan").context,
    );
    const problem = assertProblem(outside, 400);
    assert.deepEqual(problem.invalidParams?.map((p) => p.name).sort(), [
      "managementGroup",
      "subscriptionId",
    ]);
    assert.equal(rg.requests.length, before, "nothing was read");
    const inside = await scan(
      get(`/api/scan?subscriptionId=${SUB1.toUpperCase()}`),
      anInvocation("httpScan").context,
    );
    assert.equal(inside.status, 200, bodyText(inside));
  });

  it("repeated subscriptionId values are all scanned", async () => {
    const { scan } = handlers(rg);
    const response = await scan(
      get(`/api/scan?subscriptionId=${SUB1}&subscriptionId=${SUB2}`),
      anInvocation("httpScan").context,
    );
    assert.equal(response.status, 200, bodyText(response));
    const result = bodyJson<ScanResult>(response);
    assert.deepEqual([...result.run.scope.subscriptions].sort(), [SUB1, SUB2].sort());
    assert.deepEqual(subscriptionsOf(result), [SUB1, SUB2].sort());
  });

  it("POST with a JSON body: management group scope, csv format", async () => {
    const { scan } = handlers(rg);
    const before = rg.requests.length;
    const response = await scan(
      post("/api/scan?code=k", JSON.stringify({ managementGroup: ["mg-corp"], format: "csv" })),
      anInvocation("httpScan").context,
    );
    assert.equal(response.status, 200, bodyText(response));
    assert.equal(headerOf(response, "content-type"), "text/csv; charset=utf-8");
    const lines = bodyText(response).trim().split(/\r?\n/);
    assert.ok(lines.length > 1, "header and rows");
    assert.ok(lines.slice(1).every((l) => l.toLowerCase().includes(SUB1)));
    for (const r of rg.requests.slice(before)) {
      assert.deepEqual(r.managementGroups, ["mg-corp"]);
      assert.equal(r.subscriptions, null);
    }
  });

  it("sarif content type, and status filters the findings while the counts stay whole-run", async () => {
    const { scan } = handlers(rg);
    const all = bodyJson<ScanResult>(
      await scan(get(`/api/scan?subscriptionId=${SUB1}`), anInvocation("httpScan").context),
    );
    const wanted = all.findings[0]?.status;
    assert.ok(wanted);
    const expected = all.findings.filter((f) => f.status === wanted).length;
    assert.ok(expected < all.findings.length, "the estate has more than one status");

    const filtered = await scan(
      get(`/api/scan?subscriptionId=${SUB1}&status=${wanted.toLowerCase()}`),
      anInvocation("httpScan").context,
    );
    const result = bodyJson<ScanResult>(filtered);
    assert.equal(result.findings.length, expected);
    assert.ok(result.findings.every((f) => f.status === wanted));
    assert.deepEqual(result.run.counts, all.run.counts);

    const sarif = await scan(
      get(`/api/scan?subscriptionId=${SUB1}&format=sarif`),
      anInvocation("httpScan").context,
    );
    assert.equal(sarif.status, 200);
    assert.equal(headerOf(sarif, "content-type"), "application/sarif+json");
    assert.equal(bodyJson(sarif).version, "2.1.0");
  });

  const badQueries: [string, string][] = [
    ["foo=1", "foo"],
    [`subscriptionId=${SUB1}&subscription=${SUB2}`, "subscription"],
    ["subscriptionId=not-a-guid", "subscriptionId"],
    [`subscriptionId=${SUB1},x`, "subscriptionId"],
    ["managementGroup=bad/group", "managementGroup"],
    ["managementGroup=ends.with.", "managementGroup"],
    ["format=xml", "format"],
    ["format=json&format=csv", "format"],
    ["status=Broken", "status"],
    ["status=", "status"],
    ["status=NonCompliant&status=Unverified", "status"],
    ["write=yes", "write"],
    ["write=true&write=false", "write"],
  ];
  for (const [query, name] of badQueries) {
    it(`GET ?${query} is refused with 400 naming ${name}`, async () => {
      const { scan } = handlers(rg);
      const before = rg.requests.length;
      const problem = assertProblem(
        await scan(get(`/api/scan?${query}`), anInvocation("httpScan").context),
        400,
      );
      assert.ok(
        problem.invalidParams?.some((p) => p.name === name),
        JSON.stringify(problem),
      );
      assert.equal(rg.requests.length, before, "nothing was sent to Resource Graph");
    });
  }

  const badBodies: [string, string, Record<string, string>?][] = [
    ["{not json", "body"],
    ["[]", "body"],
    ['"text"', "body"],
    [JSON.stringify({ subscriptionId: 5 }), "subscriptionId"],
    [JSON.stringify({ subscriptionId: [SUB1, 7] }), "subscriptionId"],
    [JSON.stringify({ subscriptionId: "nope" }), "subscriptionId"],
    [JSON.stringify({ managementGroup: "a b" }), "managementGroup"],
    [JSON.stringify({ format: 1 }), "format"],
    [JSON.stringify({ format: "table" }), "format"],
    [JSON.stringify({ status: ["Compliant", "Bad"] }), "status"],
    [JSON.stringify({ write: "true" }), "write"],
    [JSON.stringify({ subscriptions: [SUB1] }), "subscriptions"],
    [JSON.stringify({ subscriptionId: Array(3000).fill(SUB1) }), "body"],
  ];
  for (const [body, name] of badBodies) {
    it(`POST ${body.slice(0, 40)} is refused with 400 naming ${name}`, async () => {
      const { scan } = handlers(rg);
      const problem = assertProblem(
        await scan(post("/api/scan", body), anInvocation("h").context),
        400,
      );
      assert.ok(
        problem.invalidParams?.some((p) => p.name === name),
        JSON.stringify(problem),
      );
    });
  }

  it("POST refuses query parameters other than the key, and non-JSON media types", async () => {
    const { scan } = handlers(rg);
    const problem = assertProblem(
      await scan(post("/api/scan?format=csv", "{}"), anInvocation("h").context),
      400,
    );
    assert.ok(problem.invalidParams?.some((p) => p.name === "format"));
    assertProblem(
      await scan(
        post("/api/scan", "{}", { "content-type": "text/plain" }),
        anInvocation("h").context,
      ),
      415,
    );
  });

  it("write=true without Log Analytics settings is refused naming write", async () => {
    const { scan } = handlers(rg);
    const problem = assertProblem(
      await scan(get(`/api/scan?subscriptionId=${SUB1}&write=true`), anInvocation("h").context),
      400,
    );
    assert.ok(problem.invalidParams?.some((p) => p.name === "write"));
    assert.match(problem.detail, /KMS_AUDIT_LOGS_ENDPOINT/);
  });

  it("a malformed setting answers 500 naming the setting", async () => {
    const { scan } = handlers(rg, { env: { KMS_AUDIT_CLOUD: "Mars" } });
    const problem = assertProblem(
      await scan(get(`/api/scan?subscriptionId=${SUB1}`), anInvocation("h").context),
      500,
    );
    assert.match(problem.detail, /KMS_AUDIT_CLOUD/);
  });

  it("the registered handler validates too (no network reached)", async () => {
    const problem = assertProblem(
      await httpScan(get("/api/scan?format=xml"), anInvocation("httpScan").context),
      400,
    );
    assert.ok(problem.invalidParams?.some((p) => p.name === "format"));
  });

  it("one scan at a time: 429 with Retry-After while another runs, then accepted again", async () => {
    const { scan } = handlers(slow, { busyRetryAfterSeconds: 7 });
    const before = slow.requests.length;
    const first = scan(get(`/api/scan?subscriptionId=${SUB1}`), anInvocation("a").context);
    // The first scan holds the gate once it is reading (not after some milliseconds): it is
    // still reading then, the slow emulator answers each page after 400 ms.
    await until(() => slow.requests.length > before, "the first scan reads");
    const busy = await scan(get(`/api/scan?subscriptionId=${SUB2}`), anInvocation("b").context);
    const problem = assertProblem(busy, 429);
    assert.equal(headerOf(busy, "retry-after"), "7");
    assert.match(problem.type, /scan-in-progress/);
    assert.equal((await first).status, 200);
    const again = await scan(get(`/api/scan?subscriptionId=${SUB2}`), anInvocation("c").context);
    assert.equal(again.status, 200, bodyText(again));
  });

  it("a scoped scan that outlasts the synchronous budget answers 202 instead", async () => {
    const { scan, scanRun } = handlers(slow, { syncBudgetInMs: 100 });
    const response = await scan(get(`/api/scan?subscriptionId=${SUB1}`), anInvocation("a").context);
    assert.equal(response.status, 202);
    const runId = headerOf(response, "x-run-id") ?? "";
    assert.equal(headerOf(response, "location"), `/api/scan/runs/${runId}`);
    let polled = response;
    // Polled until done however long that takes here: the 202 is what is tested.
    for (let i = 0; i < 12_000 && polled.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 50));
      polled = await scanRun(getRun(runId), anInvocation("p").context);
    }
    assert.equal(polled.status, 200);
  });
});

void describe("tenant-wide scans and GET /api/scan/runs/{runId}", () => {
  it("answers 202 with Location; polling gives 202 + Retry-After, then 200 with the result", async () => {
    const { scan, scanRun } = handlers(slow, { pollRetryAfterSeconds: 3 });
    const startedAt = Date.now();
    const accepted = await scan(
      get("/api/scan?status=NonCompliant,Unverified"),
      anInvocation("a").context,
    );
    assert.equal(accepted.status, 202, bodyText(accepted));
    const runId = headerOf(accepted, "x-run-id") ?? "";
    assert.match(runId, /^[0-9a-f-]{36}$/);
    const location = headerOf(accepted, "location");
    assert.equal(location, `/api/scan/runs/${runId}`);
    assert.equal(headerOf(accepted, "retry-after"), "3");
    assert.equal(bodyJson(accepted).runId, runId);

    const poll = (query = "") =>
      scanRun(getRun(runId, query), anInvocation("poll").context) as Promise<HttpResponseInit>;
    const early = await poll();
    assert.equal(early.status, 202, "the slow emulator is still paging");
    assert.equal(headerOf(early, "retry-after"), "3");

    let done = early;
    for (let i = 0; i < 12_000 && done.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 50));
      done = await poll();
    }
    assert.equal(done.status, 200, bodyText(done));
    assert.equal(headerOf(done, "content-type"), "application/json");
    const result = bodyJson<ScanResult>(done);
    assert.equal(result.run.id, runId);
    assert.deepEqual(result.run.scope, { subscriptions: [], managementGroups: [] });
    assert.ok(result.findings.every((f) => ["NonCompliant", "Unverified"].includes(f.status)));
    const csv = await poll(
      "?format=csv&status=Compliant,NonCompliant,Unverified,NotApplicable,Exempt",
    );
    assert.equal(headerOf(csv, "content-type"), "text/csv; charset=utf-8");
    assert.equal(bodyText(csv).trim().split(/\r?\n/).length - 1, result.run.counts.total);
    const tenantRequests = slow.requests.filter((q) => q.at >= startedAt);
    assert.ok(tenantRequests.length >= 2);
    for (const r of tenantRequests) assert.equal(r.subscriptions, null, "tenant scope");
  });

  it("a run that outlives its deadline is abandoned, reported as failed, and frees the instance", async () => {
    const { scan, scanRun } = handlers(slow, { maxRunInMs: 150 });
    const accepted = await scan(get("/api/scan"), anInvocation("a").context);
    assert.equal(accepted.status, 202, bodyText(accepted));
    const runId = headerOf(accepted, "x-run-id") ?? "";
    let polled = accepted;
    for (let i = 0; i < 12_000 && polled.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 50));
      polled = await scanRun(getRun(runId), anInvocation("p").context);
    }
    const problem = assertProblem(polled, 500);
    assert.match(problem.type, /scan-failed/);
    const next = await scan(get(`/api/scan?subscriptionId=${SUB1}`), anInvocation("b").context);
    assert.notEqual(next.status, 429, "the gate was released");
  });

  it("unknown run ID: 404; malformed run ID or parameter: 400", async () => {
    const unknown = getRun("0b6f3c1e-2d4a-4c5b-8e9f-0a1b2c3d4e5f");
    const notFound = assertProblem(await httpScanRun(unknown, anInvocation("p").context), 404);
    assert.match(notFound.type, /run-not-found/);

    for (const id of ["123", "../scan", "0b6f3c1e-2d4a-4c5b-8e9f-0a1b2c3d4e5"]) {
      const bad = getRun(id);
      const problem = assertProblem(await httpScanRun(bad, anInvocation("p").context), 400);
      assert.deepEqual(
        problem.invalidParams?.map((p) => p.name),
        ["runId"],
      );
    }
    const badFormat = getRun("0b6f3c1e-2d4a-4c5b-8e9f-0a1b2c3d4e5f", "?format=pdf");
    const problem = assertProblem(await httpScanRun(badFormat, anInvocation("p").context), 400);
    assert.deepEqual(
      problem.invalidParams?.map((p) => p.name),
      ["format"],
    );
  });
});
