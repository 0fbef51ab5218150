import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { buildInventory } from "../src/inventory/inventory.js";
import {
  EstateBuilder,
  SUB,
  audit,
  auditResult,
  findingFor,
  singleSubnet,
} from "./support/estate-builder.js";

// These tests are about reading rows, not about paths: "tunnelled" routes go to the VNet gateway,
// which is on-premises whatever else the estate holds (DESIGN.md section 3, rule 2). A
// VirtualAppliance next hop without an appliance in the inventory would be unknown instead.
const FW = "VirtualNetworkGateway";
const rid = (type: string, name: string, rg = "rg-net") =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/${type}/${name}`;

describe("inventory: IDs, duplicates and shapes", () => {
  it("matches a subnet to its route table when the IDs differ in case", () => {
    const b = new EstateBuilder();
    const rt = b.routeTable("rt-Spoke", [["0.0.0.0/0", FW]]);
    b.vnet("vnet", [
      { name: "snet", routeTable: rt.toLowerCase().replace("rt-spoke", "RT-SPOKE") },
    ]);
    const f = findingFor(audit(b.rows), "snet");
    assert.equal(f.status, "NonCompliant");
    assert.equal(f.routeTableId, rt, "reports the route table's own ID spelling");
    assert.equal(f.routeTableName, "rt-Spoke");
  });

  it("counts identical rows duplicated in another case once", () => {
    const rows = singleSubnet([["0.0.0.0/0", FW]]);
    const dupes = rows.map((r) => ({ ...r, id: r.id.toUpperCase() }));
    const { findings, warnings } = auditResult([...rows, ...dupes, ...rows]);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.status, "NonCompliant");
    assert.deepEqual(warnings, []);
  });

  // Schema 2 (brief: RESOURCE_CONFLICTING): duplicates that disagree are no longer first-wins;
  // which copy is true is unknown, so what depends on it is Unverified and the run warns.
  it("rows duplicated in another case with different contents make the resource unknown", () => {
    const rows = singleSubnet([["0.0.0.0/0", FW]]);
    const table = rows.find((r) => r.type === "microsoft.network/routetables")!;
    const dupe = { ...table, id: table.id.toUpperCase(), properties: { routes: [] } };
    const { findings, warnings } = auditResult([...rows, dupe]);
    const f = findingFor(findings, "snet");
    assert.equal(f.status, "Unverified");
    assert.deepEqual(f.reasons, ["RESOURCE_CONFLICTING"]);
    assert.ok(
      f.endpoints.every((e) => e.reachable === null && e.reason === "RESOURCE_CONFLICTING"),
    );
    assert.deepEqual(
      warnings.map((w) => [w.code, w.target]),
      [["RESOURCE_MALFORMED", dupe.id]],
    );
  });

  it("audits subnets named only in a route table's subnets list", () => {
    const b = new EstateBuilder();
    const orphanTunnel =
      rid("Microsoft.Network/virtualNetworks", "vnet-elsewhere") + "/subnets/snet-a";
    const orphanBypass =
      rid("Microsoft.Network/virtualNetworks", "vnet-elsewhere") + "/subnets/snet-b";
    b.routeTable("rt-tunnel", [["0.0.0.0/0", FW]], { subnets: [orphanTunnel] });
    b.routeTable(
      "rt-bypass",
      [
        ["0.0.0.0/0", FW],
        ["20.118.99.224/32", "Internet"],
        ["40.83.235.53/32", "Internet"],
        ["23.102.135.246/32", "Internet"],
      ],
      { subnets: [orphanBypass] },
    );
    const findings = audit(b.rows);
    const a = findingFor(findings, "snet-a");
    assert.equal(a.status, "NonCompliant");
    assert.equal(a.virtualNetworkName, "vnet-elsewhere");
    assert.equal(a.subscriptionId, SUB);
    assert.equal(a.resourceGroup, "rg-net");
    // Bypassed to the Internet, but whether the subnet is private (or has a NAT gateway or an NSG) is in
    // the VNet row the inventory lacks: unknown, never Compliant (DESIGN.md section 3, rule 4).
    const b2 = findingFor(findings, "snet-b");
    assert.equal(b2.status, "Unverified");
    assert.deepEqual(b2.reasons, ["NSG_RULES_UNKNOWN", "OUTBOUND_ACCESS_UNKNOWN"]);
  });

  it("an orphan subnet whose table covers no KMS IP stays Unverified (its VNet's gateways are unknown)", () => {
    const b = new EstateBuilder();
    b.routeTable("rt", [["10.0.0.0/8", FW]], {
      subnets: [rid("Microsoft.Network/virtualNetworks", "v") + "/subnets/s"],
    });
    assert.equal(findingFor(audit(b.rows), "s").status, "Unverified");
  });

  it("uses the route table's back-reference when the subnet row omits routeTable", () => {
    const b = new EstateBuilder();
    const vnet = b.vnet("vnet", [{ name: "snet" }]);
    b.routeTable("rt", [["0.0.0.0/0", FW]], { subnets: [`${vnet}/subnets/SNET`] });
    assert.equal(findingFor(audit(b.rows), "snet").status, "NonCompliant");
  });

  it("a subnet whose route table is not in the inventory is Unverified, never Compliant", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [{ name: "snet", routeTable: rid("Microsoft.Network/routeTables", "rt-gone") }]);
    const f = findingFor(audit(b.rows), "snet");
    assert.equal(f.status, "Unverified");
    assert.deepEqual(f.reasons, ["ROUTE_TABLE_NOT_FOUND"]);
    assert.equal(f.routeTableName, "rt-gone");
    assert.match(f.remediation!.azureCli, /--route-table-name 'rt-gone'/);
  });

  it("a route table row without its routes list is unreadable, never taken as empty", () => {
    for (const properties of [undefined, {}, { routes: "0.0.0.0/0" }, { routes: null }]) {
      const rtId = rid("Microsoft.Network/routeTables", "rt");
      const b = new EstateBuilder();
      b.add({
        id: rtId,
        type: "Microsoft.Network/routeTables",
        ...(properties ? { properties } : {}),
      });
      b.vnet("vnet", [{ name: "snet", routeTable: rtId }]);
      const f = findingFor(audit(b.rows), "snet");
      assert.equal(f.status, "Unverified", JSON.stringify(properties));
      assert.deepEqual(f.reasons, ["ROUTE_TABLE_UNREADABLE"]);
      assert.ok(f.endpoints.every((e) => e.reachable === null));
    }
  });

  it("route rows fill in a route table row that came without its routes list", () => {
    const rtId = rid("Microsoft.Network/routeTables", "rt");
    const b = new EstateBuilder();
    b.add(
      { id: rtId, type: "Microsoft.Network/routeTables", properties: {} },
      {
        id: `${rtId}/routes/d`,
        type: "Microsoft.Network/routeTables/routes",
        properties: { addressPrefix: "0.0.0.0/0", nextHopType: "Internet" },
      },
    );
    b.vnet("vnet", [{ name: "snet", routeTable: rtId }]);
    assert.equal(findingFor(audit(b.rows), "snet").status, "Compliant");
  });

  it("reads separate subnet rows and route rows (ARM list exports); a VNet row without its subnets list makes the run incomplete", () => {
    const vnetId = rid("Microsoft.Network/virtualNetworks", "vnet");
    const rtId = rid("Microsoft.Network/routeTables", "rt");
    const rows: ArmRow[] = [
      { id: rtId, type: "Microsoft.Network/routeTables", properties: { routes: [] } },
      {
        id: `${rtId}/routes/default`,
        name: "default",
        type: "Microsoft.Network/routeTables/routes",
        properties: { addressPrefix: "0.0.0.0/0", nextHopType: FW },
      },
      { id: vnetId, type: "Microsoft.Network/virtualNetworks", properties: {} },
      {
        id: `${vnetId}/subnets/snet`,
        name: "snet",
        type: "Microsoft.Network/virtualNetworks/subnets",
        properties: { routeTable: { id: rtId } },
      },
    ];
    assert.equal(findingFor(audit(rows), "snet").status, "NonCompliant");
    // Schema 2 (brief): without properties.subnets the VNet may have subnets the export lacks,
    // so the run is incomplete (a run error), though the subnet row is still judged.
    assert.deepEqual(
      buildInventory(rows).errors.map((e) => [e.code, e.target]),
      [["RESOURCE_MALFORMED", vnetId]],
    );
    rows[2] = { ...rows[2]!, properties: { subnets: [] } };
    assert.deepEqual(buildInventory(rows).errors, []);
    assert.equal(findingFor(audit(rows), "snet").status, "NonCompliant");
  });

  it("reads flat routes as the SDK serialises them", () => {
    const rtId = rid("Microsoft.Network/routeTables", "rt");
    const rows: ArmRow[] = [
      {
        id: rtId,
        type: "Microsoft.Network/routeTables",
        properties: {
          routes: [{ name: "d", addressPrefix: "0.0.0.0/0", nextHopType: "VirtualNetworkGateway" }],
        },
      },
      {
        id: rid("Microsoft.Network/virtualNetworks", "vnet"),
        type: "Microsoft.Network/virtualNetworks",
        properties: { subnets: [{ name: "snet", properties: { routeTable: { id: rtId } } }] },
      },
    ];
    const f = findingFor(audit(rows), "snet");
    assert.equal(f.status, "NonCompliant");
    assert.equal(f.severity, "high");
    assert.equal(f.subnetId, `${rid("Microsoft.Network/virtualNetworks", "vnet")}/subnets/snet`);
  });

  it("takes subscription and resource group from the ID when rows omit them", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [{ name: "snet" }]);
    const f = findingFor(audit(b.rows), "snet");
    assert.equal(f.subscriptionId, SUB);
    assert.equal(f.resourceGroup, "rg-net");
  });

  it("names subscriptions from resource-container rows", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [{ name: "snet" }]);
    b.add({
      id: `/subscriptions/${SUB}`,
      type: "microsoft.resources/subscriptions",
      name: "Corp Prod",
      subscriptionId: SUB,
    });
    assert.equal(findingFor(audit(b.rows), "snet").subscriptionName, "Corp Prod");
  });

  it("ignores other resource types", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [{ name: "snet" }]);
    b.add({
      id: rid("Microsoft.Storage/storageAccounts", "st"),
      type: "Microsoft.Storage/storageAccounts",
      properties: { subnets: "odd" },
    });
    assert.equal(audit(b.rows).length, 1);
  });
});

describe("inventory: missing and odd properties never crash", () => {
  const rtId = rid("Microsoft.Network/routeTables", "rt");
  const odd: [string, ArmRow[]][] = [
    ["route table without properties", [{ id: rtId, type: "microsoft.network/routetables" }]],
    [
      "routes is not an array",
      [{ id: rtId, type: "microsoft.network/routetables", properties: { routes: "x" } }],
    ],
    [
      "route entries of every wrong kind",
      [
        {
          id: rtId,
          type: "microsoft.network/routetables",
          properties: {
            routes: [
              null,
              1,
              "r",
              [],
              { name: 5 },
              { properties: null },
              { properties: { addressPrefix: null, nextHopType: 7 } },
            ],
          },
        },
      ],
    ],
    [
      "VNet with null properties",
      [
        {
          id: rid("Microsoft.Network/virtualNetworks", "v"),
          type: "microsoft.network/virtualnetworks",
          properties: null,
        },
      ],
    ],
    [
      "subnets without names or IDs",
      [
        {
          id: rid("Microsoft.Network/virtualNetworks", "v"),
          type: "microsoft.network/virtualnetworks",
          properties: { subnets: [{}, null, { properties: { routeTable: "x" } }] },
        },
      ],
    ],
    [
      "peerings of odd shapes",
      [
        {
          id: rid("Microsoft.Network/virtualNetworks", "v"),
          type: "microsoft.network/virtualnetworks",
          properties: {
            subnets: [{ name: "s" }],
            virtualNetworkPeerings: [
              null,
              { properties: { remoteVirtualNetwork: "x", useRemoteGateways: "yes" } },
            ],
          },
        },
      ],
    ],
    [
      "gateway without ipConfigurations",
      [
        {
          id: rid("Microsoft.Network/virtualNetworkGateways", "g"),
          type: "microsoft.network/virtualnetworkgateways",
          properties: {},
        },
      ],
    ],
    [
      "NIC, VM and scale set with nothing in them",
      [
        {
          id: rid("Microsoft.Network/networkInterfaces", "n"),
          type: "microsoft.network/networkinterfaces",
        },
        {
          id: rid("Microsoft.Compute/virtualMachines", "m"),
          type: "microsoft.compute/virtualmachines",
          properties: { networkProfile: { networkInterfaces: [null, {}] } },
        },
        {
          id: rid("Microsoft.Compute/virtualMachineScaleSets", "s"),
          type: "microsoft.compute/virtualmachinescalesets",
          sku: "big",
          properties: { virtualMachineProfile: null },
        },
      ],
    ],
  ];
  for (const [name, rows] of odd) {
    it(name, () => {
      const b = new EstateBuilder();
      b.vnet("vnet-ok", [{ name: "snet-ok", routeTable: rtId }]);
      const findings = audit([...b.rows, ...rows]);
      const f = findingFor(findings, "snet-ok");
      assert.ok(["Compliant", "Unverified", "NonCompliant"].includes(f.status));
      for (const finding of findings) assert.equal(finding.endpoints.length, 3);
    });
  }
});

describe("impact", () => {
  function estateWithWorkloads(): ArmRow[] {
    const b = new EstateBuilder();
    const vnet = b.vnet("vnet", [
      { name: "snet", routeTable: b.routeTable("rt", [["0.0.0.0/0", FW]]) },
      { name: "other" },
    ]);
    const subnet = `${vnet}/subnets/snet`;
    const nic = (name: string, vm?: string, subnetId = subnet): ArmRow => ({
      id: rid("Microsoft.Network/networkInterfaces", name),
      type: "microsoft.network/networkinterfaces",
      properties: {
        ipConfigurations: [
          { properties: { subnet: { id: subnetId.toUpperCase() } } },
          { properties: { subnet: { id: subnetId } } },
        ],
        ...(vm ? { virtualMachine: { id: rid("Microsoft.Compute/virtualMachines", vm) } } : {}),
      },
    });
    const vm = (name: string, os: Record<string, unknown>, nics: string[] = []): ArmRow => ({
      id: rid("Microsoft.Compute/virtualMachines", name),
      type: "microsoft.compute/virtualmachines",
      properties: {
        ...os,
        networkProfile: {
          networkInterfaces: nics.map((n) => ({
            id: rid("Microsoft.Network/networkInterfaces", n),
          })),
        },
      },
    });
    const vmss = (name: string, mode: string, osType: string, capacity: number): ArmRow => ({
      id: rid("Microsoft.Compute/virtualMachineScaleSets", name),
      type: "microsoft.compute/virtualmachinescalesets",
      sku: { capacity },
      properties: {
        orchestrationMode: mode,
        virtualMachineProfile: {
          storageProfile: { osDisk: { osType } },
          networkProfile: {
            networkInterfaceConfigurations: [
              { properties: { ipConfigurations: [{ properties: { subnet: { id: subnet } } }] } },
            ],
          },
        },
      },
    });
    return [
      ...b.rows,
      nic("nic-win1", "win1"),
      nic("nic-win2"), // linked only from the VM side
      nic("nic-linux", "linux1"),
      nic("nic-unattached"),
      nic("nic-other", "win-other", `${vnet}/subnets/other`),
      vm("win1", { storageProfile: { osDisk: { osType: "Windows" } } }),
      vm("win2", { osProfile: { windowsConfiguration: {} } }, ["nic-win2"]),
      vm("linux1", { storageProfile: { osDisk: { osType: "Linux" } } }),
      vm("win-other", {
        storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer" } },
      }),
      vmss("vmss-uniform", "Uniform", "Windows", 5),
      vmss("vmss-flex", "Flexible", "Windows", 7),
      vmss("vmss-linux", "Uniform", "Linux", 9),
    ];
  }

  it("counts NICs, Windows VMs and Windows uniform scale-set instances per subnet", () => {
    const findings = audit(estateWithWorkloads());
    assert.deepEqual(findingFor(findings, "snet").impact, {
      networkInterfaces: 4,
      windowsVirtualMachines: 2,
      windowsScaleSetInstances: 5,
      linuxVirtualMachines: 1,
      rhelPayAsYouGoVirtualMachines: 0,
      slesPayAsYouGoVirtualMachines: 0,
    });
    assert.deepEqual(findingFor(findings, "other").impact, {
      networkInterfaces: 1,
      windowsVirtualMachines: 1,
      windowsScaleSetInstances: 0,
      linuxVirtualMachines: 0,
      rhelPayAsYouGoVirtualMachines: 0,
      slesPayAsYouGoVirtualMachines: 0,
    });
  });

  it("reports null counts when the inventory has no rows of a kind", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [{ name: "snet" }]);
    assert.deepEqual(findingFor(audit(b.rows), "snet").impact, {
      networkInterfaces: null,
      windowsVirtualMachines: null,
      windowsScaleSetInstances: null,
      linuxVirtualMachines: null,
      rhelPayAsYouGoVirtualMachines: null,
      slesPayAsYouGoVirtualMachines: null,
    });
  });
});
