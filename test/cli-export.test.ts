/**
 * kms-route-audit export: the real binary in a child process, the real DefaultAzureCredential
 * (loopback managed identity) and ResourceGraphClient against the Resource Graph emulator. Every
 * page is written; a throttled page is retried; a page that stays unreadable fails the command
 * (exit 3) and leaves only FILE.partial, which ends with the incomplete marker and which
 * `scan --input` reports as incomplete.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ArmRow } from "../src/inventory/arm-row.js";
import type { ScanResult } from "../src/model.js";
import {
  startResourceGraphEmulator,
  type ResourceGraphEmulator,
  type ResourceGraphEmulatorOptions,
} from "../kit/emulators/resource-graph.js";
import { describeRun, runCli } from "./support/cli-process.js";
import { startIdentityEndpoint, type IdentityEndpoint } from "../kit/support/identity-endpoint.js";
import { syntheticEstate } from "../kit/estates/synthetic.js";
import { createLoopbackCertificate, type LoopbackCertificate } from "../kit/support/tls.js";

const SUBSCRIPTION_TYPE = "microsoft.resources/subscriptions";

let tls: LoopbackCertificate;
let identity: IdentityEndpoint;
let tmp: string;
let rows: ArmRow[];
const emulators: ResourceGraphEmulator[] = [];

before(async () => {
  [tls, identity, tmp] = await Promise.all([
    createLoopbackCertificate(),
    startIdentityEndpoint(),
    mkdtemp(path.join(tmpdir(), "kms-export-")),
  ]);
  // ~3,400 rows: 4 pages of resources and one of subscriptions.
  rows = syntheticEstate({ subnets: 1200 });
});

after(async () => {
  await Promise.all(emulators.map((e) => e.close()));
  await identity.close();
  await tls.dispose();
  await rm(tmp, { recursive: true, force: true });
});

async function emulator(
  options: Omit<ResourceGraphEmulatorOptions, "isValidToken" | "rows"> = {},
): Promise<ResourceGraphEmulator> {
  const e = await startResourceGraphEmulator({
    rows,
    isValidToken: (t) => identity.isValidToken(t),
    ...options,
  });
  emulators.push(e);
  return e;
}

function cli(rg: ResourceGraphEmulator | null, args: string[]) {
  return runCli(
    args,
    {
      NODE_EXTRA_CA_CERTS: tls.caFile,
      ...identity.env(),
      ...(rg ? { KMS_AUDIT_ARM_ENDPOINT: rg.url } : {}),
    },
    { cwd: tmp },
  );
}

async function linesOf(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, "utf8");
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const pagesOf = (rg: ResourceGraphEmulator, table: string) =>
  rg.requests.filter((r) => r.table === table && r.status === 200);

describe("kms-route-audit export (Resource Graph emulator)", () => {
  it("writes every page as NDJSON; the export scans exactly like the estate itself", async () => {
    const rg = await emulator();
    const out = path.join(tmp, "estate.ndjson");
    const r = await cli(rg, ["export", "--output", out]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stderr, "", "nothing on stderr off a terminal");
    assert.equal(r.stdout, `exported ${rows.length} rows to ${out}\n`);
    assert.ok(!existsSync(`${out}.partial`), "the partial file became the output");

    const written = await linesOf(out);
    assert.equal(written.length, rows.length, "every row once");
    assert.deepEqual(
      new Set(written.map((w) => String(w.id).toLowerCase())),
      new Set(rows.map((row) => row.id.toLowerCase())),
    );
    const resources = rows.filter((row) => row.type.toLowerCase() !== SUBSCRIPTION_TYPE).length;
    assert.ok(resources > 3000, `${resources} resource rows: several pages`);
    assert.equal(pagesOf(rg, "resources").length, Math.ceil(resources / 1000), "every page read");
    assert.equal(pagesOf(rg, "resourcecontainers").length, 1);

    const original = path.join(tmp, "original.json");
    await writeFile(original, JSON.stringify(rows));
    const [fromExport, fromOriginal] = await Promise.all([
      cli(null, ["scan", "--format", "json", "--input", out]),
      cli(null, ["scan", "--format", "json", "--input", original]),
    ]);
    assert.equal(fromExport.code, 0, describeRun(fromExport));
    const a = JSON.parse(fromExport.stdout) as ScanResult;
    const b = JSON.parse(fromOriginal.stdout) as ScanResult;
    assert.deepEqual(a.run.counts, b.run.counts);
    assert.ok(a.run.counts.total > 1200);
  });

  it("a throttled page (429 without Retry-After) is retried and the export completes", async () => {
    const rg = await emulator({ quota: { limit: 100, windowInMs: 500 } });
    rg.injectFault({ status: 429, times: 1, when: (q) => q.table === "resources" && q.page === 2 });
    const out = path.join(tmp, "throttled.ndjson");
    const r = await cli(rg, ["export", "--output", out]);
    assert.equal(r.code, 0, describeRun(r));
    const page2 = rg.requests.filter((q) => q.table === "resources" && q.page === 2);
    assert.deepEqual(
      page2.map((q) => q.status),
      [429, 200],
      "page 2 throttled once, then read",
    );
    assert.equal((await linesOf(out)).length, rows.length);
  });

  it("a page that stays unreadable: exit 3, FILE not written, FILE.partial marked incomplete", async () => {
    const rg = await emulator();
    rg.injectFault({
      status: 503,
      retryAfterSeconds: 0,
      times: Infinity,
      when: (q) => q.table === "resources" && q.page === 3,
    });
    const out = path.join(tmp, "broken.ndjson");
    const r = await cli(rg, ["export", "--output", out]);
    assert.equal(r.code, 3, describeRun(r));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^kms-route-audit: export incomplete: PAGE_NOT_READABLE /);
    assert.match(r.stderr, /broken\.ndjson not written; the 2\d{3} rows read are in .*\.partial/);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    assert.ok(!existsSync(out), "no file that looks complete");
    assert.ok(
      rg.requests.filter((q) => q.page === 3).length > 1,
      "the failing page was retried before giving up",
    );

    const partial = await linesOf(`${out}.partial`);
    const marker = partial.at(-1);
    assert.equal(marker?.type, "kms-route-audit/exportincomplete");
    const properties = marker?.properties as { rows: number; errors: { code: string }[] };
    assert.equal(properties.rows, partial.length - 1);
    assert.deepEqual(
      properties.errors.map((e) => e.code),
      ["PAGE_NOT_READABLE"],
    );

    const scanned = await cli(null, ["scan", "--format", "json", "--input", `${out}.partial`]);
    assert.equal(scanned.code, 3, describeRun(scanned));
    const result = JSON.parse(scanned.stdout) as ScanResult;
    assert.equal(result.run.complete, false);
    assert.equal(result.run.errors[0]?.code, "INPUT_TRUNCATED");
    assert.match(result.run.errors[0]?.message ?? "", /incomplete kms-route-audit export/);
  });

  it("usage: --output is required and must be a file", async () => {
    const missing = await cli(null, ["export"]);
    assert.equal(missing.code, 2, describeRun(missing));
    assert.match(missing.stderr, /--output/);
    const stdout = await cli(null, ["export", "--output", "-"]);
    assert.equal(stdout.code, 2, describeRun(stdout));
    assert.match(stdout.stderr, /^kms-route-audit: --output: name a file/);
  });
});

describe("scan: an input with no subnet to audit", () => {
  it("is an input error (exit 2, one line), never a clean run", async () => {
    const noVnets = rows.filter((row) => row.type.toLowerCase() === SUBSCRIPTION_TYPE);
    const file = path.join(tmp, "subscriptions-only.json");
    await writeFile(file, JSON.stringify(noVnets));
    const r = await cli(null, ["scan", "--input", file]);
    assert.equal(r.code, 2, describeRun(r));
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      new RegExp(
        `^kms-route-audit: .*subscriptions-only\\.json: no subnet to audit in ${noVnets.length} rows read; `,
      ),
    );
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });

  it("a live scope that could not be read stays incomplete (exit 3), not an input error", async () => {
    const rg = await emulator();
    const r = await cli(rg, ["scan", "--subscription", "00000000-0000-4000-8000-000000000099"]);
    // That subscription is not in the estate: the run is incomplete (exit 3), not an input error.
    assert.equal(r.code, 3, describeRun(r));
  });
});
