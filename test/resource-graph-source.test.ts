import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RESOURCE_TABLE_TYPES } from "../src/sources/resource-graph/index.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import {
  startResourceGraphEmulator,
  type ResourceGraphEmulator,
  type ResourceGraphEmulatorOptions,
} from "../kit/emulators/resource-graph.js";
import { buildEstate, expectedIds, subscriptionId } from "./support/estate.js";
import { startIdentityEndpoint, type IdentityEndpoint } from "../kit/support/identity-endpoint.js";
import { runSourceInChild, type ChildRun } from "../kit/support/source-process.js";
import { createLoopbackCertificate, type LoopbackCertificate } from "../kit/support/tls.js";
import type { ResourceGraphSourceOptions } from "../src/sources/resource-graph/index.js";

// Every test drives the real ResourceGraphClient and DefaultAzureCredential in a child Node
// process that trusts the loopback certificate (NODE_EXTRA_CA_CERTS) and gets tokens from the
// loopback managed-identity endpoint. Only 127.0.0.1 is ever contacted.

let tls: LoopbackCertificate;
let identity: IdentityEndpoint;
const emulators: ResourceGraphEmulator[] = [];

before(async () => {
  tls = await createLoopbackCertificate();
  identity = await startIdentityEndpoint();
});

after(async () => {
  await Promise.all(emulators.map((e) => e.close()));
  await identity.close();
  await tls.dispose();
});

async function emulator(
  options: Omit<ResourceGraphEmulatorOptions, "isValidToken">,
): Promise<ResourceGraphEmulator> {
  const e = await startResourceGraphEmulator({
    isValidToken: (t) => identity.isValidToken(t),
    ...options,
  });
  emulators.push(e);
  return e;
}

function run(
  rg: ResourceGraphEmulator,
  options: Partial<ResourceGraphSourceOptions> = {},
): Promise<ChildRun> {
  return runSourceInChild(
    {
      cloud: "AzureCloud",
      armEndpoint: rg.url,
      // Paging, pacing and faults, on the queries that read every row; the impact aggregates
      // have their own tests (resource-graph-impact.test.ts).
      impact: "rows",
      retry: { maxRetries: 4, baseDelayInMs: 100, maxDelayInMs: 2_000 },
      ...options,
    },
    { NODE_EXTRA_CA_CERTS: tls.caFile, ...identity.env() },
  );
}

const ids = (rows: ArmRow[]) => rows.map((r) => r.id.toLowerCase()).sort();
const pagesOf = (rg: ResourceGraphEmulator, table: string) =>
  rg.requests.filter((r) => r.table === table);

void describe("Resource Graph source (real SDK against the loopback emulator)", () => {
  void it("reads every audited row across pages, with the minimum page count", async () => {
    const estate = buildEstate(3, 40); // 720 audited resources + 3 subscriptions + storage noise
    const rg = await emulator({ rows: estate });
    const result = await run(rg, { pageSize: 100 });

    assert.equal(result.thrown, null, JSON.stringify(result.thrown));
    assert.deepEqual(result.errors, []);
    assert.deepEqual(ids(result.rows), expectedIds(estate));
    assert.equal(new Set(ids(result.rows)).size, result.rows.length, "no duplicate rows");
    // 720 rows / 100 per page = 8 resource pages, 1 subscription page, 1 (empty) rule collection
    // group page, nothing else.
    assert.equal(rg.servedPages("resources").length, 8);
    assert.equal(rg.servedPages("resourcecontainers").length, 1);
    assert.equal(rg.servedPages("networkresources").length, 1);
    assert.equal(rg.requests.length, 10);
    for (const r of rg.requests) {
      assert.equal(r.authorization, "valid");
      assert.equal(r.top, 100);
      assert.equal(r.subscriptions, null, "tenant scope names no subscriptions");
      assert.equal(r.allowPartialScopes, true);
    }
    assert.deepEqual(
      [...(pagesOf(rg, "resources")[0]?.types ?? [])].sort(),
      [...RESOURCE_TABLE_TYPES].sort(),
    );
    // ARM-shaped rows with only the projected columns.
    const routeTable = result.rows.find((r) => r.type === "microsoft.network/routetables");
    assert.ok(routeTable);
    assert.deepEqual(routeTable.tags, { owner: "net" }, "tags are projected (exemptions)");
    assert.deepEqual(Object.keys(routeTable).sort(), [
      "id",
      "location",
      "name",
      "properties",
      "resourceGroup",
      "subscriptionId",
      "tags",
      "type",
    ]);
    const subscription = result.rows.find((r) => r.type === "microsoft.resources/subscriptions");
    assert.equal(subscription?.name, "Subscription 1");
    // Token for the public cloud's ARM audience, from the managed-identity endpoint.
    assert.ok(identity.requests.some((q) => q.resource === "https://management.azure.com"));
    assert.ok(identity.requests.every((q) => q.apiVersion === "2019-08-01"));
    // Logs: per-page counts, never a token.
    const pageLogs = result.logs.filter((l) => l.msg === "resource graph: page read");
    assert.equal(pageLogs.length, 10);
    const stderr = JSON.stringify(result.logs) + result.stderrText;
    for (const token of identity.issued.keys()) assert.ok(!stderr.includes(token), "token leaked");
  });

  void it("paces itself on the quota headers: no 429 alone on the quota, waits no longer than the quota asks", async () => {
    // 3000 audited rows: 30 resource pages, 1 subscription page, 1 rule collection group page.
    const estate = buildEstate(1, 500);
    const windowInMs = 2_000;
    const rg = await emulator({ rows: estate, quota: { limit: 5, windowInMs } });
    const result = await run(rg, { pageSize: 100 });

    assert.deepEqual(result.errors, []);
    assert.equal(result.rows.length, expectedIds(estate).length);
    assert.equal(rg.throttled, 0, "the client never ran into the quota");
    assert.equal(rg.requests.length, 32);
    // 32 queries at 5 per window need 7 windows: the quota alone imposes 6 full windows, so the
    // run cannot be faster (a slower machine only makes it longer: a lower bound is safe).
    const bound = 6 * windowInMs;
    const first = rg.requests[0]?.at ?? 0;
    const span = (rg.requests.at(-1)?.at ?? 0) - first;
    assert.ok(span >= bound - 50, `span ${span} ms is below what the quota allows`);
    // Near the bound, judged by the client's own decisions rather than by the clock: it waits
    // only when the quota is spent (at most once per window), and each wait is the reported reset
    // plus the margin (50 ms + 2%), never more.
    const waits = result.logs.filter(
      (l) => l.msg === "resource graph: waiting for the query quota to reset",
    );
    assert.ok(waits.length <= 6, `${waits.length} waits`);
    for (const w of waits) {
      assert.ok(typeof w.waitInMs === "number" && w.waitInMs > 0);
      assert.ok(w.waitInMs <= windowInMs * 1.02 + 51, `a wait of ${w.waitInMs} ms`);
    }
  });

  void it("waits out a 429 without Retry-After instead of hammering, then completes", async () => {
    const estate = buildEstate(1, 30); // 180 rows, 2 pages of 100
    const rg = await emulator({ rows: estate });
    rg.injectFault({ status: 429, times: 2, when: (r) => r.table === "resources" && r.page === 2 });
    const result = await run(rg, { pageSize: 100 });

    assert.deepEqual(result.errors, []);
    assert.deepEqual(ids(result.rows), expectedIds(estate));
    const page2 = pagesOf(rg, "resources").filter((r) => r.page === 2);
    assert.deepEqual(
      page2.map((r) => r.status),
      [429, 429, 200],
    );
    for (let i = 1; i < page2.length; i++) {
      const gap = (page2[i]?.at ?? 0) - (page2[i - 1]?.at ?? 0);
      assert.ok(gap >= 70, `retry ${i} came ${gap} ms after the 429`);
    }
    const retries = result.logs.filter((l) => l.msg === "resource graph: retrying page");
    assert.equal(retries.length, 2);
    assert.ok(retries.every((r) => r.status === 429 && typeof r.delayInMs === "number"));
  });

  void it("on a 429 from a shared quota, waits for the reported reset once, then goes on", async () => {
    const estate = buildEstate(1, 5);
    const windowInMs = 1_500;
    const rg = await emulator({
      rows: estate,
      quota: { limit: 3, windowInMs },
      identityOf: () => "shared-identity",
    });
    // Another client of the identity uses the window up just as this one's first query arrives
    // (not at a wall-clock moment, which a slow child start-up could let pass).
    rg.spendQuotaAtNextRequest("shared-identity", 3);
    const result = await run(rg);

    assert.deepEqual(result.errors, []);
    assert.deepEqual(ids(result.rows), expectedIds(estate));
    assert.equal(rg.throttled, 1, "one 429, then the client waited for the reset");
    const [throttled, retried] = rg.requests;
    assert.equal(throttled?.status, 429);
    // A 200 for the retry proves it came after the window reset: the quota was still spent
    // otherwise.
    assert.equal(retried?.status, 200);
    const retries = result.logs.filter((l) => l.msg === "resource graph: retrying page");
    assert.equal(retries.length, 1, "waited once");
    const delay = retries[0]?.delayInMs as number;
    assert.ok(
      delay > 0 && delay <= windowInMs * 1.02 + 51,
      `waited ${delay} ms: the reset, no more`,
    );
  });

  void it("honours Retry-After on 429", async () => {
    const estate = buildEstate(1, 5);
    const rg = await emulator({ rows: estate });
    rg.injectFault({ status: 429, retryAfterSeconds: 1, when: (r) => r.table === "resources" });
    const result = await run(rg);

    assert.deepEqual(result.errors, []);
    const res = pagesOf(rg, "resources");
    assert.deepEqual(
      res.map((r) => r.status),
      [429, 200],
    );
    assert.ok((res[1]?.at ?? 0) - (res[0]?.at ?? 0) >= 950, "waited the Retry-After second");
  });

  void it("recovers from 503s and from a request that never answers", async () => {
    const estate = buildEstate(2, 10);
    const rg = await emulator({ rows: estate });
    rg.injectFault({ status: 503, times: 2, when: (r) => r.table === "resources" && r.page === 1 });
    rg.injectFault({ status: "hang", when: (r) => r.table === "resources" && r.page === 2 });
    // A timeout no loopback answer comes near, even on a loaded machine: only the hang meets it.
    const result = await run(rg, { pageSize: 50, requestTimeoutInMs: 4_000 });

    assert.deepEqual(result.errors, []);
    assert.deepEqual(ids(result.rows), expectedIds(estate));
    const res = pagesOf(rg, "resources");
    assert.deepEqual(
      res.map((r) => [r.page, r.status]),
      [
        [1, 503],
        [1, 503],
        [1, 200],
        [2, "hang"],
        [2, 200],
        [3, 200],
      ],
    );
    const retries = result.logs.filter((l) => l.msg === "resource graph: retrying page");
    assert.ok(retries.some((r) => r.timedOut === true));
  });

  void it("a Resource Graph that will not serve subscription names still gives a complete audit", async () => {
    const estate = buildEstate(2, 10);
    const rg = await emulator({ rows: estate });
    rg.injectFault({ status: 400, times: Infinity, when: (r) => r.table === "resourcecontainers" });
    const subs = [...new Set(estate.map((r) => r.subscriptionId).filter(Boolean))] as string[];
    const result = await run(rg, { subscriptions: subs, retry: { maxRetries: 0 } });

    assert.deepEqual(
      result.errors,
      [],
      "names are cosmetic; the resources answer proves the scope",
    );
    const resources = estate.filter((r) => r.type !== "microsoft.resources/subscriptions");
    assert.deepEqual(ids(result.rows), expectedIds(resources));
    assert.ok(
      result.logs.some((l) => l.msg === "resource graph: subscription names could not be read"),
    );
  });

  void it("reports a page that keeps failing, keeps what it read, and does not retry forever", async () => {
    const estate = buildEstate(1, 30); // pages of 100: 100 + 80
    const rg = await emulator({ rows: estate });
    rg.injectFault({
      status: 503,
      times: Infinity,
      when: (r) => r.table === "resources" && r.page === 2,
    });
    const result = await run(rg, {
      pageSize: 100,
      retry: { maxRetries: 2, baseDelayInMs: 50, maxDelayInMs: 200 },
    });

    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0]?.code, "PAGE_NOT_READABLE");
    assert.match(result.errors[0]?.message ?? "", /page 2.*503/);
    assert.equal(pagesOf(rg, "resources").filter((r) => r.page === 2).length, 3);
    // Page 1 (100 resources) and the subscription row were still delivered.
    assert.equal(result.rows.length, 101);
  });

  void it("reports a management-group scope that Resource Graph cut short", async () => {
    const estate = buildEstate(3, 2);
    const rg = await emulator({
      rows: estate,
      managementGroups: { "mg-landing-zones": [1, 2, 3].map(subscriptionId) },
      scopeSubscriptionLimit: 2,
    });
    const result = await run(rg, { managementGroups: ["mg-landing-zones"] });

    assert.ok(rg.requests.every((r) => r.allowPartialScopes === true));
    assert.ok(rg.requests.every((r) => r.managementGroups?.[0] === "mg-landing-zones"));
    const partial = result.errors.filter((e) => e.code === "SCOPE_PARTIAL");
    assert.equal(partial.length, 1, "reported once for the scope");
    assert.equal(partial[0]?.target, "mg-landing-zones");
    assert.deepEqual(ids(result.rows), expectedIds(estate, [1, 2].map(subscriptionId)));
  });

  void it("reports subscriptions the identity cannot read, and batches that name none it can", async () => {
    const estate = buildEstate(3, 2);
    const rg = await emulator({ rows: estate, inaccessibleSubscriptions: [subscriptionId(2)] });
    const result = await run(rg, {
      subscriptions: [subscriptionId(1), subscriptionId(2)],
    });
    assert.deepEqual(
      result.errors.map((e) => [e.code, e.target]),
      [["SCOPE_NOT_READABLE", `/subscriptions/${subscriptionId(2)}`]],
    );
    assert.deepEqual(ids(result.rows), expectedIds(estate, [subscriptionId(1)]));

    const none = await run(rg, { subscriptions: [subscriptionId(2)] });
    assert.equal(none.rows.length, 0);
    assert.equal(none.errors.length, 1);
    assert.equal(none.errors[0]?.code, "SCOPE_NOT_READABLE");
    assert.match(none.errors[0]?.message ?? "", /NoValidSubscriptionsInQueryRequest/);
  });

  void it("batches long subscription lists into requests the service accepts", async () => {
    const many = Array.from({ length: 2500 }, (_, i) => subscriptionId(i + 1));
    const estate = [
      ...buildEstate(2500, 0),
      ...buildEstate(3, 1).filter((r) => r.type !== "microsoft.resources/subscriptions"),
    ];
    const rg = await emulator({ rows: estate, maxSubscriptionsPerRequest: 1000 });
    const result = await run(rg, { subscriptions: many.map((s) => s.toUpperCase()) });

    assert.deepEqual(result.errors, []);
    assert.deepEqual(ids(result.rows), expectedIds(estate));
    for (const table of ["resources", "resourcecontainers"]) {
      const reqs = pagesOf(rg, table);
      assert.deepEqual(
        reqs.map((r) => r.subscriptions?.length),
        [1000, 1000, 500],
      );
      assert.equal(new Set(reqs.flatMap((r) => r.subscriptions ?? [])).size, 2500);
      assert.ok(reqs.every((r) => r.status === 200 && r.allowPartialScopes === null));
    }
  });

  void it("uses the sovereign cloud's token audience, and armEndpoint overrides the endpoint", async () => {
    const estate = buildEstate(1, 2);
    const rg = await emulator({
      rows: estate,
      checkToken: (t) =>
        identity.issued.get(t) === "https://management.usgovcloudapi.net"
          ? null
          : `token audience ${identity.issued.get(t)} is not US Government ARM`,
    });
    const result = await run(rg, { cloud: "AzureUSGovernment" });

    assert.deepEqual(result.errors, []);
    assert.deepEqual(ids(result.rows), expectedIds(estate));
    assert.deepEqual(result.inputs, [`${rg.url}/providers/Microsoft.ResourceGraph/resources`]);
    assert.ok(rg.requests.every((r) => r.status === 200));
  });

  void it("fails with a SourceError when no token can be had", async () => {
    const estate = buildEstate(1, 1);
    const rg = await emulator({ rows: estate });
    const result = await runSourceInChild(
      { cloud: "AzureCloud", armEndpoint: rg.url, retry: { maxRetries: 1, baseDelayInMs: 10 } },
      {
        NODE_EXTRA_CA_CERTS: tls.caFile,
        IDENTITY_ENDPOINT: identity.url,
        IDENTITY_HEADER: "wrong-secret",
      },
    );
    assert.equal(result.thrown?.name, "SourceError");
    assert.equal(rg.requests.length, 0, "nothing reached Resource Graph without a token");
  });
});
