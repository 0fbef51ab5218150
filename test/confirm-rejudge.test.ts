import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  confirmWithEffectiveRoutes,
  confirmWithGatewayRoutes,
  gatewaysToRead,
  networkInterfaceFor,
  type EffectiveRoutesRead,
  type GatewayRoutesRead,
  type LearnedRoute,
} from "../src/audit/confirm-gateway-routes.js";
import { auditInventory } from "../src/audit/audit.js";
import { endpointSetsFor, flattenEndpoints } from "../src/catalog/endpoints.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { buildInventory } from "../src/inventory/inventory.js";
import { findingFor } from "./support/estate-builder.js";
import { HUB_GW, hubAndSpokes, withVmNic } from "./support/confirmation-estate.js";

const endpoints = flattenEndpoints(endpointSetsFor("AzureCloud"));

function learned(network: string, extra: Partial<LearnedRoute> = {}): LearnedRoute {
  return {
    network,
    nextHop: "10.0.0.12",
    sourcePeer: "10.0.0.12",
    origin: "EBgp",
    asPath: "12076-65020",
    weight: 32769,
    ...extra,
  };
}

function confirm(rows: ArmRow[], reads: Record<string, GatewayRoutesRead>) {
  const inventory = buildInventory(rows);
  const before = auditInventory(inventory, { endpoints });
  const map = new Map(Object.entries(reads).map(([id, r]) => [id.toLowerCase(), r]));
  return {
    inventory,
    before,
    after: confirmWithGatewayRoutes(inventory, before, map, { endpoints }),
  };
}

describe("gateways to read", () => {
  it("are the spokes' remote gateway and the hub's own, each once", () => {
    const inventory = buildInventory(hubAndSpokes({ hubSubnet: true }));
    const findings = auditInventory(inventory, { endpoints });
    assert.equal(findingFor(findings, "snet-spoke1").status, "Unverified");
    assert.deepEqual(gatewaysToRead(inventory, findings), [HUB_GW]);
    assert.deepEqual(
      inventory.gatewaysByVirtualNetwork.get(
        `${HUB_GW.split("/providers/")[0]}/providers/microsoft.network/virtualnetworks/hub`.toLowerCase(),
      ),
      [HUB_GW],
    );
  });
});

describe("confirmWithGatewayRoutes", () => {
  it("a learned 0.0.0.0/0 turns the spokes NonCompliant, high, with evidence", () => {
    const { after } = confirm(hubAndSpokes({ hubSubnet: true }), {
      [HUB_GW]: {
        ok: true,
        routes: [learned("0.0.0.0/0"), learned("10.0.0.0/16", { origin: "Network" })],
      },
    });
    for (const name of ["snet-spoke1", "snet-spoke2", "snet-hub"]) {
      const f = findingFor(after, name);
      assert.equal(f.status, "NonCompliant", name);
      assert.equal(f.severity, "high");
      assert.deepEqual(f.reasons, ["KMS_ROUTES_MISSING", "BGP_DEFAULT_ROUTE_LEARNED"]);
      assert.deepEqual(f.missingRoutes, [
        "20.118.99.224/32",
        "40.83.235.53/32",
        "23.102.135.246/32",
      ]);
      for (const e of f.endpoints) {
        assert.equal(e.bypassed, false);
        assert.equal(e.decidedBy, "GatewayRoute");
        assert.equal(e.nextHopType, "VirtualNetworkGateway");
        assert.deepEqual(e.evidence, {
          kind: "GatewayLearnedRoute",
          gatewayId: HUB_GW,
          addressPrefix: "0.0.0.0/0",
          origin: "EBgp",
          sourcePeer: "10.0.0.12",
          nextHop: "10.0.0.12",
          asPath: "12076-65020",
          weight: 32769,
        });
      }
      assert.match(
        f.summary,
        /learned by gateway hub-gw from peer 10\.0\.0\.12 \(EBgp, AS path 12076-65020\)/,
      );
      assert.ok(f.remediation?.azureCli.includes("kms-20-118-99-224"));
    }
  });

  it("a split default (0.0.0.0/1 + 128.0.0.0/1) tunnels every KMS IP too", () => {
    const { after } = confirm(hubAndSpokes({ hubSubnet: true }), {
      [HUB_GW]: { ok: true, routes: [learned("0.0.0.0/1"), learned("128.0.0.0/1")] },
    });
    const f = findingFor(after, "snet-spoke1");
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(
      f.endpoints.map((e) => e.addressPrefix),
      ["0.0.0.0/1", "0.0.0.0/1", "0.0.0.0/1"],
    );
  });

  it("no covering learned route: Compliant, BGP_NO_DEFAULT_ROUTE, via the system route", () => {
    const { after } = confirm(hubAndSpokes({ hubSubnet: true }), {
      [HUB_GW]: { ok: true, routes: [learned("10.0.0.0/8"), learned("192.168.0.0/16")] },
    });
    const f = findingFor(after, "snet-spoke2");
    assert.equal(f.status, "Compliant");
    assert.equal(f.severity, "none");
    assert.deepEqual(f.reasons, ["BGP_NO_DEFAULT_ROUTE"]);
    assert.equal(f.remediation, null);
    assert.deepEqual(f.endpoints[0]!.evidence, { kind: "NoGatewayRoute", gatewayIds: [HUB_GW] });
    assert.equal(f.endpoints[0]!.decidedBy, "SystemRoute");
  });

  it("a route-table route of longer or equal prefix beats a learned route; a longer learned one wins", () => {
    const rows = hubAndSpokes({
      hubSubnet: true,
      spokeRoutes: [
        ["20.118.99.0/24", "Internet", "kms-new"],
        ["40.83.235.53/32", "Internet", "kms-40"],
      ],
    });
    const { before, after } = confirm(rows, {
      [HUB_GW]: {
        ok: true,
        routes: [learned("20.0.0.0/8"), learned("40.83.235.53/32"), learned("23.102.135.0/24")],
      },
    });
    assert.equal(findingFor(before, "snet-spoke1").status, "Unverified");
    const f = findingFor(after, "snet-spoke1");
    const [a, b, c] = f.endpoints;
    assert.equal(a!.bypassed, true, "UDR /24 beats learned /8");
    assert.equal(a!.decidedBy, "UserDefinedRoute");
    assert.equal(b!.bypassed, true, "UDR /32 beats learned /32 (equal prefix)");
    assert.equal(c!.bypassed, false, "learned /24, no UDR");
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(f.reasons, ["KMS_ROUTES_INCOMPLETE", "BGP_DEFAULT_ROUTE_LEARNED"]);
    assert.deepEqual(f.missingRoutes, ["23.102.135.246/32"]);
  });

  it("a forbidden gateway keeps the spokes Unverified with GATEWAY_ROUTES_UNREADABLE", () => {
    const { after } = confirm(hubAndSpokes({ hubSubnet: true }), {
      [HUB_GW]: { ok: false, message: "HTTP 403 AuthorizationFailed" },
    });
    const f = findingFor(after, "snet-spoke1");
    assert.equal(f.status, "Unverified");
    assert.deepEqual(f.reasons, ["GATEWAY_ROUTES_UNREADABLE", "BGP_DEFAULT_ROUTE_POSSIBLE"]);
    assert.match(f.summary, /403/);
  });

  it("leaves every other finding untouched", () => {
    const { before, after } = confirm(
      hubAndSpokes({ hubSubnet: true, spokeRoutes: [["0.0.0.0/0", "VirtualAppliance"]] }),
      {
        [HUB_GW]: { ok: true, routes: [learned("0.0.0.0/0")] },
      },
    );
    assert.equal(findingFor(after, "snet-spoke1"), findingFor(before, "snet-spoke1"));
  });
});

describe("confirmWithEffectiveRoutes", () => {
  it("an active gateway default route decides; the overridden system route does not", () => {
    const { rows, nic, subnet } = withVmNic(hubAndSpokes({ hubSubnet: true }));
    const inventory = buildInventory(rows);
    assert.equal(networkInterfaceFor(inventory, subnet), nic);
    const before = auditInventory(inventory, { endpoints });
    const read: EffectiveRoutesRead = {
      ok: true,
      networkInterfaceId: nic,
      routes: [
        {
          name: null,
          source: "Default",
          state: "Invalid",
          addressPrefix: ["0.0.0.0/0"],
          nextHopType: "Internet",
          nextHopIpAddress: [],
        },
        {
          name: null,
          source: "VirtualNetworkGateway",
          state: "Active",
          addressPrefix: ["0.0.0.0/0"],
          nextHopType: "VirtualNetworkGateway",
          nextHopIpAddress: ["10.0.0.12"],
        },
        {
          name: null,
          source: "Default",
          state: "Active",
          addressPrefix: ["10.1.0.0/16"],
          nextHopType: "VnetLocal",
          nextHopIpAddress: [],
        },
      ],
    };
    const after = confirmWithEffectiveRoutes(
      inventory,
      before,
      new Map([[subnet.toLowerCase(), read]]),
      { endpoints },
    );
    const f = findingFor(after, "snet-spoke1");
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(f.reasons, [
      "KMS_ROUTES_MISSING",
      "EFFECTIVE_ROUTES_CHECKED",
      "BGP_DEFAULT_ROUTE_LEARNED",
    ]);
    assert.equal(f.endpoints[0]!.decidedBy, "EffectiveRoute");
    assert.equal(f.endpoints[0]!.evidence?.kind, "EffectiveRoute");
    // The other spoke had no read: unchanged.
    assert.equal(findingFor(after, "snet-spoke2"), findingFor(before, "snet-spoke2"));
  });

  it("a failed read leaves the subnet Unverified with EFFECTIVE_ROUTES_UNREADABLE", () => {
    const { rows, nic, subnet } = withVmNic(hubAndSpokes({ hubSubnet: true }));
    const inventory = buildInventory(rows);
    const before = auditInventory(inventory, { endpoints });
    const after = confirmWithEffectiveRoutes(
      inventory,
      before,
      new Map([
        [
          subnet.toLowerCase(),
          { ok: false, networkInterfaceId: nic, message: "VM is not running" },
        ],
      ]),
      { endpoints },
    );
    const f = findingFor(after, "snet-spoke1");
    assert.equal(f.status, "Unverified");
    assert.ok(f.reasons.includes("EFFECTIVE_ROUTES_UNREADABLE"));
  });
});
