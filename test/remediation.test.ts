import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildRemediation } from "../src/audit/remediation.js";
import { EstateBuilder, SUB, audit, findingFor, singleSubnet } from "./support/estate-builder.js";

describe("remediation", () => {
  it("adds only the missing routes to the subnet's own route table", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [
      {
        name: "snet",
        routeTable: b.routeTable("rt-spoke", [
          ["0.0.0.0/0", "VirtualAppliance"],
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

  it("scripts built when first read still serialize, spread and compare as plain data", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [{ name: "snet", routeTable: b.routeTable("rt", [["0.0.0.0/0", "None"]]) }]);
    const finding = findingFor(audit(b.rows), "snet");
    const r = finding.remediation!;
    const plain = { azureCli: r.azureCli, powershell: r.powershell, bicep: r.bicep };
    assert.deepEqual(Object.keys(r), ["azureCli", "powershell", "bicep"]);
    assert.deepEqual((JSON.parse(JSON.stringify(finding)) as typeof finding).remediation, plain);
    assert.deepEqual({ ...r }, plain);
    assert.equal(r.bicep, plain.bicep, "a second read gives the same text");
    assert.match(plain.azureCli, /--address-prefix 20\.118\.99\.224\/32 --next-hop-type Internet/);
  });

  it("updates a KMS host route that has the wrong next hop instead of adding a duplicate", () => {
    const rows = singleSubnet([
      ["20.118.99.224/32", "VirtualAppliance", "kms-new"],
      ["40.83.235.53/32", "Internet"],
      ["23.102.135.246/32", "Internet"],
    ]);
    const r = findingFor(audit(rows), "snet").remediation!;
    assert.match(
      r.azureCli,
      /route update .* --name 'kms-new' --address-prefix 20\.118\.99\.224\/32 --next-hop-type Internet/,
    );
    assert.doesNotMatch(r.azureCli, /route create/);
    assert.match(r.powershell, /Set-AzRouteConfig -RouteTable \$rt -Name 'kms-new'/);
  });

  it("recognises an existing KMS host route written with stray white space", () => {
    const rows = singleSubnet([
      ["0.0.0.0/0", "VirtualAppliance"],
      ["20.118.99.224/32 ", "VirtualAppliance", "kms-a"],
    ]);
    const r = findingFor(audit(rows), "snet").remediation!;
    assert.match(
      r.azureCli,
      /route update .* --name 'kms-a' --address-prefix 20\.118\.99\.224\/32/,
    );
    assert.equal((r.azureCli.match(/20\.118\.99\.224/g) ?? []).length, 1);
  });

  it("picks a free name when the predictable one is taken by another route", () => {
    const rows = singleSubnet([["0.0.0.0/0", "VirtualAppliance", "kms-20-118-99-224"]]);
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
    })!;
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
    })!;
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
    })!;
    assert.match(created.bicep, /subnet s resource evil/);
    for (const line of created.bicep.split("\n")) assert.doesNotMatch(line, /^resource evil/);
  });

  it("gives no remediation when nothing is missing", () => {
    assert.equal(
      buildRemediation({
        subnetName: "s",
        virtualNetworkName: "v",
        subscriptionId: SUB,
        resourceGroup: "rg",
        location: null,
        routeTableId: null,
        existingRoutes: null,
        missing: [],
      }),
      null,
    );
  });
});
