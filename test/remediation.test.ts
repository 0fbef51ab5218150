import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { routeFix, type RouteFixTarget } from "../src/audit/fixes/routes.js";
import {
  EstateBuilder,
  HUB_FIREWALL_IP,
  SUB,
  audit,
  findingFor,
  singleSubnet,
} from "./support/estate-builder.js";

/** The route fix alone, as the audit builds it for a subnet whose routing is the cause. */
function buildRemediation(target: RouteFixTarget) {
  return routeFix(target, ["KMS_ROUTES_MISSING"]);
}

describe("remediation", () => {
  it("adds only the missing routes to the subnet's own route table", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [
      {
        name: "snet",
        routeTable: b.routeTable("rt-spoke", [
          ["0.0.0.0/0", "VirtualNetworkGateway"],
          ["23.102.135.246/32", "Internet", "kms-legacy"],
        ]),
      },
    ]);
    const r = findingFor(audit(b.rows), "snet").remediation!;
    const creates = r.azureCli.split("\n").filter((l) => l.includes("route create"));
    assert.deepEqual(creates, [
      "az network route-table route create --resource-group 'rg-net' --route-table-name 'rt-spoke' --name 'kms-20-118-99-224' --address-prefix 20.118.99.224/32 --next-hop-type Internet",
      "az network route-table route create --resource-group 'rg-net' --route-table-name 'rt-spoke' --name 'kms-40-83-235-53' --address-prefix 40.83.235.53/32 --next-hop-type Internet",
    ]);
    assert.match(r.azureCli, new RegExp(`^az account set --subscription '${SUB}'`));
    assert.doesNotMatch(r.azureCli, /23\.102\.135\.246/);
    assert.equal((r.powershell.match(/Add-AzRouteConfig/g) ?? []).length, 2);
    assert.match(r.powershell, /Get-AzRouteTable -ResourceGroupName 'rg-net' -Name 'rt-spoke'/);
    assert.match(r.powershell, /\$rt \| Set-AzRouteTable/);
    assert.doesNotMatch(r.powershell, /AzureRM|New-AzureRm/);
    assert.equal((r.bicep.match(/Microsoft\.Network\/routeTables\/routes@/g) ?? []).length, 2);
    assert.match(r.bicep, /existing = \{\n {2}name: 'rt-spoke'/);
  });

  // Schema 2: remediation is a LazyRemediation (scripts built when first read, getters on the
  // class), so it is plain data through JSON (toJSON), no longer through a spread.
  it("scripts built when first read serialize as plain data and read the same twice", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [{ name: "snet", routeTable: b.routeTable("rt", [["0.0.0.0/0", "None"]]) }]);
    const finding = findingFor(audit(b.rows), "snet");
    const r = finding.remediation!;
    const plain = {
      azureCli: r.azureCli,
      powershell: r.powershell,
      bicep: r.bicep,
      fixes: JSON.parse(JSON.stringify(r.fixes)) as unknown,
    };
    const json = JSON.parse(JSON.stringify(finding)) as typeof finding;
    assert.deepEqual(json.remediation, plain);
    assert.deepEqual(Object.keys(json.remediation ?? {}), [
      "azureCli",
      "powershell",
      "bicep",
      "fixes",
    ]);
    assert.equal(r.bicep, plain.bicep, "a second read gives the same text");
    assert.match(plain.azureCli, /--address-prefix 20\.118\.99\.224\/32 --next-hop-type Internet/);
    // One fix: the top-level scripts are that fix's scripts (schema 1 had only these).
    assert.deepEqual(
      r.fixes.map((f) => [f.kind, f.causes, f.azureCli === r.azureCli]),
      [["routes", ["DEFAULT_ROUTE_BLACKHOLED"], true]],
    );
  });

  it("updates a KMS host route that has the wrong next hop instead of adding a duplicate", () => {
    const rows = singleSubnet(
      [
        ["20.118.99.224/32", "VirtualAppliance", "kms-new", HUB_FIREWALL_IP],
        ["40.83.235.53/32", "Internet"],
        ["23.102.135.246/32", "Internet"],
      ],
      { hubFirewall: "forcedTunnel" },
    );
    const r = findingFor(audit(rows), "snet").remediation!;
    assert.match(
      r.azureCli,
      /route update .* --name 'kms-new' --address-prefix 20\.118\.99\.224\/32 --next-hop-type Internet/,
    );
    assert.doesNotMatch(r.azureCli, /route create/);
    assert.match(r.powershell, /Set-AzRouteConfig -RouteTable \$rt -Name 'kms-new'/);
  });

  it("recognises an existing KMS host route written with stray white space", () => {
    const rows = singleSubnet(
      [
        ["0.0.0.0/0", "VirtualAppliance", "to-fw", HUB_FIREWALL_IP],
        ["20.118.99.224/32 ", "VirtualAppliance", "kms-a", HUB_FIREWALL_IP],
      ],
      { hubFirewall: "forcedTunnel" },
    );
    const r = findingFor(audit(rows), "snet").remediation!;
    assert.match(
      r.azureCli,
      /route update .* --name 'kms-a' --address-prefix 20\.118\.99\.224\/32/,
    );
    assert.equal((r.azureCli.match(/20\.118\.99\.224/g) ?? []).length, 1);
  });

  it("picks a free name when the predictable one is taken by another route", () => {
    const rows = singleSubnet([["0.0.0.0/0", "VirtualNetworkGateway", "kms-20-118-99-224"]]);
    const r = findingFor(audit(rows), "snet").remediation!;
    assert.match(r.azureCli, /--name 'kms-20-118-99-224-2' --address-prefix 20\.118\.99\.224\/32/);
  });

  it("creates and associates a route table for a subnet that has none", () => {
    const b = new EstateBuilder();
    b.vnet("vnet-spoke", [{ name: "snet-app" }], { gateway: true });
    const r = findingFor(audit(b.rows), "snet-app").remediation!;
    assert.match(
      r.azureCli,
      /az network route-table create --resource-group 'rg-net' --name 'rt-vnet-spoke-snet-app-kms' --location 'westeurope'/,
    );
    assert.match(
      r.azureCli,
      /az network vnet subnet update --resource-group 'rg-net' --vnet-name 'vnet-spoke' --name 'snet-app' --route-table 'rt-vnet-spoke-snet-app-kms'/,
    );
    assert.match(r.powershell, /New-AzRouteTable/);
    assert.match(r.bicep, /resource routeTable 'Microsoft\.Network\/routeTables@[\d-]+' = \{/);
  });

  it("quotes names so pasted commands cannot be hijacked by odd data", () => {
    const r = buildRemediation({
      subnetName: "s",
      virtualNetworkName: "v",
      subscriptionId: SUB,
      resourceGroup: "rg",
      location: "westeurope",
      routeTableId: `/subscriptions/${SUB}/resourceGroups/rg'; rm -rf ~; '/providers/Microsoft.Network/routeTables/t$(whoami)`,
      existingRoutes: [],
      missing: [{ set: "kms", ip: "20.118.99.224" }],
    });
    assert.match(
      r.azureCli,
      /--resource-group 'rg'\\''; rm -rf ~; '\\''' --route-table-name 't\$\(whoami\)'/,
    );
    assert.match(r.powershell, /-ResourceGroupName 'rg''; rm -rf ~; ''' -Name 't\$\(whoami\)'/);
    assert.match(r.bicep, /name: 't\$\(whoami\)'/);
  });

  it("doubles PowerShell's typographic quotes and keeps Bicep comments on one line", () => {
    const r = buildRemediation({
      subnetName: "s\nresource evil 'x' = {}",
      virtualNetworkName: "v",
      subscriptionId: SUB,
      resourceGroup: "rg",
      location: "westeurope",
      routeTableId: `/subscriptions/${SUB}/resourceGroups/rg\u2019; Remove-AzResourceGroup x; \u2019/providers/Microsoft.Network/routeTables/t`,
      existingRoutes: [],
      missing: [{ set: "kms", ip: "20.118.99.224" }],
    });
    assert.match(
      r.powershell,
      /-ResourceGroupName 'rg\u2019\u2019; Remove-AzResourceGroup x; \u2019\u2019'/,
    );
    const created = buildRemediation({
      subnetName: "s\nresource evil 'x' = {}",
      virtualNetworkName: "v",
      subscriptionId: SUB,
      resourceGroup: "rg",
      location: "westeurope",
      routeTableId: null,
      existingRoutes: null,
      missing: [{ set: "kms", ip: "20.118.99.224" }],
    });
    assert.match(created.bicep, /subnet s resource evil/);
    for (const line of created.bicep.split("\n")) assert.doesNotMatch(line, /^resource evil/);
  });

  it("gives no remediation when nothing is missing", () => {
    const f = findingFor(audit(singleSubnet([["0.0.0.0/0", "Internet"]])), "snet");
    assert.equal(f.status, "Compliant");
    assert.equal(f.remediation, null);
    assert.deepEqual(f.missingRoutes, []);
  });
});

describe("a fix per cause (DESIGN.md section 3, rule 7)", () => {
  function privateSubnet(routes: [string, string][] = []) {
    const b = new EstateBuilder();
    const rt = routes.length > 0 ? b.routeTable("rt", routes) : undefined;
    const vnet = b.vnet("vnet", [
      {
        name: "snet-private",
        routeTable: rt,
        addressPrefix: "10.1.0.0/24",
        defaultOutboundAccess: false,
      },
    ]);
    b.vm("vm1", `${vnet}/subnets/snet-private`, "Windows");
    return findingFor(audit(b.rows), "snet-private");
  }

  it("a private subnet without an outbound method gets a NAT gateway, never Internet routes alone", () => {
    const f = privateSubnet();
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(f.reasons, ["PRIVATE_SUBNET_NO_OUTBOUND"]);
    assert.deepEqual(f.missingRoutes, []);
    const fixes = f.remediation!.fixes;
    assert.deepEqual(
      fixes.map((x) => [x.kind, x.causes]),
      [["natGateway", ["PRIVATE_SUBNET_NO_OUTBOUND"]]],
    );
    assert.match(
      f.remediation!.azureCli,
      /az network nat gateway create --resource-group 'rg-net' --name 'ng-vnet-snet-private'/,
    );
    assert.match(f.remediation!.azureCli, /subnet update .* --nat-gateway 'ng-vnet-snet-private'/);
  });

  it("a tunnelled private subnet gets the /32 routes and the NAT gateway they need", () => {
    const f = privateSubnet([["0.0.0.0/0", "VirtualNetworkGateway"]]);
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(f.missingRoutes, ["20.118.99.224/32", "40.83.235.53/32", "23.102.135.246/32"]);
    assert.deepEqual(
      f.remediation!.fixes.map((x) => x.kind),
      ["routes", "natGateway"],
    );
    // Several fixes: the scripts are numbered, one after the other.
    assert.match(f.remediation!.azureCli, /^# 1\. Add 3 routes with next hop Internet/);
    assert.match(f.remediation!.azureCli, /\n\n# 2\. Give private subnet snet-private/);
  });

  it("a firewall without a TCP 1688 rule gets a network rule, not routes around it", () => {
    const b = new EstateBuilder();
    const hub = b.vnet(
      "vnet-hub",
      [{ name: "AzureFirewallSubnet", addressPrefix: "10.100.1.0/26" }],
      { addressPrefixes: ["10.100.0.0/16"] },
    );
    b.firewall("azfw", `${hub}/subnets/AzureFirewallSubnet`, HUB_FIREWALL_IP, {
      allow: [{ name: "web", destinationAddresses: ["*"], destinationPorts: ["443"] }],
    });
    const rt = b.routeTable("rt", [["0.0.0.0/0", "VirtualAppliance", "to-fw", HUB_FIREWALL_IP]]);
    b.vnet("vnet", [{ name: "snet", routeTable: rt, addressPrefix: "10.1.0.0/24" }], {
      peerings: [{ remote: hub, useRemoteGateways: false }],
    });
    const f = findingFor(audit(b.rows), "snet");
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(f.reasons, ["FIREWALL_DENIES_PORT"]);
    assert.deepEqual(f.missingRoutes, []);
    const [fix] = f.remediation!.fixes;
    assert.equal(fix!.kind, "firewallClassicRule");
    assert.match(
      fix!.azureCli,
      /az network firewall network-rule create --resource-group 'rg-net' --firewall-name 'azfw' .* --protocols TCP --source-addresses '10\.1\.0\.0\/24' --destination-addresses 20\.118\.99\.224 40\.83\.235\.53 23\.102\.135\.246 --destination-ports 1688/,
    );
  });
});
