/**
 * Issue 15, item 2: Resource Graph pages that are not what they claim. Each fault is injected by
 * the loopback emulator and read by the real ResourceGraphClient (child process, real
 * DefaultAzureCredential): the run must become incomplete with a named error, never pass a broken
 * page off as an empty one, and paging must always end.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ScanResult } from "../src/model.js";
import type { ResourceGraphSourceOptions } from "../src/sources/resource-graph/index.js";
import {
  startResourceGraphEmulator,
  type PageFault,
  type ResourceGraphEmulator,
} from "../kit/emulators/resource-graph.js";
import { describeRun, runCli } from "./support/cli-process.js";
import { buildEstate, expectedIds } from "./support/estate.js";
import { startIdentityEndpoint, type IdentityEndpoint } from "../kit/support/identity-endpoint.js";
import { runSourceInChild, type ChildRun } from "../kit/support/source-process.js";
import { createLoopbackCertificate, type LoopbackCertificate } from "../kit/support/tls.js";

let tls: LoopbackCertificate;
let identity: IdentityEndpoint;
let tmp: string;
const emulators: ResourceGraphEmulator[] = [];

before(async () => {
  [tls, identity, tmp] = await Promise.all([
    createLoopbackCertificate(),
    startIdentityEndpoint(),
    mkdtemp(path.join(tmpdir(), "kms-rg-faults-")),
  ]);
});

after(async () => {
  await Promise.all(emulators.map((e) => e.close()));
  await identity.close();
  await tls.dispose();
  await rm(tmp, { recursive: true, force: true });
});

// One subscription, 180 audited resources: 2 pages of 100 (100 + 80).
const estate = buildEstate(1, 30);

async function emulator(): Promise<ResourceGraphEmulator> {
  const e = await startResourceGraphEmulator({
    rows: estate,
    isValidToken: (t) => identity.isValidToken(t),
  });
  emulators.push(e);
  return e;
}

/** The real source in a child process; retries quick and few (their timing is not tested here). */
function read(
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
      pageSize: 100,
      retry: { maxRetries: 1, baseDelayInMs: 1, maxDelayInMs: 5 },
      ...options,
    },
    { NODE_EXTRA_CA_CERTS: tls.caFile, ...identity.env() },
  );
}

const resourcePages = (rg: ResourceGraphEmulator) =>
  rg.requests.filter((r) => r.table === "resources");

void describe("Resource Graph pages that are not what they claim", () => {
  const malformed: [PageFault, RegExp][] = [
    ["html", /page 2 failed: HTTP 200/],
    ["not-json", /page 2 failed: HTTP 200/],
    ["data-object", /'data' is an object/],
    ["no-data", /no 'data'/],
    ["table", /table format/],
  ];
  for (const [fault, message] of malformed) {
    void it(`a 200 page that is ${fault}: PAGE_MALFORMED after a retry, the run incomplete`, async () => {
      const rg = await emulator();
      rg.injectFault({
        status: 200,
        page: fault,
        times: Infinity,
        when: (r) => r.table === "resources" && r.page === 2,
      });
      const result = await read(rg);

      assert.equal(result.thrown, null, JSON.stringify(result.thrown));
      assert.deepEqual(
        result.errors.map((e) => e.code),
        ["PAGE_MALFORMED"],
        JSON.stringify(result.errors),
      );
      assert.match(result.errors[0]!.message, /resources query, tenant, page 2 failed/);
      assert.match(result.errors[0]!.message, message);
      assert.equal(result.errors[0]!.target, "tenant");
      // Tried twice (maxRetries 1), then given up; page 1 was kept.
      assert.equal(resourcePages(rg).filter((r) => r.page === 2).length, 2);
      assert.equal(
        result.rows.filter((r) => r.type !== "microsoft.resources/subscriptions").length,
        100,
      );
    });
  }

  void it("a page that recovers after one malformed answer: complete, every row", async () => {
    const rg = await emulator();
    rg.injectFault({ status: 200, page: "html", when: (r) => r.table === "resources" });
    const result = await read(rg);
    assert.deepEqual(result.errors, []);
    assert.equal(result.rows.length, expectedIds(estate).length);
  });

  void it("rows without a string id or type: left out, PAGE_MALFORMED names how many", async () => {
    const rg = await emulator();
    rg.injectFault({
      status: 200,
      page: "rows-without-id",
      when: (r) => r.table === "resources" && r.page === 1,
    });
    const result = await read(rg);
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ["PAGE_MALFORMED"],
    );
    // Page 1: 100 rows, 49 lose their id (odd indexes but 1) and 1 its type.
    assert.match(result.errors[0]!.message, /50 rows without a string 'id' and 'type'.*page 1/);
    assert.ok(result.rows.every((r) => typeof r.id === "string" && typeof r.type === "string"));
    assert.equal(result.rows.length, expectedIds(estate).length - 50);
  });

  void it("totalRecords larger than what paging delivered, and no skip token: PAGE_INCOMPLETE", async () => {
    const rg = await emulator();
    rg.injectFault({
      status: 200,
      page: "total-too-large",
      when: (r) => r.table === "resources" && r.page === 1,
    });
    const result = await read(rg);
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ["PAGE_INCOMPLETE"],
    );
    assert.match(result.errors[0]!.message, /after 100 of the 5000 rows/);
    assert.equal(resourcePages(rg).length, 1, "no page after the one without a skip token");
  });

  void it("the same skip token again and again: paging stops at the repeat (PAGING_STOPPED)", async () => {
    const rg = await emulator();
    rg.injectFault({
      status: 200,
      page: "same-skip-token",
      times: Infinity,
      when: (r) => r.table === "resources",
    });
    const result = await read(rg);
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ["PAGING_STOPPED"],
    );
    assert.match(result.errors[0]!.message, /skip token of an earlier page/);
    assert.equal(resourcePages(rg).length, 2);
  });

  void it("a new skip token forever for the same rows: paging stops past totalRecords", async () => {
    const rg = await emulator();
    rg.injectFault({
      status: 200,
      page: "new-skip-token",
      times: Infinity,
      when: (r) => r.table === "resources",
    });
    const result = await read(rg);
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ["PAGING_STOPPED"],
    );
    assert.match(result.errors[0]!.message, /200 rows read, more than the 180/);
    assert.equal(resourcePages(rg).length, 2);
  });

  void it("a new skip token forever without totalRecords: the page cap stops it", async () => {
    const rg = await emulator();
    rg.injectFault({
      status: 200,
      page: "new-skip-token-no-total",
      times: Infinity,
      when: (r) => r.table === "resources",
    });
    const result = await read(rg, { maxPages: 7 });
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ["PAGING_STOPPED"],
    );
    assert.match(result.errors[0]!.message, /after 7 pages/);
    assert.equal(resourcePages(rg).length, 7);
  });

  void it("empty pages with a new skip token forever: paging stops after three", async () => {
    const rg = await emulator();
    rg.injectFault({
      status: 200,
      page: "empty-new-token",
      times: Infinity,
      when: (r) => r.table === "resources",
    });
    const result = await read(rg);
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ["PAGING_STOPPED"],
    );
    assert.match(result.errors[0]!.message, /3 pages in a row held no rows/);
    assert.equal(resourcePages(rg).length, 3);
  });

  void it("the CLI: a page short of its totalRecords makes the scan incomplete, exit 3, the error named", async () => {
    const rg = await emulator();
    rg.injectFault({ status: 200, page: "total-too-large", when: (r) => r.table === "resources" });
    const r = await runCli(
      ["scan", "--format", "json"],
      {
        NODE_EXTRA_CA_CERTS: tls.caFile,
        ...identity.env(),
        KMS_AUDIT_ARM_ENDPOINT: rg.url,
        // The resources query that reads every row, as the paging tests above.
        KMS_AUDIT_IMPACT_READ: "rows",
      },
      { cwd: tmp },
    );
    assert.equal(r.code, 3, describeRun(r));
    const result = JSON.parse(r.stdout) as ScanResult;
    assert.equal(result.run.complete, false);
    assert.deepEqual(
      result.run.errors.map((e) => e.code),
      ["PAGE_INCOMPLETE"],
    );
    assert.match(r.stdout, /after 180 of the 5000 rows/);
  });
});
