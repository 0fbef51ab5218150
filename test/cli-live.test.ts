/**
 * The CLI's live mode end to end: the real binary (dist/src/cli/bin.js) in a child process, with
 * the real DefaultAzureCredential (loopback App Service managed identity) and the real
 * ResourceGraphClient against the loopback Resource Graph emulator (HTTPS, trusted through
 * NODE_EXTRA_CA_CERTS). Only 127.0.0.1 is contacted.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ArmRow } from "../src/inventory/arm-row.js";
import type { Finding, ScanResult } from "../src/model.js";
import {
  startResourceGraphEmulator,
  type RecordedRequest,
  type ResourceGraphEmulator,
  type ResourceGraphEmulatorOptions,
} from "../kit/emulators/resource-graph.js";
import { BIN, describeRun, runCli, type CliRun } from "./support/cli-process.js";
import { nicRowNeeded, vmTagged } from "../kit/emulators/resource-graph-queries.js";
import { armEmulatorFor, startArmFrontDoor } from "./support/arm-front-door.js";
import {
  IMPACT_TOTALS_QUERY,
  NEXT_HOP_NICS_QUERY,
  RESOURCE_TABLE_TYPES,
  RESOURCES_WITHOUT_IMPACT_QUERY,
  RULE_COLLECTION_GROUPS_QUERY,
  SUBSCRIPTIONS_QUERY,
} from "../src/sources/resource-graph/queries.js";
import { startIdentityEndpoint, type IdentityEndpoint } from "../kit/support/identity-endpoint.js";
import { EstateBuilder, HUB_FIREWALL_IP, SUB, findingFor } from "./support/estate-builder.js";
import { syntheticEstate } from "../kit/estates/synthetic.js";
import { createLoopbackCertificate, type LoopbackCertificate } from "../kit/support/tls.js";
import { HANG_GUARD_MS } from "../kit/support/hang-guard.js";

const DEMO = fileURLToPath(new URL("../../samples/demo-estate.json", import.meta.url));
const PUBLIC_ARM = "https://management.azure.com";
const US_GOV_ARM = "https://management.usgovcloudapi.net";
const HUB = "1b7e3a52-5d2c-4f0e-9a61-0c1f2d3e4a01";
const PROD = "2c8f4b63-6e3d-4a1f-8b72-1d2e3f4a5b02";
const DEV = "3d9a5c74-7f4e-4b2a-9c83-2e3f4a5b6c03";
const ONLINE = "4e0b6d85-8a5f-4c3b-8d94-3f4a5b6c7d04";
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const SUBSCRIPTION_TYPE = "microsoft.resources/subscriptions";
const NIC_TYPE = "microsoft.network/networkinterfaces";
const VM_TYPE = "microsoft.compute/virtualmachines";
const RULE_COLLECTION_GROUP_TYPE = "microsoft.network/firewallpolicies/rulecollectiongroups";

let tls: LoopbackCertificate;
let identity: IdentityEndpoint;
let tmp: string;
let demoRows: ArmRow[];
const emulators: { close(): Promise<void> }[] = [];
/** The Resource Manager endpoint of each Resource Graph emulator: a front door that also serves
 * the ARM lists Resource Graph lacks (Virtual WAN hub connections, routing intent). */
const endpoints = new Map<ResourceGraphEmulator, string>();

before(async () => {
  [tls, identity, tmp] = await Promise.all([
    createLoopbackCertificate(),
    startIdentityEndpoint(),
    mkdtemp(path.join(tmpdir(), "kms-cli-live-")),
  ]);
  demoRows = JSON.parse(await readFile(DEMO, "utf8")) as ArmRow[];
});

after(async () => {
  await Promise.all(emulators.map((e) => e.close()));
  await identity.close();
  await tls.dispose();
  await rm(tmp, { recursive: true, force: true });
});

/** An emulator that accepts only tokens the loopback identity issued for `audience`. */
async function emulator(
  options: Omit<ResourceGraphEmulatorOptions, "isValidToken">,
  audience = PUBLIC_ARM,
): Promise<ResourceGraphEmulator> {
  const e = await startResourceGraphEmulator({
    isValidToken: (t) => identity.isValidToken(t),
    checkToken: (t) =>
      identity.issued.get(t) === audience
        ? null
        : `token for ${identity.issued.get(t)}, expected ${audience}`,
    ...options,
  });
  const arm = await armEmulatorFor(options.rows);
  const door = await startArmFrontDoor({ resourceGraph: e, network: arm });
  emulators.push(door, arm, e);
  endpoints.set(e, door.url);
  return e;
}

function live(
  rg: ResourceGraphEmulator,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  return runCli(
    ["scan", "--format", "json", ...args],
    {
      NODE_EXTRA_CA_CERTS: tls.caFile,
      ...identity.env(),
      KMS_AUDIT_ARM_ENDPOINT: endpoints.get(rg)!,
      ...env,
    },
    { cwd: tmp },
  );
}

let fileCounter = 0;
async function offline(rows: ArmRow[], args: string[] = []): Promise<ScanResult> {
  const file = path.join(tmp, `estate-${++fileCounter}.json`);
  await writeFile(file, JSON.stringify(rows));
  const r = await runCli(["scan", "--format", "json", "--input", file, ...args], {}, { cwd: tmp });
  assert.equal(r.code, 0, describeRun(r));
  return JSON.parse(r.stdout) as ScanResult;
}

function parse(r: CliRun, code: number): ScanResult {
  assert.equal(r.code, code, describeRun(r));
  return JSON.parse(r.stdout) as ScanResult;
}

const byId = (a: Finding, b: Finding) =>
  a.subnetId.toLowerCase() < b.subnetId.toLowerCase() ? -1 : 1;

/** Every verdict, reason, missing route, endpoint, impact and fix: identical, subnet by subnet. */
function assertSameVerdicts(liveResult: ScanResult, offlineResult: ScanResult): void {
  assert.equal(liveResult.findings.length, offlineResult.findings.length, "same subnets");
  const a = [...liveResult.findings].sort(byId);
  const b = [...offlineResult.findings].sort(byId);
  for (let i = 0; i < a.length; i++) {
    const [l, o] = [a[i]!, b[i]!];
    assert.equal(l.subnetId, o.subnetId);
    assert.equal(l.status, o.status, l.subnetId);
    assert.deepEqual(l.reasons, o.reasons, l.subnetId);
    assert.deepEqual(l.missingRoutes, o.missingRoutes, l.subnetId);
    assert.deepEqual(l.endpoints, o.endpoints, l.subnetId);
  }
  // And everything else about each finding (impact, names, remediation, summary) as well.
  assert.deepEqual(a, b);
  assert.deepEqual(liveResult.run.counts, offlineResult.run.counts);
}

function resourceRowCount(rows: ArmRow[], subscriptions?: string[]) {
  const keep = (r: ArmRow) =>
    !subscriptions || subscriptions.includes(String(r.subscriptionId).toLowerCase());
  const resources = rows.filter((r) => r.type.toLowerCase() !== SUBSCRIPTION_TYPE && keep(r));
  const containers = rows.filter((r) => r.type.toLowerCase() === SUBSCRIPTION_TYPE && keep(r));
  return { resources: resources.length, containers: containers.length };
}

/** Rows the default resources query returns: NICs and VMs only where a path needs them. */
function readByResourcesQuery(r: ArmRow): boolean {
  const type = r.type.toLowerCase();
  if (type === NIC_TYPE) return nicRowNeeded(r);
  if (type === VM_TYPE) return vmTagged(r, "kms-route-audit-egress");
  return RESOURCE_TABLE_TYPES.includes(type);
}

/**
 * The fewest pages the default read can take: subscriptions; the resources query (every audited
 * row but the NICs and VMs no path needs); rule collection groups; the next-hop NICs; the impact
 * totals; one page per impact partition (800 VNets each) when there are NICs.
 */
function assertMinimumPages(rg: ResourceGraphEmulator, rows: ArmRow[]) {
  const n = resourceRowCount(rows);
  const pages = (q: string) => rg.requests.filter((r) => r.query === q).length;
  const nics = rows.filter((r) => r.type.toLowerCase() === NIC_TYPE);
  const needed = rows.filter(readByResourcesQuery).length;
  const groups = rows.filter((r) => r.type.toLowerCase() === RULE_COLLECTION_GROUP_TYPE).length;
  const vnets = new Set(
    nics.map((r) => {
      const subnet = String(
        (r.properties as { ipConfigurations?: { properties?: { subnet?: { id?: string } } }[] })
          ?.ipConfigurations?.[0]?.properties?.subnet?.id,
      ).toLowerCase();
      return subnet.slice(0, subnet.indexOf("/subnets/"));
    }),
  ).size;
  const partitions = nics.length > 0 ? Math.ceil(vnets / 800) : 0;
  assert.equal(
    pages(RESOURCES_WITHOUT_IMPACT_QUERY),
    Math.max(1, Math.ceil(needed / 1000)),
    "resources pages",
  );
  assert.equal(
    pages(SUBSCRIPTIONS_QUERY),
    Math.ceil(n.containers / 1000),
    "resourcecontainers pages",
  );
  assert.equal(pages(RULE_COLLECTION_GROUPS_QUERY), Math.max(1, Math.ceil(groups / 1000)));
  assert.equal(pages(NEXT_HOP_NICS_QUERY), 1);
  assert.equal(pages(IMPACT_TOTALS_QUERY), 1);
  const partitionPages = rg.requests.filter((r) =>
    r.query.includes("hash(virtualNetworkId"),
  ).length;
  assert.equal(partitionPages, partitions, "one page per impact partition");
  assert.equal(
    rg.requests.length,
    pages(RESOURCES_WITHOUT_IMPACT_QUERY) +
      pages(SUBSCRIPTIONS_QUERY) +
      pages(RULE_COLLECTION_GROUPS_QUERY) +
      2 +
      partitionPages,
    "no other request",
  );
  for (const r of rg.requests) {
    assert.equal(r.status, 200, `${r.table} page ${r.page}: ${r.outcome}`);
    assert.equal(r.top, 1000, "full pages");
  }
}

void describe("kms-route-audit scan, live (real binary, Resource Graph emulator)", () => {
  void it("demo estate: verdicts identical to --input, minimum pages, clean stderr off a terminal", async () => {
    const rg = await emulator({ rows: demoRows });
    const [r, fromFile] = await Promise.all([live(rg, []), offline(demoRows)]);
    const result = parse(r, 0);

    assert.equal(r.stderr, "", "no progress or logs when stderr is not a terminal");
    assert.equal(result.run.complete, true);
    assert.deepEqual(result.run.errors, []);
    assert.equal(result.run.source.kind, "resource-graph");
    assert.deepEqual(result.run.source.inputs, [
      `${endpoints.get(rg)}/providers/Microsoft.ResourceGraph/resources`,
    ]);
    assert.deepEqual(result.run.scope, { subscriptions: [], managementGroups: [] });
    assert.equal(result.run.counts.total, 34);
    assertSameVerdicts(result, fromFile);
    assertMinimumPages(rg, demoRows);
    for (const q of rg.requests) assert.equal(q.subscriptions, null, "tenant scope");
    assert.ok(identity.requests.some((q) => q.resource === PUBLIC_ARM));
  });

  void it("a few thousand subnets at 3 queries per 2 s: identical verdicts, minimum pages, no 429, paced near the quota bound", async () => {
    // 3,400 subnets: a few pages of resource rows, then the impact queries: more queries than two
    // quota windows hold, so the run is bounded by the windows alone.
    const rows = syntheticEstate({ subnets: 3400 });
    const windowInMs = 2_000;
    const limit = 3;
    const rg = await emulator({ rows, quota: { limit, windowInMs } });
    // Info logs on stderr: the client's pacing decisions are checked, not the clock.
    const r = await live(rg, [], { KMS_AUDIT_LOG_LEVEL: "info" });
    const result = parse(r, 0);
    const fromFile = await offline(rows);

    assert.equal(result.run.complete, true, JSON.stringify(result.run.errors));
    assert.ok(result.run.counts.total > 3400, `${result.run.counts.total} subnets`);
    for (const status of ["NonCompliant", "Unverified", "Exempt", "Compliant"] as const)
      assert.ok(result.run.counts[status] > 100, `a real mix: ${status}`);
    assertSameVerdicts(result, fromFile);

    assertMinimumPages(rg, rows);
    assert.equal(rg.throttled, 0, "never ran into the quota");
    const queries = rg.requests.length;
    const windows = Math.ceil(queries / limit);
    assert.ok(windows >= 3, `${queries} queries take ${windows} quota windows`);
    // The quota alone forces the last query to wait that many full windows but one after the
    // first (a lower bound: a slower machine only takes longer).
    const bound = (windows - 1) * windowInMs;
    const at = (i: number) => (rg.requests[i] as RecordedRequest).at - rg.requests[0]!.at;
    assert.ok(at(limit) >= windowInMs - 20, `second window began at ${at(limit)} ms`);
    assert.ok(
      at(queries - 1) >= bound - 20,
      `the last query came ${at(queries - 1)} ms after the first`,
    );
    // Near the bound: the client waits only when the window is spent (once per window at most),
    // each time for the reported reset plus the margin (50 ms + 2%), never longer.
    const waits = r.stderr
      .split("\n")
      .filter((line) => line.includes("waiting for the query quota to reset"))
      .map((line) => (JSON.parse(line) as { waitInMs: number }).waitInMs);
    assert.ok(waits.length <= windows - 1, `${waits.length} waits`);
    for (const w of waits) assert.ok(w > 0 && w <= windowInMs * 1.02 + 51, `a wait of ${w} ms`);
  });

  // Issue 11, deliverable 1: the live query reads what the path needs from the resources table
  // (Azure Firewalls, public IPs, NAT gateways, ...), so a live scan judges like the same rows offline.
  void it("the path's resources (Azure Firewall, public IP, NAT gateway) are read live as offline", async () => {
    const b = new EstateBuilder();
    const hub = b.hubFirewall();
    const rt = b.routeTable("rt-spoke", [
      ["0.0.0.0/0", "VirtualAppliance", "to-fw", HUB_FIREWALL_IP],
    ]);
    const nat = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/natGateways/ng-spoke`;
    b.vnet(
      "vnet-spoke",
      [
        { name: "snet-via-firewall", routeTable: rt, addressPrefix: "10.1.0.0/24" },
        {
          name: "snet-private-nat",
          addressPrefix: "10.1.1.0/24",
          defaultOutboundAccess: false,
          natGateway: nat,
        },
      ],
      { addressPrefixes: ["10.1.0.0/16"], peerings: [{ remote: hub, useRemoteGateways: false }] },
    );
    b.add({
      id: nat,
      name: "ng-spoke",
      type: "microsoft.network/natgateways",
      location: "westeurope",
      properties: { publicIpAddresses: [{ id: `${nat}-pip` }] },
    });
    const rows = b.rows.map((r) => ({ ...r, subscriptionId: SUB, resourceGroup: "rg-net" }));
    const rg = await emulator({ rows });
    const [r, fromFile] = await Promise.all([live(rg, []), offline(rows)]);
    const result = parse(r, 0);
    // Offline, both subnets reach KMS (DESIGN.md section 3, rule 2): through the firewall that
    // allows TCP 1688 and egresses with its public IP, and through the NAT gateway.
    assert.equal(findingFor(fromFile.findings, "snet-via-firewall").status, "Compliant");
    assert.deepEqual(findingFor(fromFile.findings, "snet-via-firewall").reasons, [
      "REACHABLE_VIA_FIREWALL",
    ]);
    assert.equal(findingFor(fromFile.findings, "snet-private-nat").status, "Compliant");
    assertSameVerdicts(result, fromFile);
  });

  void it("--subscription narrows the scope (request body, not query text) and overrides KMS_AUDIT_SUBSCRIPTIONS", async () => {
    const rg = await emulator({
      rows: demoRows,
      managementGroups: { "mg-corp": [PROD, DEV] },
    });
    const scoped = demoRows.filter((r) =>
      [PROD, DEV].includes(String(r.subscriptionId).toLowerCase()),
    );
    const [r, fromFile] = await Promise.all([
      live(rg, ["--subscription", PROD, "--subscription", DEV.toUpperCase()], {
        KMS_AUDIT_SUBSCRIPTIONS: HUB,
      }),
      offline(scoped),
    ]);
    const result = parse(r, 0);
    assert.deepEqual(result.run.scope, { subscriptions: [PROD, DEV], managementGroups: [] });
    assert.ok(rg.requests.length >= 2);
    for (const q of rg.requests) {
      assert.deepEqual(q.subscriptions, [PROD, DEV], "the scope travels in the request body");
      assert.equal(q.managementGroups, null);
      assert.doesNotMatch(q.query, GUID, "no subscription in the query text");
    }
    assert.ok(result.findings.every((f) => [PROD, DEV].includes(f.subscriptionId.toLowerCase())));
    assertSameVerdicts(result, fromFile);

    // The settings' scope applies when the command line names none ...
    const before = rg.requests.length;
    parse(await live(rg, [], { KMS_AUDIT_SUBSCRIPTIONS: `${HUB},${ONLINE}` }), 0);
    for (const q of rg.requests.slice(before)) assert.deepEqual(q.subscriptions, [HUB, ONLINE]);

    // ... and --management-group replaces the settings' subscriptions too.
    const mgStart = rg.requests.length;
    const mg = parse(
      await live(rg, ["--management-group", "mg-corp"], { KMS_AUDIT_SUBSCRIPTIONS: HUB }),
      0,
    );
    assert.deepEqual(mg.run.scope, { subscriptions: [], managementGroups: ["mg-corp"] });
    for (const q of rg.requests.slice(mgStart)) {
      assert.deepEqual(q.managementGroups, ["mg-corp"]);
      assert.equal(q.subscriptions, null);
      assert.doesNotMatch(q.query, /mg-corp/);
    }
    assertSameVerdicts(mg, fromFile);
  });

  void it("a subscription the identity cannot read: exit 3, run.complete false, the error names it", async () => {
    const rg = await emulator({ rows: demoRows, inaccessibleSubscriptions: [ONLINE] });
    const readable = demoRows.filter((r) => String(r.subscriptionId).toLowerCase() === PROD);
    const [r, fromFile] = await Promise.all([
      live(rg, ["--subscription", PROD, "--subscription", ONLINE, "--fail-on", "NonCompliant"]),
      offline(readable),
    ]);
    const result = parse(r, 3);
    assert.equal(result.run.complete, false);
    assert.equal(result.run.errors.length, 1, JSON.stringify(result.run.errors));
    const [error] = result.run.errors;
    assert.equal(error?.code, "SCOPE_NOT_READABLE");
    assert.equal(error?.target, `/subscriptions/${ONLINE}`);
    assert.ok(error?.message.includes(ONLINE), error?.message);
    // What could be read is still judged, exactly as offline.
    assertSameVerdicts(result, fromFile);
  });

  void it("--cloud AzureUSGovernment: token for the US Gov ARM audience, US Gov KMS IPs", async () => {
    const rg = await emulator({ rows: demoRows }, US_GOV_ARM);
    const seenBefore = identity.requests.length;
    const [r, fromFile] = await Promise.all([
      live(rg, ["--cloud", "AzureUSGovernment"]),
      offline(demoRows, ["--cloud", "AzureUSGovernment"]),
    ]);
    const result = parse(r, 0);
    assert.equal(result.run.cloud, "AzureUSGovernment");
    // US Gov KMS, and RHUI 4 (Azure Government uses the same servers; judged for RHEL PAYG VMs).
    assert.deepEqual(
      result.run.endpoints.map((e) => `${e.set}:${e.ip}`),
      [
        "kms:52.126.105.2",
        "kms:23.97.0.13",
        ...[
          "52.136.197.163",
          "20.225.226.182",
          "52.142.4.99",
          "20.248.180.252",
          "20.24.186.80",
        ].map((ip) => `rhui:${ip}`),
      ],
    );
    // Every audited subnet is judged against the US Gov KMS IPs (and RHUI where RHEL PAYG runs).
    for (const f of result.findings.filter((x) => x.status !== "NotApplicable"))
      assert.deepEqual(
        f.endpoints.filter((e) => e.set === "kms").map((e) => e.ip),
        ["52.126.105.2", "23.97.0.13"],
      );
    const asked = identity.requests.slice(seenBefore).map((q) => q.resource);
    assert.ok(asked.includes(US_GOV_ARM), `token requests: ${asked.join(", ")}`);
    assert.ok(rg.requests.length > 0 && rg.requests.every((q) => q.status === 200));
    assertSameVerdicts(result, fromFile);

    // The same emulator refuses a public-cloud token: the audience check can fail.
    const wrong = await live(rg, []);
    assert.equal(wrong.code, 3, describeRun(wrong));
    assert.ok(rg.requests.some((q) => q.status === 401));
  });

  void it("bad credentials: exit 3, one stderr line naming the problem, no stack, nothing sent", async () => {
    const rg = await emulator({ rows: demoRows });
    const r = await live(rg, [], { IDENTITY_HEADER: "not-the-secret" });
    assert.equal(r.code, 3, describeRun(r));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^[^\n]+\n$/, `exactly one stderr line, got:\n${r.stderr}`);
    assert.match(
      r.stderr,
      /^kms-route-audit: scan failed: could not get a token for Resource Graph/,
    );
    assert.match(r.stderr, /ManagedIdentityCredential/, "names the credential that failed");
    assert.match(r.stderr, /bad X-IDENTITY-HEADER/, "and why the identity endpoint refused");
    assert.match(r.stderr, /https:\/\/management\.azure\.com\/\.default/, "and the token scope");
    assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
    assert.equal(rg.requests.length, 0, "nothing reached Resource Graph without a token");
  });

  const script = "/usr/bin/script";
  void it(
    "progress on stderr when it is a terminal: pages, rows, subscriptions",
    { skip: existsSync(script) ? false : `${script} (util-linux) is needed for a pseudo-terminal` },
    async () => {
      const rg = await emulator({ rows: demoRows });
      const out = path.join(tmp, "tty-out.json");
      const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const command = [process.execPath, BIN, "scan", "--format", "json", "--output", out]
        .map(quote)
        .join(" ");
      // script(1) runs the command on a pseudo-terminal and copies what it shows to stdout.
      const { stdout } = await promisify(execFile)(script, ["-qefc", command, "/dev/null"], {
        cwd: tmp,
        timeout: HANG_GUARD_MS,
        env: {
          PATH: path.dirname(process.execPath),
          HOME: tmp,
          SHELL: "/bin/sh",
          NO_PROXY: "127.0.0.1,localhost",
          NODE_EXTRA_CA_CERTS: tls.caFile,
          ...identity.env(),
          KMS_AUDIT_ARM_ENDPOINT: endpoints.get(rg)!,
        },
      });
      const result = JSON.parse(await readFile(out, "utf8")) as ScanResult;
      assert.equal(result.run.complete, true);
      const n = {
        resources: demoRows.filter(readByResourcesQuery).length,
        containers: resourceRowCount(demoRows).containers,
      };
      assert.ok(
        stdout.includes(
          "\r\x1b[2KResource Graph: 1 pages, 4 rows, 4 subscriptions (subscriptions query, tenant, page 1)",
        ),
        JSON.stringify(stdout),
      );
      assert.ok(
        stdout.includes(
          `\r\x1b[2KResource Graph: 2 pages, ${n.resources + n.containers} rows, 4 subscriptions (resources query, tenant, page 1)`,
        ),
        JSON.stringify(stdout),
      );
      // Then the rule collection groups, the next-hop NICs and the impact counts, each a page.
      assert.match(
        stdout,
        new RegExp(
          `\\r\\x1b\\[2KResource Graph: read ${rg.requests.length} pages, \\d+ rows, 4 subscriptions\\r?\\n`,
        ),
      );
    },
  );
});
