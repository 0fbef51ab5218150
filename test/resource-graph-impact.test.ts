import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { InventoryBuilder } from "../src/inventory/inventory.js";
import { createLogger } from "../src/logging/logger.js";
import type { Finding, ScanResult } from "../src/model.js";
import { builtInCatalog } from "../src/catalog/catalog.js";
import { runAudit } from "../src/run-audit.js";
import {
  createResourceGraphSource,
  type ResourceGraphSourceOptions,
} from "../src/sources/resource-graph/index.js";
import {
  IMPACT_ROWS_QUERY,
  IMPACT_TOTALS_QUERY,
  NEXT_HOP_NICS_QUERY,
  RESOURCES_QUERY,
  RESOURCES_WITHOUT_IMPACT_QUERY,
  RULE_COLLECTION_GROUPS_QUERY,
  SUBSCRIPTIONS_QUERY,
  impactPartitionQuery,
} from "../src/sources/resource-graph/queries.js";
import { analyzeKql } from "../scripts/kql-check.js";
import { withNicHeavyImpact } from "../kit/estates/nic-heavy.js";
import { SYNTHETIC_HUB_SUBSCRIPTION, syntheticEstate } from "../kit/estates/synthetic.js";
import {
  startResourceGraphEmulator,
  type ResourceGraphEmulator,
  type ResourceGraphEmulatorOptions,
} from "../kit/emulators/resource-graph.js";
import { limitProblem } from "../kit/emulators/resource-graph-queries.js";
import { memorySource, staticCredential } from "../kit/support/arm.js";

// Resource Graph counts NICs and VMs per subnet (issue 12, item 4) and the live source reads as rows
// only the NICs and VMs a path needs. The verdicts must be those of reading every row: offline
// from the same rows, live with impact "rows", live aggregated. Limits from Microsoft's "Understanding
// the Azure Resource Graph query language" (learn.microsoft.com/azure/governance/resource-graph/
// concepts/query-language): summarize answers come as the first page only, mv-expand expands at
// most 400 elements and at most 2 mv-expand / 3 join / 3 union legs per query.

const logger = createLogger({ level: "silent" });
const emulators: ResourceGraphEmulator[] = [];
after(() => Promise.all(emulators.map((e) => e.close())));

async function emulator(rows: ArmRow[], options: Partial<ResourceGraphEmulatorOptions> = {}) {
  const e = await startResourceGraphEmulator({
    rows,
    isValidToken: (t) => t === "test-token",
    ...options,
  });
  emulators.push(e);
  return e;
}

async function live(e: ResourceGraphEmulator, options: Partial<ResourceGraphSourceOptions> = {}) {
  return (
    await runAudit(
      {
        source: createResourceGraphSource({
          cloud: "AzureCloud",
          armEndpoint: e.url,
          credential: staticCredential,
          clientOptions: { tlsOptions: { ca: e.certificate.cert } },
          retry: { maxRetries: 1, baseDelayInMs: 1, maxDelayInMs: 1 },
          ...options,
        }),
        cloud: "AzureCloud",
        catalog: builtInCatalog("AzureCloud"),
      },
      { logger },
    )
  ).result;
}

async function offline(rows: ArmRow[]) {
  return (
    await runAudit(
      {
        source: memorySource(rows),
        cloud: "AzureCloud",
        catalog: builtInCatalog("AzureCloud"),
      },
      { logger },
    )
  ).result;
}

/** What a finding says, whatever the run. */
function verdicts(result: ScanResult): Map<string, unknown> {
  return new Map(
    result.findings.map((f: Finding) => {
      return [f.subnetId.toLowerCase(), JSON.parse(JSON.stringify(f)) as unknown];
    }),
  );
}

function nicHeavy(subnets: number, seed: number): ArmRow[] {
  const rows = [...withNicHeavyImpact(syntheticEstate({ subnets, vmShare: 0, seed }), { seed })];
  // The appliance the synthetic route tables name (10.0.1.4), without IP forwarding: a next hop
  // that drops traffic, found only by the next-hop query (IP forwarding off is not a reason to read
  // a NIC row).
  const hub = `/subscriptions/${SYNTHETIC_HUB_SUBSCRIPTION}/resourceGroups/rg-hub`;
  rows.push({
    id: `${hub}/providers/Microsoft.Network/networkInterfaces/nic-nva`,
    name: "nic-nva",
    type: "microsoft.network/networkinterfaces",
    location: "westeurope",
    subscriptionId: SYNTHETIC_HUB_SUBSCRIPTION,
    resourceGroup: "rg-hub",
    properties: {
      enableIPForwarding: false,
      ipConfigurations: [
        {
          name: "ipconfig1",
          properties: {
            privateIPAddress: "10.0.1.4",
            subnet: {
              id: `${hub}/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-shared`,
            },
          },
        },
      ],
    },
  });
  return rows;
}

const partitionRequests = (e: ResourceGraphEmulator) =>
  e.requests.filter((r) => r.query.includes("hash(virtualNetworkId"));
/** Reads of every NIC and VM row (first pages: one per scope). */
const rowFallbacks = (e: ResourceGraphEmulator) =>
  e.requests.filter((r) => r.query === IMPACT_ROWS_QUERY && r.page === 1);

void describe("Resource Graph impact aggregates (real SDK against the emulator)", () => {
  void it("aggregated, every verdict is what reading every row gives, in far fewer pages", async () => {
    const rows = nicHeavy(2_400, 3);
    const nicRows = rows.filter((r) => r.type === "microsoft.network/networkinterfaces").length;
    assert.ok(nicRows > 10_000, `a NIC-heavy estate (${nicRows} NICs)`);
    const expected = verdicts(await offline(rows));
    const aggregated = await emulator(rows);
    const a = await live(aggregated);
    const byRows = await emulator(rows);
    const r = await live(byRows, { impact: "rows" });
    assert.equal(a.run.complete, true, JSON.stringify(a.run.errors));
    assert.equal(r.run.complete, true, JSON.stringify(r.run.errors));
    assert.deepEqual(verdicts(a), expected);
    assert.deepEqual(verdicts(r), expected);
    // Every kind of verdict the NICs can change is in the estate.
    const reasons = new Set([...expected.values()].flatMap((f) => (f as Finding).reasons));
    for (const code of ["PRIVATE_SUBNET_NO_OUTBOUND", "NVA_IP_FORWARDING_DISABLED"])
      assert.ok(reasons.has(code as never), `the estate exercises ${code}`);
    // 2,400 subnets in 480 VNets: one partition of one page; no row fallback.
    assert.equal(partitionRequests(aggregated).length, 1);
    assert.equal(rowFallbacks(aggregated).length, 0);
    const pages = (e: ResourceGraphEmulator) => e.servedPages().length;
    assert.ok(
      pages(aggregated) * 2 < pages(byRows),
      `aggregated ${pages(aggregated)} pages, rows ${pages(byRows)}`,
    );
  });

  void it("a NIC with more IP configurations than mv-expand expands: NIC and VM rows instead", async () => {
    const rows = nicHeavy(200, 5);
    const nic = rows.find((x) => x.type === "microsoft.network/networkinterfaces")!;
    const props = nic.properties as { ipConfigurations: unknown[] };
    const first = props.ipConfigurations[0] as { properties: Record<string, unknown> };
    props.ipConfigurations = Array.from({ length: 401 }, (_, i) => ({
      name: `ipconfig${i + 1}`,
      properties: { ...first.properties, primary: i === 0 },
    }));
    const e = await emulator(rows);
    const a = await live(e);
    assert.equal(a.run.complete, true);
    assert.deepEqual(verdicts(a), verdicts(await offline(rows)));
    assert.equal(partitionRequests(e).length, 0, "no partition is read");
    assert.equal(rowFallbacks(e).length, 1);
  });

  void it("a partition answer at the page limit (a bad estimate): rows instead, never short counts", async () => {
    const rows = [
      ...withNicHeavyImpact(
        syntheticEstate({ subnets: 1_100, subnetsPerVnet: 1, vmShare: 0, seed: 9 }),
        {
          share: 1,
          nics: 1,
          vms: 1,
          privateShare: 0.5,
          seed: 9,
        },
      ),
    ];
    const e = await emulator(rows, { impactVirtualNetworksScale: 0.5 });
    const a = await live(e);
    assert.equal(a.run.complete, true);
    assert.deepEqual(verdicts(a), verdicts(await offline(rows)));
    assert.equal(partitionRequests(e).length, 1, "one partition sized for 550 VNets");
    assert.equal(rowFallbacks(e).length, 1);
  });

  void it("a partition Resource Graph keeps failing: rows instead, and the run is complete", async () => {
    const rows = nicHeavy(300, 7);
    const e = await emulator(rows);
    e.injectFault({
      status: 503,
      times: Infinity,
      when: (r) => r.query.includes("hash(virtualNetworkId"),
    });
    const a = await live(e);
    assert.equal(a.run.complete, true, JSON.stringify(a.run.errors));
    assert.deepEqual(verdicts(a), verdicts(await offline(rows)));
    assert.equal(rowFallbacks(e).length, 1);
  });

  void it("NIC and VM rows that fail too make the run incomplete, as any unread page does", async () => {
    const rows = nicHeavy(300, 8);
    const e = await emulator(rows);
    e.injectFault({
      status: 503,
      times: Infinity,
      when: (r) => r.query.includes("hash(virtualNetworkId") || r.query === IMPACT_ROWS_QUERY,
    });
    const a = await live(e);
    assert.equal(a.run.complete, false);
    assert.ok(a.run.errors.some((x) => x.code === "PAGE_NOT_READABLE"));
  });
});

void describe("impact rows in the inventory", () => {
  const subnetId =
    "/subscriptions/5a1b0000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s";
  const vnet: ArmRow = {
    id: subnetId.slice(0, subnetId.indexOf("/subnets/")),
    name: "v",
    type: "microsoft.network/virtualnetworks",
    properties: {
      addressSpace: { addressPrefixes: ["10.1.0.0/16"] },
      subnets: [{ id: subnetId, name: "s", properties: { addressPrefix: "10.1.0.0/24" } }],
    },
  };
  const impact = (extra: Record<string, unknown>): ArmRow => ({
    id: `${vnet.id}/kmsRouteAuditImpact`,
    type: "kms-route-audit/virtualnetworkimpact",
    subnets: [
      {
        subnetId,
        networkInterfaces: 10,
        windowsVirtualMachines: 3,
        linuxVirtualMachines: 3,
        rhelPayAsYouGoVirtualMachines: 1,
        slesPayAsYouGoVirtualMachines: 1,
        vmNic: `${subnetId}/nic`,
        ...extra,
      },
    ],
  });
  const totals: ArmRow = {
    id: "kms-route-audit/impacttotals/tenant",
    type: "kms-route-audit/impacttotals",
    networkInterfaces: 10,
    virtualMachines: 6,
  };
  const build = (rows: ArmRow[]) => {
    const b = new InventoryBuilder();
    for (const row of rows) b.add(row);
    return b.finish();
  };

  it("counts stand for the subnet's rows; NIC rows read beside them add nothing to the counts", () => {
    const nicRow: ArmRow = {
      id: `${subnetId.slice(0, subnetId.indexOf("/providers/"))}/providers/Microsoft.Network/networkInterfaces/with-pip`,
      type: "microsoft.network/networkinterfaces",
      properties: {
        ipConfigurations: [
          { properties: { subnet: { id: subnetId }, publicIPAddress: { id: "/x/pip" } } },
        ],
      },
    };
    const inventory = build([vnet, totals, impact({}), nicRow]);
    const key = subnetId.toLowerCase();
    assert.deepEqual(inventory.impactBySubnet.get(key), {
      networkInterfaces: 10,
      windowsVirtualMachines: 3,
      windowsScaleSetInstances: null,
      linuxVirtualMachines: 3,
      rhelPayAsYouGoVirtualMachines: 1,
      slesPayAsYouGoVirtualMachines: 1,
    });
    assert.equal(inventory.nicsBySubnet.get(key)?.withPublicIp, 1);
    assert.equal(inventory.vmNicsBySubnet.get(key), `${subnetId}/nic`);
  });

  it("a count that is not a count makes that subnet's impact unknown, never zero", () => {
    const inventory = build([vnet, totals, impact({ networkInterfaces: "ten" })]);
    assert.equal(inventory.impactBySubnet.get(subnetId.toLowerCase())?.networkInterfaces, null);
    assert.ok(inventory.problems.some((p) => p.field === "subnets[0].networkInterfaces"));
  });

  it("counts that name no subnet are a run error", () => {
    const inventory = build([vnet, totals, impact({ subnetId: undefined })]);
    assert.equal(inventory.errors[0]?.code, "RESOURCE_MALFORMED");
    const notAList = build([vnet, totals, { ...impact({}), subnets: "many" }]);
    assert.equal(notAList.errors[0]?.code, "RESOURCE_MALFORMED");
  });
});

void describe("the live queries", () => {
  const resourceColumns = [
    "id:string",
    "name:string",
    "type:string",
    "tenantId:string",
    // (kind:string too, but the language service's schema parser takes `kind` for a keyword)
    "location:string",
    "resourceGroup:string",
    "subscriptionId:string",
    "managedBy:string",
    "sku:dynamic",
    "plan:dynamic",
    "properties:dynamic",
    "tags:dynamic",
    "identity:dynamic",
    "zones:dynamic",
    "extendedLocation:dynamic",
  ].map((c) => {
    const [name, type] = c.split(":") as [string, string];
    return { name, type, description: name };
  });
  const tables = ["resources", "resourcecontainers", "networkresources"].map((name) => ({
    name,
    stream: name,
    description: name,
    columns: resourceColumns,
  })) as never;
  const queries: [string, string][] = [
    ["subscriptions", SUBSCRIPTIONS_QUERY],
    ["resources", RESOURCES_QUERY],
    ["resources without impact", RESOURCES_WITHOUT_IMPACT_QUERY],
    ["rule collection groups", RULE_COLLECTION_GROUPS_QUERY],
    ["next-hop NICs", NEXT_HOP_NICS_QUERY],
    ["impact totals", IMPACT_TOTALS_QUERY],
    ["impact rows", IMPACT_ROWS_QUERY],
    ["impact partition", impactPartitionQuery(2, 5)],
  ];

  for (const [name, query] of queries) {
    it(`${name}: parses and resolves with the Kusto language service`, () => {
      const errors = analyzeKql(query, tables).filter((p) => p.severity === "Error");
      assert.deepEqual(errors, [], `${name}:\n${query}`);
    });
    it(`${name}: within Resource Graph's operator limits`, () => {
      assert.equal(limitProblem(query), null);
    });
  }

  it("partitions are numbered from 0 below their count", () => {
    assert.throws(() => impactPartitionQuery(5, 5), RangeError);
    assert.throws(() => impactPartitionQuery(0, 0), RangeError);
  });
});
