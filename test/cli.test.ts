/**
 * End-to-end tests of the real CLI binary (dist/src/cli/bin.js) in child processes: output
 * formats, exit codes, estate file formats, clouds, endpoint files (DESIGN.md section 5).
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import ajvDraft04 from "ajv-draft-04";
import ajvFormats from "ajv-formats";
import { parse as parseCsv } from "csv-parse/sync";
import { describeRun, runCli, type CliRun } from "./support/cli-process.js";
import { HANG_GUARD_MS } from "../kit/support/hang-guard.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEMO = path.join(ROOT, "samples", "demo-estate.json");
const SARIF_SCHEMA = path.join(
  ROOT,
  "node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json",
);
const TIMEOUT_MS = HANG_GUARD_MS;

const STATUSES = ["NonCompliant", "Unverified", "Exempt", "Compliant", "NotApplicable"] as const;
// The demo estate as it stands (samples/demo-estate.json, 34 subnets in 4 subscriptions), as
// `kms-route-audit scan --demo --format json` reports it. The specific verdicts the tests rely on
// are asserted, with the rule that decides each, in the json test below.
const DEMO_COUNTS = {
  NonCompliant: 6,
  Unverified: 8,
  Exempt: 1,
  Compliant: 11,
  NotApplicable: 8,
  total: 34,
};
const AZURE_KMS_IPS = ["20.118.99.224", "40.83.235.53", "23.102.135.246"];
/** RHUI 4 (DESIGN.md section 2), judged only where RHEL pay-as-you-go VMs run; run.endpoints lists it. */
const RHUI_IPS = [
  "52.136.197.163",
  "20.225.226.182",
  "52.142.4.99",
  "20.248.180.252",
  "20.24.186.80",
];
const US_GOV_KMS_IPS = ["52.126.105.2", "23.97.0.13"];
const CHINA_KMS_IPS = ["159.27.28.100", "163.228.64.161", "42.159.7.249"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ESTATE_FORMATS =
  "expected a JSON array of ARM resources, an object with 'data' (Resource Graph / az graph query) or 'value' (ARM list), or NDJSON";

// ---------------------------------------------------------------------------------------------
// Types of the JSON output contract (only what the tests read).

interface Hop {
  kind: string;
  resourceId: string | null;
  detail: string;
}
interface Endpoint {
  set: string;
  host: string;
  ip: string;
  port: number;
  protocol: string;
  reachable: boolean | null;
  reason: string;
  path: Hop[];
  nextHopType: string | null;
  addressPrefix: string | null;
  routeName: string | null;
  decidedBy: string;
}
interface Finding {
  subnetId: string;
  subnetName: string;
  virtualNetworkId: string;
  subscriptionId: string;
  subscriptionName: string | null;
  resourceGroup: string;
  routeTableId: string | null;
  status: string;
  severity: string;
  reasons: string[];
  summary: string;
  missingRoutes: string[];
  endpointSets: string[];
  endpoints: Endpoint[];
  impact: Record<string, number | null>;
  remediation: {
    azureCli: string;
    powershell: string;
    bicep: string;
    fixes: { kind: string; causes: string[] }[];
  } | null;
}
interface RunError {
  code: string;
  message: string;
  target?: string;
}
interface Result {
  schemaVersion: number;
  run: {
    id: string;
    startedAt: string;
    finishedAt: string;
    cloud: string;
    source: { kind: string; inputs: string[] };
    scope: { subscriptions: string[]; managementGroups: string[] };
    complete: boolean;
    errors: RunError[];
    warnings: RunError[];
    counts: Record<string, number>;
    endpoints: { set: string; host: string; ip: string; port: number }[];
  };
  findings: Finding[];
}
interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  locations: {
    physicalLocation?: { artifactLocation?: { uri?: string } };
    logicalLocations?: { fullyQualifiedName: string }[];
  }[];
  properties: { status: string };
}
interface Sarif {
  version: string;
  runs: {
    tool: { driver: { name: string; rules: { id: string }[] } };
    invocations: { executionSuccessful: boolean; toolExecutionNotifications: unknown[] }[];
    results: SarifResult[];
  }[];
}
interface ArmRow {
  id: string;
  type: string;
  name?: string;
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Running the binary.

type Run = CliRun;

/** At most this many CLI processes at once, so no child starves near its timeout. */
const MAX_CHILDREN = Math.max(2, Math.min(8, availableParallelism() * 2));
let running = 0;
const waiting: (() => void)[] = [];

async function cli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: Buffer | string } = {},
): Promise<Run> {
  if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await spawnCli(args, options);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function spawnCli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: Buffer | string },
): Promise<Run> {
  return runCli(args, options.env ?? {}, {
    cwd: tmp,
    timeoutInMs: TIMEOUT_MS,
    stdin: options.stdin ?? "",
  });
}

async function scanJson(
  args: string[],
  options: { env?: Record<string, string>; stdin?: Buffer | string; code?: number } = {},
): Promise<Result> {
  const r = await cli(["scan", "--format", "json", ...args], options);
  assert.equal(r.code, options.code ?? 0, describeRun(r));
  return JSON.parse(r.stdout) as Result;
}

/** An exit-2 error: nothing on stdout, one stderr line naming the problem, no stack trace. */
function assertUsageError(r: Run, needles: string[], options: { oneLine?: boolean } = {}): void {
  assert.equal(r.code, 2, describeRun(r));
  assert.equal(r.stdout, "", "nothing on stdout");
  assert.doesNotMatch(r.stderr, /^\s*at /m, "no stack trace");
  assert.doesNotMatch(r.stderr, /\bError:|node:internal/, "no raw error dump");
  if (options.oneLine !== false)
    assert.match(r.stderr, /^[^\n]+\n$/, `exactly one stderr line, got:\n${r.stderr}`);
  const first = r.stderr.split("\n")[0]!;
  for (const needle of needles) assert.ok(first.includes(needle), `"${needle}" in: ${first}`);
}

// ---------------------------------------------------------------------------------------------
// Fixtures, built at test time from the demo estate.

const tmp = await mkdtemp(path.join(tmpdir(), "kms-route-audit-cli-"));
after(() => rm(tmp, { recursive: true, force: true }));

const demoText = await readFile(DEMO, "utf8");
const demoRows = JSON.parse(demoText) as ArmRow[];
const ONLINE_SUBSCRIPTION = "4e0b6d85-8a5f-4c3b-8d94-3f4a5b6c7d04";
const PROD_SUBSCRIPTION = "2c8f4b63-6e3d-4a1f-8b72-1d2e3f4a5b02";

function fixture(name: string): string {
  return path.join(tmp, name);
}
async function write(name: string, content: string | Buffer | unknown[] | object): Promise<string> {
  const file = fixture(name);
  const data =
    typeof content === "string" || Buffer.isBuffer(content)
      ? content
      : JSON.stringify(content, null, 2);
  await writeFile(file, data);
  return file;
}
const ndjson = (rows: unknown[], eol = "\n") => rows.map((r) => JSON.stringify(r)).join(eol) + eol;

/** Resource Graph table format: the union of the rows' keys as columns. */
function asTable(rows: ArmRow[]) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const typeOf = (c: string) =>
    ["properties", "sku", "tags"].includes(c) ? "object" : c === "count" ? "integer" : "string";
  return {
    totalRecords: rows.length,
    count: rows.length,
    data: {
      columns: columns.map((name) => ({ name, type: typeOf(name) })),
      rows: rows.map((r) => columns.map((c) => r[c] ?? null)),
    },
    facets: [],
    resultTruncated: "false",
  };
}

const VARIANTS = {
  "Resource Graph REST {data:[...]}": await write("rest.json", {
    totalRecords: demoRows.length,
    count: demoRows.length,
    data: demoRows,
    facets: [],
    resultTruncated: "false",
  }),
  "az graph query {count, data, skip_token: null, total_records}": await write("az.json", {
    count: demoRows.length,
    data: demoRows,
    skip_token: null,
    total_records: demoRows.length,
  }),
  "Resource Graph table {data:{columns,rows}}": await write("table.json", asTable(demoRows)),
  "ARM list {value:[...]}": await write("arm-list.json", { value: demoRows, nextLink: null }),
  "NDJSON with CRLF and a trailing blank line": await write(
    "estate.ndjson",
    `${ndjson(demoRows, "\r\n")}\r\n`,
  ),
  "UTF-8 with BOM": await write(
    "bom8.json",
    Buffer.from(`\uFEFF${JSON.stringify(demoRows, null, 2)}`, "utf8"),
  ),
  "UTF-16LE with BOM (Windows PowerShell 5)": await write(
    "utf16.json",
    Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(JSON.stringify(demoRows, null, 2).replace(/\n/g, "\r\n"), "utf16le"),
    ]),
  ),
  "every row duplicated with an upper-cased id": await write("duplicated.json", [
    ...demoRows,
    ...demoRows.map((r) => ({ ...r, id: r.id.toUpperCase() })),
  ]),
};
const splitA = await write("split-a.json", demoRows.slice(0, 20));
const splitB = await write("split-b.ndjson", ndjson(demoRows.slice(20)));

// Only Compliant and NotApplicable subnets, from the demo's rows: the online subscription without
// what needs attention there, plus the North Europe hub's resource group (platform subnets only:
// NotApplicable). Left out of the online subscription:
// - rt-online-api's malformed route ("typo", 10.300.0.0/16), which makes that table's IPs unknown
//   (ROUTE_MALFORMED) since schema 2;
// - snet-jobs (private, defaultOutboundAccess false, no NAT gateway: PRIVATE_SUBNET_NO_OUTBOUND)
//   and snet-legacy (0.0.0.0/0 to an undeclared Check Point appliance: NVA_POLICY_UNKNOWN), from
//   vnet-online-weu's subnets, with snet-legacy's route table rt-online-legacy (whose own subnet
//   list would bring the subnet back, known only from the table);
// - rt-online-partner, the only row that holds snet-vendor (its VNet is not in the estate: its NSG
//   and outbound access are unknown).
const DROPPED_SUBNETS = ["snet-jobs", "snet-legacy"];
const DROPPED_ROWS = ["rt-online-partner", "rt-online-legacy"];
const compliantOnly = await write(
  "compliant-only.json",
  demoRows
    .filter(
      (r) =>
        r.id.toLowerCase().includes(ONLINE_SUBSCRIPTION) ||
        r.id.toLowerCase().includes("/resourcegroups/rg-hub-neu-network/"),
    )
    .filter((r) => !DROPPED_ROWS.includes(r.name ?? ""))
    .map((r) => {
      if (r.name === "rt-online-api") {
        const properties = r.properties as { routes: { name: string }[] };
        return {
          ...r,
          properties: {
            ...properties,
            routes: properties.routes.filter((route) => route.name !== "typo"),
          },
        };
      }
      if (r.name === "vnet-online-weu") {
        const properties = r.properties as { subnets: { name: string }[] };
        return {
          ...r,
          properties: {
            ...properties,
            subnets: properties.subnets.filter((subnet) => !DROPPED_SUBNETS.includes(subnet.name)),
          },
        };
      }
      return r;
    }),
);
const UNVERIFIED_VNET =
  "/subscriptions/5a6b7c8d-0000-4000-8000-000000000005/resourceGroups/rg-x/providers/Microsoft.Network/virtualNetworks/vnet-x";
const unverifiedOnly = await write("unverified-only.json", [
  {
    id: UNVERIFIED_VNET,
    name: "vnet-x",
    type: "Microsoft.Network/virtualNetworks",
    location: "westeurope",
    properties: {
      subnets: [
        {
          id: `${UNVERIFIED_VNET}/subnets/snet-x`,
          name: "snet-x",
          properties: {
            routeTable: {
              id: "/subscriptions/5a6b7c8d-0000-4000-8000-000000000005/resourceGroups/rg-x/providers/Microsoft.Network/routeTables/rt-not-exported",
            },
          },
        },
      ],
    },
  },
]);
// A subscription display name with a comma and double quotes, to exercise CSV quoting.
const TRICKY_NAME = 'Corp "Production", EU';
const trickyCsv = await write(
  "tricky-names.json",
  demoRows.map((r) =>
    r.id === `/subscriptions/${PROD_SUBSCRIPTION}` ? { ...r, name: TRICKY_NAME } : r,
  ),
);
const restPage = await write("rest-page.json", {
  totalRecords: 5000,
  count: demoRows.length,
  data: demoRows,
  $skipToken: "ew0KICAiJGlkIjogIjEiLA0KfQ==",
  resultTruncated: "false",
});
const azPage = await write("az-page.json", {
  count: demoRows.length,
  data: demoRows,
  skip_token: "ew0KICAiJGlkIjogIjIiLA0KfQ==",
  total_records: 5000,
});
const armPage = await write("arm-page.json", {
  value: demoRows,
  nextLink: "https://management.azure.com/providers/Microsoft.Network/virtualNetworks?$skiptoken=x",
});

const RHUI_IP = "52.136.197.163";
const rhuiSet = {
  name: "rhui",
  description: "RHEL update infrastructure (test)",
  endpoints: [{ host: "rhui4-1.microsoft.com", ips: [RHUI_IP], port: 443 }],
};
const endpointsExtend = await write("endpoints-extend.json", {
  mode: "extend",
  endpointSets: [rhuiSet],
});
const endpointsReplace = await write("endpoints-replace.json", {
  mode: "replace",
  endpointSets: [rhuiSet],
});
const endpointsBadPort = await write("endpoints-bad-port.json", {
  mode: "extend",
  endpointSets: [{ name: "rhui", endpoints: [{ host: "rhui", ips: [RHUI_IP], port: "443" }] }],
});
const endpointsBadIp = await write("endpoints-bad-ip.json", {
  endpointSets: [{ name: "rhui", endpoints: [{ host: "rhui", ips: ["rhui.example"], port: 443 }] }],
});
const endpointsBadMode = await write("endpoints-bad-mode.json", {
  mode: "merge",
  endpointSets: [rhuiSet],
});

const directory = fixture("a-directory");
await mkdir(directory);

// Demo results are shared by many tests; each is produced once.
const memo = <T>(make: () => Promise<T>) => {
  let value: Promise<T> | undefined;
  return () => (value ??= make());
};
const demoJson = memo(() => scanJson(["--demo"]));
const demoFileJson = memo(() => scanJson(["--input", DEMO]));

/** What an estate decides for each subnet, keyed by case-insensitive subnet ID. */
function verdicts(result: Result) {
  return new Map(
    result.findings.map((f) => [
      f.subnetId.toLowerCase(),
      {
        subnetName: f.subnetName,
        status: f.status,
        severity: f.severity,
        reasons: f.reasons,
        missingRoutes: f.missingRoutes,
        routeTableId: f.routeTableId?.toLowerCase() ?? null,
        endpoints: f.endpoints.map(
          (e) =>
            `${e.ip}:${e.port} ${e.reachable} ${e.reason} ${e.nextHopType} ${e.addressPrefix} ${e.path.map((h) => h.detail).join(" -> ")}`,
        ),
        impact: f.impact,
        subscriptionName: f.subscriptionName,
      },
    ]),
  );
}

const statusBySubnet = (findings: { subnetId: string; status: string }[]) =>
  new Map(findings.map((f) => [f.subnetId.toLowerCase(), f.status]));

const withoutRunIdentity = (result: Result) => ({
  ...result,
  run: { ...result.run, id: "", startedAt: "", finishedAt: "" },
});

// ---------------------------------------------------------------------------------------------

void describe("kms-route-audit CLI (real binary)", { concurrency: 4 }, () => {
  void describe("output formats", { concurrency: true }, () => {
    void it("json: schemaVersion 2, run fields and every finding contract field", async () => {
      const result = await demoJson();
      assert.equal(result.schemaVersion, 2);
      const { run } = result;
      assert.match(run.id, UUID);
      assert.match(run.startedAt, ISO_TIME);
      assert.match(run.finishedAt, ISO_TIME);
      assert.ok(run.startedAt <= run.finishedAt);
      assert.equal(run.cloud, "AzureCloud");
      assert.deepEqual(run.source, { kind: "demo", inputs: ["samples/demo-estate.json"] });
      assert.deepEqual(run.scope, { subscriptions: [], managementGroups: [] });
      assert.equal(run.complete, true);
      assert.deepEqual(run.errors, []);
      // The demo's malformed route (rt-online-api "typo") is a warning; the run stays complete.
      assert.deepEqual(
        run.warnings.map((w) => [w.code, w.target?.split("/").at(-1)]),
        [["RESOURCE_MALFORMED", "rt-online-api"]],
      );
      assert.deepEqual(run.counts, DEMO_COUNTS);
      assert.deepEqual(
        run.endpoints.map((e) => `${e.set}:${e.ip}:${e.port}`),
        [...AZURE_KMS_IPS.map((ip) => `kms:${ip}:1688`), ...RHUI_IPS.map((ip) => `rhui:${ip}:443`)],
      );

      assert.equal(result.findings.length, 34);
      // RHUI is judged only where RHEL pay-as-you-go VMs run (README "Which subnets, which
      // endpoints"): in the demo, snet-rhel alone (2 such VMs).
      assert.deepEqual(
        result.findings.filter((f) => f.endpointSets.includes("rhui")).map((f) => f.subnetName),
        ["snet-rhel"],
      );
      for (const f of result.findings) {
        const where = f.subnetId;
        for (const key of ["subnetId", "subnetName", "virtualNetworkId", "resourceGroup"] as const)
          assert.ok(typeof f[key] === "string" && f[key] !== "", `${where}: ${key}`);
        assert.ok(f.subnetId.startsWith(`${f.virtualNetworkId}/subnets/`), where);
        assert.match(f.subscriptionId, /^[0-9a-f-]{36}$/, where);
        assert.ok(f.routeTableId === null || f.routeTableId.includes("/routeTables/"), where);
        assert.ok((STATUSES as readonly string[]).includes(f.status), where);
        assert.ok(["high", "medium", "low", "none"].includes(f.severity), where);
        assert.ok(f.reasons.length > 0, where);
        for (const r of f.reasons) assert.match(r, /^[A-Z][A-Z0-9_]+$/, where);
        assert.ok(Array.isArray(f.missingRoutes), where);
        for (const m of f.missingRoutes) assert.match(m, /^\d+\.\d+\.\d+\.\d+\/\d+$/, where);
        // Platform subnets judge no endpoint; the others KMS, and RHUI too where RHEL
        // pay-as-you-go VMs run.
        const platform = f.status === "NotApplicable";
        const rhel = (f.impact.rhelPayAsYouGoVirtualMachines ?? 0) > 0;
        assert.deepEqual(f.endpointSets, platform ? [] : rhel ? ["kms", "rhui"] : ["kms"], where);
        assert.deepEqual(
          f.endpoints.map((e) => `${e.set}:${e.ip}`),
          platform
            ? []
            : [
                ...AZURE_KMS_IPS.map((ip) => `kms:${ip}`),
                ...(rhel ? RHUI_IPS.map((ip) => `rhui:${ip}`) : []),
              ],
          where,
        );
        for (const e of f.endpoints) {
          for (const key of [
            "set",
            "host",
            "ip",
            "port",
            "protocol",
            "reachable",
            "reason",
            "path",
            "nextHopType",
            "addressPrefix",
            "routeName",
            "decidedBy",
          ])
            assert.ok(key in e, `${where}: endpoint ${e.ip} lacks ${key}`);
          assert.equal(e.port, e.set === "rhui" ? 443 : 1688, where);
          assert.equal(e.protocol, "TCP");
          assert.ok([true, false, null].includes(e.reachable), where);
          assert.match(e.reason, /^[A-Z][A-Z0-9_]+$/, where);
          assert.ok(e.path.length > 0, `${where}: ${e.ip} has a path`);
          for (const hop of e.path) {
            assert.deepEqual(Object.keys(hop).sort(), ["detail", "kind", "resourceId"], where);
            assert.ok(hop.detail !== "", where);
          }
        }
        assert.deepEqual(Object.keys(f.impact).sort(), [
          "linuxVirtualMachines",
          "networkInterfaces",
          "rhelPayAsYouGoVirtualMachines",
          "slesPayAsYouGoVirtualMachines",
          "windowsScaleSetInstances",
          "windowsVirtualMachines",
        ]);
        assert.ok("remediation" in f, where);
        // The route fix adds /32s only for IPs that are not reachable, and its scripts add them.
        const notReachable = f.endpoints
          .filter((e) => e.reachable !== true)
          .map((e) => `${e.ip}/32`);
        for (const cidr of f.missingRoutes)
          assert.ok(notReachable.includes(cidr), `${where}: ${cidr}`);
        if (f.missingRoutes.length > 0) {
          assert.ok(f.remediation, `${where}: missing routes need a remediation`);
          for (const cidr of f.missingRoutes) {
            assert.ok(f.remediation.azureCli.includes(cidr), `${where}: az adds ${cidr}`);
            assert.ok(f.remediation.powershell.includes(cidr), `${where}: pwsh adds ${cidr}`);
            assert.ok(f.remediation.bicep.includes(cidr), `${where}: bicep adds ${cidr}`);
          }
        }
        if (f.status === "NonCompliant") {
          assert.ok(f.remediation, `${where}: NonCompliant needs remediation`);
          assert.ok(f.remediation.fixes.length > 0, where);
          assert.ok(
            f.endpoints.some((e) => e.reachable === false),
            where,
          );
        }
        if (f.status === "Unverified") {
          assert.ok(
            f.endpoints.every((e) => e.reachable !== false),
            where,
          );
          assert.ok(
            f.endpoints.some((e) => e.reachable === null),
            where,
          );
        }
        if (f.status === "Compliant") {
          assert.deepEqual(f.missingRoutes, [], where);
          assert.equal(f.remediation, null, where);
          assert.ok(
            f.endpoints.every((e) => e.reachable === true),
            where,
          );
        }
      }

      // Specific verdicts of the demo estate.
      const byName = new Map(result.findings.map((f) => [f.subnetName, f]));
      const legacy = byName.get("snet-legacy")!;
      // DESIGN.md section 3, rule 2 (VirtualAppliance): 0.0.0.0/0 goes to 10.5.0.20, a Check
      // Point NIC with IP forwarding in the peered DMZ; a third-party appliance's policy is not in
      // ARM and nothing declares it, so every IP is unknown. The route fix adds the /32s that
      // decide them.
      assert.equal(legacy.status, "Unverified");
      assert.equal(legacy.severity, "low");
      assert.deepEqual(legacy.reasons, ["NVA_POLICY_UNKNOWN"]);
      assert.deepEqual(
        legacy.missingRoutes,
        AZURE_KMS_IPS.map((ip) => `${ip}/32`),
      );
      assert.deepEqual(legacy.endpoints[0], {
        set: "kms",
        host: "azkms.core.windows.net",
        ip: "20.118.99.224",
        port: 1688,
        protocol: "TCP",
        reachable: null,
        reason: "NVA_POLICY_UNKNOWN",
        path: [
          {
            kind: "Route",
            resourceId: legacy.routeTableId,
            detail: "0.0.0.0/0 -> VirtualAppliance 10.5.0.20 (route 'default-to-checkpoint')",
          },
          {
            kind: "NetworkVirtualAppliance",
            resourceId: `/subscriptions/${ONLINE_SUBSCRIPTION}/resourceGroups/rg-online-dmz/providers/Microsoft.Network/networkInterfaces/vm-cp-legacy-01-nic`,
            detail:
              "appliance vm-cp-legacy-01-nic (10.5.0.20): its policy is not in ARM; declare it with the kms-route-audit-egress tag or --declarations",
          },
        ],
        nextHopType: "VirtualAppliance",
        addressPrefix: "0.0.0.0/0",
        routeName: "default-to-checkpoint",
        decidedBy: "UserDefinedRoute",
      });
      assert.ok(legacy.endpoints.every((e) => e.reachable === null));
      assert.deepEqual(legacy.impact, {
        networkInterfaces: 1,
        windowsVirtualMachines: 1,
        windowsScaleSetInstances: 0,
        linuxVirtualMachines: 0,
        rhelPayAsYouGoVirtualMachines: 0,
        slesPayAsYouGoVirtualMachines: 0,
      });
      const shared = byName.get("snet-shared-services")!;
      // Section 3, rule 1 (known or unknown learned routes): the hub's ExpressRoute gateway
      // vgw-er-hub-weu may learn a route more specific than the table's 0.0.0.0/0 (to the
      // firewall, which would let KMS out); its learned routes were not read. Only a route-table
      // /32 decides: the legacy IP's /32 to the Internet. The route fix adds the two /32s for the
      // undecided IPs only.
      assert.equal(shared.status, "Unverified");
      assert.equal(shared.severity, "low");
      assert.deepEqual(shared.reasons, ["BGP_DEFAULT_ROUTE_POSSIBLE"]);
      assert.deepEqual(shared.missingRoutes, ["20.118.99.224/32", "40.83.235.53/32"]);
      assert.deepEqual(
        shared.endpoints.map((e) => e.reachable),
        [null, null, true],
      );
      assert.equal(shared.endpoints[0]!.path.at(-1)!.kind, "LearnedRoutes");
      assert.equal(shared.endpoints[2]!.routeName, "kms-legacy", "the legacy IP's /32");
      assert.equal(shared.endpoints[2]!.reason, "REACHABLE_DIRECT");
      assert.deepEqual(
        shared.remediation?.fixes.map((x) => x.kind),
        ["routes"],
      );
      assert.equal(shared.impact.windowsVirtualMachines, 2);
      const sap = byName.get("snet-sap-app")!;
      // Rule 2 (VirtualNetworkGateway): the table's 0.0.0.0/0 names the VNet gateway, so every
      // KMS IP goes on-premises and leaves from a non-Azure address; the fix is the /32 routes
      // (README TUNNELED_ON_PREMISES, DESIGN.md rule 7). Windows scale-set instances run there:
      // severity high.
      assert.equal(sap.status, "NonCompliant");
      assert.equal(sap.severity, "high");
      assert.deepEqual(sap.reasons, ["KMS_ROUTES_MISSING", "TUNNELED_ON_PREMISES"]);
      assert.ok(sap.endpoints.every((e) => e.reachable === false));
      assert.ok(sap.endpoints.every((e) => e.reason === "TUNNELED_ON_PREMISES"));
      assert.deepEqual(
        sap.missingRoutes,
        AZURE_KMS_IPS.map((ip) => `${ip}/32`),
      );
      assert.deepEqual(
        sap.remediation?.fixes.map((x) => [x.kind, x.causes]),
        [["routes", ["TUNNELED_ON_PREMISES"]]],
      );
      assert.equal(sap.impact.windowsScaleSetInstances, 4);
      // No route table; the VNet peers with the hub using its gateway (useRemoteGateways), whose
      // learned routes were not read (rule 1): the system route's outcome may be overridden.
      const data = byName.get("snet-data")!;
      assert.equal(data.status, "Unverified");
      assert.deepEqual(data.reasons, ["BGP_DEFAULT_ROUTE_POSSIBLE"]);
      assert.equal(data.endpoints[0]!.reachable, null);
      // Forced tunnelling (0.0.0.0/0 to the firewall) with a /32 to the Internet per KMS IP, in a
      // table that does not propagate gateway routes (rule 1): nothing to fix.
      const web = byName.get("snet-web")!;
      assert.equal(web.status, "Compliant");
      assert.deepEqual(web.reasons, ["KMS_ROUTES_PRESENT"]);
      assert.deepEqual(web.missingRoutes, []);
      assert.equal(web.remediation, null);
      // The firewall denies TCP 1688 (NonCompliant otherwise), but rt-dev-lab carries the
      // kms-route-audit-exempt tag: Exempt, severity none, the justification in the summary.
      const lab = byName.get("snet-dev-lab")!;
      assert.equal(lab.status, "Exempt");
      assert.equal(lab.severity, "none");
      assert.deepEqual(lab.reasons, ["FIREWALL_DENIES_PORT", "EXEMPTED"]);
      assert.ok(lab.summary.includes("Isolated lab; activates against on-premises KMS host"));
      // A platform subnet (the demo has three GatewaySubnets: take the hub's): no endpoint judged.
      const gateway = result.findings.find((f) =>
        f.subnetId.endsWith("/virtualNetworks/vnet-hub-weu/subnets/GatewaySubnet"),
      )!;
      assert.equal(gateway.status, "NotApplicable");
      assert.deepEqual(gateway.reasons, ["NOT_APPLICABLE_SUBNET"]);
      assert.deepEqual(gateway.endpoints, []);
      assert.equal(gateway.remediation, null);
    });

    void it("json: counts by status equal the number of findings per status", async () => {
      const { run, findings } = await demoJson();
      for (const status of STATUSES) {
        assert.equal(
          run.counts[status],
          findings.filter((f) => f.status === status).length,
          status,
        );
      }
      assert.equal(run.counts.total, findings.length);
    });

    void it("ndjson: every line parses, one per finding, same subnets and statuses as json", async () => {
      const [r, json] = await Promise.all([
        cli(["scan", "--demo", "--format", "ndjson"]),
        demoJson(),
      ]);
      assert.equal(r.code, 0, describeRun(r));
      assert.ok(r.stdout.endsWith("\n"));
      const lines = r.stdout.slice(0, -1).split("\n");
      assert.equal(lines.length, 34);
      const records = lines.map((line, i) => {
        try {
          return JSON.parse(line) as Finding & { runId: string };
        } catch (error) {
          assert.fail(`line ${i + 1} does not parse: ${String(error)}`);
        }
      });
      const runIds = new Set(records.map((f) => f.runId));
      assert.equal(runIds.size, 1);
      assert.match([...runIds][0]!, UUID);
      assert.deepEqual(statusBySubnet(records), statusBySubnet(json.findings));
      // snet-shared-services: the legacy IP's /32 decides it; the other two need routes.
      const shared = records.find((f) => f.subnetName === "snet-shared-services")!;
      assert.deepEqual(shared.missingRoutes, ["20.118.99.224/32", "40.83.235.53/32"]);
    });

    void it("csv: header plus one row per finding; quoted fields with commas and quotes survive", async () => {
      const [r, json] = await Promise.all([
        cli(["scan", "--input", trickyCsv, "--format", "csv"]),
        scanJson(["--input", trickyCsv]),
      ]);
      assert.equal(r.code, 0, describeRun(r));
      // RFC 4180 quoting of the tricky name, with doubled quotes.
      assert.ok(r.stdout.includes('"Corp ""Production"", EU"'), "quoted subscription name");
      const header = parseCsv(r.stdout, { to_line: 1 })[0]!;
      assert.equal(header[0], "runId");
      for (const column of [
        "subnetId",
        "status",
        "severity",
        "reasons",
        "missingRoutes",
        "endpoints",
        "decidingPath",
        "endpointSets",
        "linuxVirtualMachines",
        "rhelPayAsYouGoVirtualMachines",
        "slesPayAsYouGoVirtualMachines",
      ])
        assert.ok(header.includes(column), column);
      const rows = parseCsv<Record<string, string>>(r.stdout, { columns: true });
      assert.equal(rows.length, json.findings.length);
      assert.equal(rows.length, 34);
      assert.equal(new Set(rows.map((row) => row.runId)).size, 1);
      assert.match(rows[0]!.runId!, UUID);
      const bySubnet = new Map(json.findings.map((f) => [f.subnetId, f]));
      for (const row of rows) {
        const f = bySubnet.get(row.subnetId!);
        assert.ok(f, `csv row for unknown subnet ${row.subnetId}`);
        assert.equal(row.status, f.status);
        assert.equal(row.severity, f.severity);
        assert.equal(row.subnetName, f.subnetName);
        assert.equal(row.reasons, f.reasons.join(";"));
        assert.equal(row.missingRoutes, f.missingRoutes.join(";"));
        assert.equal(row.summary, f.summary);
        assert.equal(row.subscriptionName, f.subscriptionName ?? "");
        // Schema 2: ip=true|false|unknown:REASON per endpoint (schema 1: ip=bypassed).
        assert.equal(
          row.endpoints,
          f.endpoints
            .map((e) => `${e.ip}=${e.reachable === null ? "unknown" : e.reachable}:${e.reason}`)
            .join(";"),
        );
        assert.equal(row.endpointSets, f.endpointSets.join(";"));
        assert.equal(row.linuxVirtualMachines, String(f.impact.linuxVirtualMachines ?? ""));
      }
      // The deciding path in words: the first endpoint not reachable, else the first unknown one.
      const legacy = rows.find((row) => row.subnetName === "snet-legacy")!;
      assert.equal(
        legacy.decidingPath,
        "0.0.0.0/0 -> VirtualAppliance 10.5.0.20 (route 'default-to-checkpoint') -> appliance vm-cp-legacy-01-nic (10.5.0.20): its policy is not in ARM; declare it with the kms-route-audit-egress tag or --declarations",
      );
      // snet-erp-app: the legacy IP is reachable, the first (not reachable) endpoint decides.
      const erp = rows.find((row) => row.subnetName === "snet-erp-app")!;
      assert.equal(
        erp.decidingPath,
        "0.0.0.0/0 -> VirtualAppliance 10.10.0.68 (route 'default-to-firewall') -> azfw-hub-neu (10.10.0.68): network rule 'allow-azure-kms' (collection 'rc-allow-platform-services', priority 200, group 'rcg-platform-network' of policy 'afwp-hub-neu') allows TCP 1688 -> 0.0.0.0/0 -> VirtualNetworkGateway (route 'default-to-onprem') -> on-premises through the virtual network gateway",
      );
      const platformRows = rows.filter((row) => row.status === "NotApplicable");
      assert.equal(platformRows.length, DEMO_COUNTS.NotApplicable);
      for (const row of platformRows) assert.equal(row.decidingPath, "", row.subnetId);
      const prod = rows.filter((row) => row.subscriptionId === PROD_SUBSCRIPTION);
      assert.ok(prod.length > 0);
      for (const row of prod) assert.equal(row.subscriptionName, TRICKY_NAME);
      // The summaries carry commas ("(20.118.99.224, 40.83.235.53)"): they must come back whole.
      assert.ok(rows.some((row) => row.summary!.includes("20.118.99.224, 40.83.235.53")));
    });

    void it("sarif: valid SARIF 2.1.0; one result per NonCompliant/Unverified finding", async () => {
      const [r, json, schemaText] = await Promise.all([
        cli(["scan", "--demo", "--format", "sarif"]),
        demoJson(),
        readFile(SARIF_SCHEMA, "utf8"),
      ]);
      assert.equal(r.code, 0, describeRun(r));
      const sarif = JSON.parse(r.stdout) as Sarif;
      assertValidSarif(sarif, schemaText);
      assert.equal(sarif.version, "2.1.0");
      assert.equal(sarif.runs.length, 1);
      const run = sarif.runs[0]!;
      assert.equal(run.tool.driver.name, "kms-route-audit");
      const attention = json.findings.filter(
        (f) => f.status === "NonCompliant" || f.status === "Unverified",
      );
      assert.equal(run.results.length, attention.length);
      assert.equal(run.results.length, DEMO_COUNTS.NonCompliant + DEMO_COUNTS.Unverified);
      const rules = run.tool.driver.rules;
      const LEVEL: Record<string, string> = {
        high: "error",
        medium: "warning",
        low: "note",
        none: "none",
      };
      const bySubnet = new Map(attention.map((f) => [f.subnetId, f]));
      const seen = new Set<string>();
      for (const result of run.results) {
        assert.ok(
          rules.some((rule) => rule.id === result.ruleId),
          `rule ${result.ruleId} is declared`,
        );
        assert.equal(rules[result.ruleIndex]?.id, result.ruleId, "ruleIndex points at the rule");
        const location = result.locations[0];
        const uri = location?.physicalLocation?.artifactLocation?.uri;
        assert.ok(typeof uri === "string" && uri !== "", "physicalLocation with a uri");
        const subnetId = location?.logicalLocations?.[0]?.fullyQualifiedName ?? "";
        const f = bySubnet.get(subnetId);
        assert.ok(f, `result for ${subnetId} matches a NonCompliant/Unverified finding`);
        assert.equal(result.ruleId, f.reasons[0]);
        assert.equal(result.properties.status, f.status);
        assert.equal(result.level, LEVEL[f.severity]);
        seen.add(subnetId);
      }
      assert.equal(seen.size, attention.length, "one result per subnet");
    });

    void it("table: counts by status first; no ANSI escape codes without a TTY", async () => {
      const r = await cli(["scan", "--demo"]);
      assert.equal(r.code, 0, describeRun(r));
      assert.ok(!r.stdout.includes("\x1b["), "no ANSI escapes");
      const lines = r.stdout.split("\n");
      assert.match(
        lines[0]!,
        new RegExp(`^kms-route-audit  run ${UUID.source.slice(1, -1)}  AzureCloud  demo: `),
      );
      assert.match(lines[0]!, /complete$/);
      assert.equal(lines[2], "Subnets audited: 34");
      STATUSES.forEach((status, i) => {
        assert.match(lines[3 + i]!, new RegExp(`^  ${status}\\s+${DEMO_COUNTS[status]}$`));
      });
      assert.ok(r.stdout.includes(`NonCompliant (${DEMO_COUNTS.NonCompliant})`));
      assert.ok(r.stdout.includes(`Unverified (${DEMO_COUNTS.Unverified})`));
      assert.ok(r.stdout.includes("vnet-prod-sap/snet-sap-app"));
      // The deciding path in words under each summary; the malformed route in its own section.
      assert.ok(
        r.stdout.includes(
          "    path: 0.0.0.0/0 → VirtualNetworkGateway (route 'default-to-onprem') → on-premises through the virtual network gateway",
        ),
        r.stdout,
      );
      assert.match(
        r.stdout,
        /\nMalformed in the data \(1; [^\n]*\n {2}[^\n]*rt-online-api: properties\.routes\[2\]\.addressPrefix/,
      );
    });

    void it("--output FILE writes what stdout would show, and prints nothing", async () => {
      const out = fixture("out.json");
      const [r, stdoutResult] = await Promise.all([
        cli(["scan", "--demo", "--format", "json", "--output", out]),
        demoJson(),
      ]);
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, "");
      const written = JSON.parse(await readFile(out, "utf8")) as Result;
      assert.deepEqual(withoutRunIdentity(written), withoutRunIdentity(stdoutResult));
    });

    void it("logs (KMS_AUDIT_LOG_LEVEL=debug) go to stderr and leave stdout pure JSON", async () => {
      const r = await cli(["scan", "--demo", "--format", "json"], {
        env: { KMS_AUDIT_LOG_LEVEL: "debug" },
      });
      assert.equal(r.code, 0, describeRun(r));
      const result = JSON.parse(r.stdout) as Result;
      assert.equal(result.run.counts.total, 34);
      assert.ok(r.stderr.includes("scan finished"), "debug logs on stderr");
    });
  });

  void describe("exit codes 0, 1 and 3", { concurrency: true }, () => {
    void it("0 for a clean run of the demo (no --fail-on)", async () => {
      await demoJson(); // scanJson asserts exit code 0
    });

    void it("--fail-on NonCompliant: 1 on the demo", async () => {
      const r = await cli(["scan", "--demo", "--fail-on", "NonCompliant", "--format", "json"]);
      assert.equal(r.code, 1, describeRun(r));
      assert.equal(
        (JSON.parse(r.stdout) as Result).run.counts.NonCompliant,
        DEMO_COUNTS.NonCompliant,
        "output written",
      );
    });

    void it("--fail-on NonCompliant and Unverified: 0 on an estate with only compliant subnets", async () => {
      const result = await scanJson(["--input", compliantOnly]);
      assert.deepEqual(result.run.counts, {
        NonCompliant: 0,
        Unverified: 0,
        Exempt: 0,
        Compliant: 5,
        NotApplicable: 3,
        total: 8,
      });
      assert.deepEqual(result.run.warnings, [], "the malformed route is gone");
      const [nonCompliant, unverified] = await Promise.all([
        cli(["scan", "--input", compliantOnly, "--fail-on", "NonCompliant"]),
        cli(["scan", "--input", compliantOnly, "--fail-on", "Unverified"]),
      ]);
      assert.equal(nonCompliant.code, 0, describeRun(nonCompliant));
      assert.equal(unverified.code, 0, describeRun(unverified));
    });

    void it("--fail-on Unverified: 1 when only Unverified subnets exist (--fail-on NonCompliant: 0)", async () => {
      const result = await scanJson(["--input", unverifiedOnly]);
      assert.equal(result.run.counts.Unverified, 1);
      assert.equal(result.run.counts.total, 1);
      assert.deepEqual(result.findings[0]!.reasons, ["ROUTE_TABLE_NOT_FOUND"]);
      const [unverified, nonCompliant] = await Promise.all([
        cli(["scan", "--input", unverifiedOnly, "--fail-on", "Unverified"]),
        cli(["scan", "--input", unverifiedOnly, "--fail-on", "NonCompliant"]),
      ]);
      assert.equal(unverified.code, 1, describeRun(unverified));
      assert.equal(nonCompliant.code, 0, describeRun(nonCompliant));
    });

    for (const [label, file, token] of [
      ["Resource Graph page with $skipToken", () => restPage, true],
      ["az graph query page with skip_token", () => azPage, true],
      ["ARM list page with nextLink", () => armPage, false],
    ] as const) {
      void it(`3 for a ${label}: run.complete false, errors[] names the file`, async () => {
        const result = await scanJson(["--input", file()], { code: 3 });
        assert.equal(result.run.complete, false);
        assert.equal(result.run.errors.length, 1);
        const error = result.run.errors[0]!;
        assert.equal(error.code, "INPUT_TRUNCATED");
        assert.equal(error.target, file());
        assert.ok(error.message.includes(file()));
        if (token) assert.ok(error.message.includes("skip token"));
        // What was read is still reported.
        assert.deepEqual(result.run.counts, DEMO_COUNTS);
      });
    }

    void it("3 outranks --fail-on findings; sarif of an incomplete run is valid and says so", async () => {
      const [failing, sarifRun, schemaText] = await Promise.all([
        cli(["scan", "--input", restPage, "--fail-on", "NonCompliant", "--format", "json"]),
        cli(["scan", "--input", azPage, "--format", "sarif"]),
        readFile(SARIF_SCHEMA, "utf8"),
      ]);
      assert.equal(failing.code, 3, describeRun(failing));
      assert.equal(sarifRun.code, 3, describeRun(sarifRun));
      const sarif = JSON.parse(sarifRun.stdout) as Sarif;
      assertValidSarif(sarif, schemaText);
      const invocation = sarif.runs[0]!.invocations[0]!;
      assert.equal(invocation.executionSuccessful, false);
      assert.equal(invocation.toolExecutionNotifications.length, 1);
    });

    void it("table of an incomplete run says INCOMPLETE and names the file", async () => {
      const r = await cli(["scan", "--input", restPage]);
      assert.equal(r.code, 3, describeRun(r));
      assert.match(r.stdout.split("\n")[0]!, /INCOMPLETE \(1 errors\)$/);
      assert.ok(r.stdout.includes(`INPUT_TRUNCATED: ${restPage}`));
    });
  });

  void describe(
    "exit code 2: one stderr line naming the problem, no stack, empty stdout",
    {
      concurrency: true,
    },
    () => {
      const file = (name: string, content: string | Buffer) => () => write(name, content);
      const GUID = "00000000-0000-0000-0000-000000000000";
      const cases: {
        name: string;
        args: (f: string) => string[];
        content?: () => Promise<string>;
        env?: Record<string, string>;
        needles: (f: string) => string[];
        /** Commander's own usage errors add a second "(run with --help for usage)" line. */
        commander?: boolean;
      }[] = [
        {
          name: "unknown option",
          args: () => ["scan", "--demo", "--bogus"],
          needles: () => ["--bogus"],
          commander: true,
        },
        {
          name: "unknown --format",
          args: () => ["scan", "--demo", "--format", "xml"],
          needles: () => ["--format", "xml"],
          commander: true,
        },
        {
          name: "unknown --fail-on status",
          args: () => ["scan", "--demo", "--fail-on", "Compliant"],
          needles: () => ["--fail-on", "Compliant"],
          commander: true,
        },
        {
          name: "unknown command",
          args: () => ["audit", "--demo"],
          needles: () => ["audit"],
          commander: true,
        },
        {
          name: "unknown --cloud",
          args: () => ["scan", "--demo", "--cloud", "Mars"],
          needles: () => ["--cloud", "Mars"],
        },
        {
          name: "missing file",
          args: () => ["scan", "--input", fixture("no-such-estate.json")],
          needles: () => [fixture("no-such-estate.json"), "no such file"],
        },
        {
          name: "a directory as input",
          args: () => ["scan", "--input", directory],
          needles: () => [directory, "directory"],
        },
        {
          name: "malformed JSON array",
          content: file("malformed-array.json", '[{"id": "/subscriptions/x", "type": '),
          needles: (f) => [f, "not valid JSON"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "malformed JSON object",
          content: file("malformed-object.json", '{\n  "data": [\n    {"id": "/x"\n'),
          needles: (f) => [f, "not valid JSON"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "an empty file",
          content: file("empty.json", ""),
          needles: (f) => [f, "empty"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "a whitespace-only file",
          content: file("blank.json", " \r\n\n"),
          needles: (f) => [f, "empty"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "a JSON number at the top level",
          content: file("number.json", "42\n"),
          needles: (f) => [f, "number", ESTATE_FORMATS],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "a JSON string at the top level",
          content: file("string.json", '"estate"\n'),
          needles: (f) => [f, "string"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "JSON null at the top level",
          content: file("null.json", "null"),
          needles: (f) => [f, "null"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "an object without data or value",
          content: file("no-data.json", '{"resources": []}'),
          needles: (f) => [f, "'data'", "'value'", ESTATE_FORMATS],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "'data' that is neither an array nor a table",
          content: file("data-string.json", '{"data": "nope"}'),
          needles: (f) => [f, "'data'"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "'value' that is not an array",
          content: file("value-object.json", '{"value": {}}'),
          needles: (f) => [f, "'value'"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "an array item that is not an object",
          content: file("item-number.json", JSON.stringify([demoRows[0], 7])),
          needles: (f) => [f, "item 1", "number"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "a row without id",
          content: file(
            "no-id.json",
            JSON.stringify([{ type: "microsoft.network/virtualnetworks", name: "vnet-x" }]),
          ),
          needles: (f) => [f, "item 0", "'id'"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "NDJSON with a bad line (names the line number)",
          content: file(
            "bad-line.ndjson",
            `${JSON.stringify(demoRows[0])}\n\n${JSON.stringify(demoRows[1])}\n{"id": oops}\n`,
          ),
          needles: (f) => [f, "line 4"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "NDJSON with a row without id (names the line number)",
          content: file(
            "no-id.ndjson",
            `${JSON.stringify(demoRows[0])}\r\n\r\n{"type": "microsoft.network/routetables"}\r\n`,
          ),
          needles: (f) => [f, "line 3", "'id'"],
          args: (f) => ["scan", "--input", f],
        },
        {
          name: "empty stdin via --input -",
          args: () => ["scan", "--input", "-"],
          needles: () => ["<stdin>", "empty"],
        },
        {
          name: "--input with --demo",
          args: () => ["scan", "--input", DEMO, "--demo"],
          needles: () => ["--input", "--demo"],
        },
        {
          name: "--subscription with --input",
          args: () => ["scan", "--input", DEMO, "--subscription", GUID],
          needles: () => ["--subscription", "--input"],
        },
        {
          name: "bad --subscription GUID",
          args: () => ["scan", "--subscription", "not-a-guid"],
          needles: () => ["--subscription", "not-a-guid"],
        },
        {
          name: "malformed setting KMS_AUDIT_CLOUD=Mars",
          args: () => ["scan", "--demo"],
          env: { KMS_AUDIT_CLOUD: "Mars" },
          needles: () => ["KMS_AUDIT_CLOUD", "Mars"],
        },
        {
          name: "malformed setting KMS_AUDIT_LOG_LEVEL=loud",
          args: () => ["scan", "--demo"],
          env: { KMS_AUDIT_LOG_LEVEL: "loud" },
          needles: () => ["KMS_AUDIT_LOG_LEVEL", "loud"],
        },
        {
          name: "malformed setting KMS_AUDIT_SUBSCRIPTIONS",
          args: () => ["scan", "--demo"],
          env: { KMS_AUDIT_SUBSCRIPTIONS: `${GUID},nope` },
          needles: () => ["KMS_AUDIT_SUBSCRIPTIONS", "nope"],
        },
        {
          name: "--output into a missing directory",
          args: () => ["scan", "--demo", "--output", fixture("no-such-dir/out.json")],
          needles: () => [fixture("no-such-dir/out.json")],
        },
        {
          name: "--endpoints file with a string port (names file and field)",
          args: () => ["scan", "--demo", "--endpoints", endpointsBadPort],
          needles: () => [endpointsBadPort, "port"],
        },
        {
          name: "--endpoints file with a host name in ips (names file and field)",
          args: () => ["scan", "--demo", "--endpoints", endpointsBadIp],
          needles: () => [endpointsBadIp, "ips", "IPv4"],
        },
        {
          name: "--endpoints file with an unknown mode (names file and field)",
          args: () => ["scan", "--demo", "--endpoints", endpointsBadMode],
          needles: () => [endpointsBadMode, "mode"],
        },
        {
          name: "missing --endpoints file",
          args: () => ["scan", "--demo", "--endpoints", fixture("no-such-endpoints.json")],
          needles: () => [fixture("no-such-endpoints.json")],
        },
      ];

      for (const c of cases) {
        void it(c.name, async () => {
          const f = c.content ? await c.content() : "";
          const r = await cli(c.args(f), { env: c.env });
          assertUsageError(r, c.needles(f));
        });
      }

      void it("Commander usage errors (unknown option, --format, --fail-on, command) are ONE stderr line", async () => {
        const runs = await Promise.all(
          cases.filter((c) => c.commander).map((c) => cli(c.args(""), { env: c.env })),
        );
        for (const r of runs) assertUsageError(r, []);
      });
    },
  );

  void describe("help", { concurrency: true }, () => {
    void it("--help exits 0 and mentions scan", async () => {
      const r = await cli(["--help"]);
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout, /^Usage: kms-route-audit/);
      assert.match(r.stdout, /\bscan\b/);
    });

    void it("scan --help lists every option of DESIGN.md section 5", async () => {
      const r = await cli(["scan", "--help"]);
      assert.equal(r.code, 0, describeRun(r));
      for (const option of [
        "--input <file>",
        "--demo",
        "--cloud <name>",
        "--subscription <id>",
        "--management-group <id>",
        "--format <format>",
        "--output <file>",
        "--log-analytics",
        "--fail-on <status>",
        "--endpoints <file>",
        "--service-tags <file>",
      ])
        assert.ok(r.stdout.includes(option), `scan --help lists ${option}`);
      for (const value of [
        "table",
        "json",
        "ndjson",
        "csv",
        "sarif",
        "AzureCloud",
        "AzureUSGovernment",
        "AzureChinaCloud",
        "NonCompliant",
        "Unverified",
      ])
        assert.ok(r.stdout.includes(value), `scan --help mentions ${value}`);
    });
  });

  void describe(
    "estate inputs: every format gives the demo's verdicts",
    { concurrency: true },
    () => {
      void it("--demo and --input samples/demo-estate.json agree (34 subnets)", async () => {
        const [demo, file] = await Promise.all([demoJson(), demoFileJson()]);
        assert.equal(file.run.source.kind, "file");
        assert.deepEqual(file.run.source.inputs, [DEMO]);
        assert.equal(file.findings.length, 34);
        assert.deepEqual(verdicts(file), verdicts(demo));
      });

      for (const [label, file] of Object.entries(VARIANTS)) {
        void it(label, async () => {
          const [result, baseline] = await Promise.all([
            scanJson(["--input", file]),
            demoFileJson(),
          ]);
          assert.equal(result.run.complete, true);
          assert.deepEqual(result.run.errors, []);
          assert.deepEqual(result.run.counts, DEMO_COUNTS);
          assert.equal(result.findings.length, baseline.findings.length);
          assert.deepEqual(verdicts(result), verdicts(baseline));
        });
      }

      void it("the estate split across two files (JSON array + NDJSON), two --input", async () => {
        const [result, baseline] = await Promise.all([
          scanJson(["--input", splitA, "--input", splitB]),
          demoFileJson(),
        ]);
        assert.deepEqual(result.run.source.inputs, [splitA, splitB]);
        assert.deepEqual(result.run.counts, DEMO_COUNTS);
        assert.deepEqual(verdicts(result), verdicts(baseline));
      });

      void it("stdin via --input -", async () => {
        const [result, baseline] = await Promise.all([
          scanJson(["--input", "-"], { stdin: Buffer.from(demoText, "utf8") }),
          demoFileJson(),
        ]);
        assert.deepEqual(result.run.source.inputs, ["<stdin>"]);
        assert.deepEqual(result.run.counts, DEMO_COUNTS);
        assert.deepEqual(verdicts(result), verdicts(baseline));
      });

      void it("NDJSON on stdin mixed with a file", async () => {
        const [result, baseline] = await Promise.all([
          scanJson(["--input", splitA, "--input", "-"], { stdin: ndjson(demoRows.slice(20)) }),
          demoFileJson(),
        ]);
        assert.deepEqual(verdicts(result), verdicts(baseline));
      });
    },
  );

  void describe("clouds", { concurrency: true }, () => {
    // Platform subnets judge no endpoint (schema 2). Each judged subnet's endpoints, set by set
    // ("kms:ip,ip,..."): the demo's snet-rhel is judged for RHUI too, where the cloud has a list.
    const ipsOf = (result: Result) =>
      new Set(
        result.findings
          .filter((f) => f.status !== "NotApplicable")
          .flatMap((f) => {
            const sets = [...new Set(f.endpoints.map((e) => e.set))];
            assert.deepEqual(sets, f.endpointSets, f.subnetId);
            return sets.map(
              (set) =>
                `${set}:${f.endpoints
                  .filter((e) => e.set === set)
                  .map((e) => e.ip)
                  .join(",")}`,
            );
          }),
      );
    const GOV = new Set([`kms:${US_GOV_KMS_IPS.join(",")}`, `rhui:${RHUI_IPS.join(",")}`]);
    const CHINA = new Set([`kms:${CHINA_KMS_IPS.join(",")}`]);

    void it("--cloud AzureUSGovernment: every finding's endpoints are the US Gov KMS IPs", async () => {
      const result = await scanJson(["--demo", "--cloud", "AzureUSGovernment"]);
      assert.equal(result.run.cloud, "AzureUSGovernment");
      // Azure Government uses the same RHUI 4 servers (redhat-rhui).
      assert.deepEqual(
        result.run.endpoints.map((e) => e.ip),
        [...US_GOV_KMS_IPS, ...RHUI_IPS],
      );
      assert.equal(result.findings.length, 34);
      assert.deepEqual(ipsOf(result), GOV);
      for (const f of result.findings)
        for (const e of f.endpoints) assert.equal(e.port, e.set === "rhui" ? 443 : 1688);
      const sap = result.findings.find((f) => f.subnetName === "snet-sap-app")!;
      assert.deepEqual(sap.missingRoutes, ["52.126.105.2/32", "23.97.0.13/32"]);
    });

    void it("--cloud AzureChinaCloud: every finding's endpoints are the China KMS IPs", async () => {
      const result = await scanJson(["--demo", "--cloud", "AzureChinaCloud"]);
      assert.equal(result.run.cloud, "AzureChinaCloud");
      assert.deepEqual(ipsOf(result), CHINA);
      // No RHUI 4 list for Azure China on the page.
      assert.deepEqual(
        result.run.endpoints.map((e) => e.ip),
        CHINA_KMS_IPS,
      );
    });

    void it("cloud names are accepted case-insensitively", async () => {
      const [gov, china] = await Promise.all([
        scanJson(["--demo", "--cloud", "azureusgovernment"]),
        scanJson(["--demo", "--cloud", "AZURECHINACLOUD"]),
      ]);
      assert.equal(gov.run.cloud, "AzureUSGovernment");
      assert.deepEqual(ipsOf(gov), GOV);
      assert.equal(china.run.cloud, "AzureChinaCloud");
      assert.deepEqual(ipsOf(china), CHINA);
    });

    void it("KMS_AUDIT_CLOUD is used when --cloud is absent, and --cloud wins over it", async () => {
      const [fromEnv, overridden] = await Promise.all([
        scanJson(["--demo"], { env: { KMS_AUDIT_CLOUD: "azurechinacloud" } }),
        scanJson(["--demo", "--cloud", "AzureUSGovernment"], {
          env: { KMS_AUDIT_CLOUD: "AzureChinaCloud" },
        }),
      ]);
      assert.equal(fromEnv.run.cloud, "AzureChinaCloud");
      assert.deepEqual(ipsOf(fromEnv), CHINA);
      assert.equal(overridden.run.cloud, "AzureUSGovernment");
      assert.deepEqual(ipsOf(overridden), GOV);
    });
  });

  void describe("--endpoints", { concurrency: true }, () => {
    void it("extend: the RHUI-like set (port 443) is added to the KMS IPs", async () => {
      const result = await scanJson(["--demo", "--endpoints", endpointsExtend]);
      // A user set named like a built-in one replaces it; without appliesTo it applies to all.
      assert.deepEqual(
        result.run.endpoints.map((e) => `${e.set}:${e.ip}:${e.port}`),
        [...AZURE_KMS_IPS.map((ip) => `kms:${ip}:1688`), `rhui:${RHUI_IP}:443`],
      );
      for (const f of result.findings.filter((x) => x.status !== "NotApplicable")) {
        assert.deepEqual(f.endpointSets, ["kms", "rhui"]);
        assert.deepEqual(
          f.endpoints.map((e) => e.ip),
          [...AZURE_KMS_IPS, RHUI_IP],
        );
        const rhui = f.endpoints[3]!;
        assert.equal(rhui.host, "rhui4-1.microsoft.com");
        assert.equal(rhui.port, 443);
      }
      // The SAP subnet tunnels everything: the RHUI IP is refused and needs a route too.
      const sap = result.findings.find((f) => f.subnetName === "snet-sap-app")!;
      assert.equal(sap.endpoints[3]!.reachable, false);
      assert.deepEqual(
        sap.missingRoutes,
        [...AZURE_KMS_IPS, RHUI_IP].map((ip) => `${ip}/32`),
      );
      // A subnet without forced tunneling reaches it through the system route.
      const frontend = result.findings.find((f) => f.subnetName === "snet-frontend")!;
      assert.equal(frontend.status, "Compliant");
      assert.equal(frontend.endpoints[3]!.reachable, true);
    });

    void it("replace: only the user's set is checked", async () => {
      const result = await scanJson(["--demo", "--endpoints", endpointsReplace]);
      assert.deepEqual(
        result.run.endpoints.map((e) => `${e.set}:${e.ip}:${e.port}`),
        [`rhui:${RHUI_IP}:443`],
      );
      for (const f of result.findings.filter((x) => x.status !== "NotApplicable")) {
        assert.deepEqual(
          f.endpoints.map((e) => `${e.ip}:${e.port}`),
          [`${RHUI_IP}:443`],
        );
      }
      const sap = result.findings.find((f) => f.subnetName === "snet-sap-app")!;
      assert.equal(sap.status, "NonCompliant");
      assert.deepEqual(sap.missingRoutes, [`${RHUI_IP}/32`]);
    });
  });
});

// ---------------------------------------------------------------------------------------------

let sarifValidator: (((data: unknown) => boolean) & { errors?: unknown }) | undefined;

/** Validates against the official SARIF 2.1.0 schema (JSON Schema draft-04) shipped by jest-sarif. */
function assertValidSarif(sarif: unknown, schemaText: string): void {
  if (!sarifValidator) {
    // Both packages are CommonJS with module.exports = exports.default = the export.
    // The schema has a pattern that is invalid as a unicode RegExp ("...-[a-zA-Z]{2}]?$").
    const ajv = new ajvDraft04.default({ strict: false, allErrors: true, unicodeRegExp: false });
    ajvFormats.default(ajv);
    sarifValidator = ajv.compile(JSON.parse(schemaText) as object);
  }
  const validate = sarifValidator;
  assert.ok(validate(sarif), `SARIF schema errors: ${JSON.stringify(validate.errors, null, 2)}`);
}
