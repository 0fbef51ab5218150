/**
 * Learned and effective routes as facts (DESIGN.md section 4): what the facts stage reads live is
 * also accepted as rows of an offline estate, added to the inventory before the audit, which then
 * judges once. Schema 1 re-judged findings after the audit ("confirmation"); these tests replace
 * those of src/audit/confirm-gateway-routes.ts, removed in schema 2.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gatewaysToRead, networkInterfaceFor } from "../src/facts/fact-needs.js";
import { buildInventory } from "../src/inventory/inventory.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import {
  EstateBuilder,
  HUB_FIREWALL_IP,
  KMS,
  audit,
  auditResult,
  findingFor,
} from "./support/estate-builder.js";
import {
  HUB_GW,
  TUNNELLED_EFFECTIVE_ROUTES,
  effectiveRoutesRow,
  hubAndSpokes,
  learnedRoutesRow,
  withVmNic,
  type GatewayRoute,
} from "./support/facts-estate.js";

const ALL_MISSING = KMS.map((ip) => `${ip}/32`);

function learned(network: string, extra: Partial<GatewayRoute> = {}): GatewayRoute {
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

/** The estate's rows plus the gateway's learned routes as a facts row. */
function withLearned(rows: ArmRow[], routes: GatewayRoute[] | { error: string }): ArmRow[] {
  return [...rows, learnedRoutesRow(HUB_GW, routes)];
}

describe("gateways to read (the facts stage's plan)", () => {
  it("are the spokes' remote gateway and the hub's own, each once", () => {
    const inventory = buildInventory(hubAndSpokes({ hubSubnet: true }));
    assert.deepEqual(gatewaysToRead(inventory), [HUB_GW]);
    assert.deepEqual(
      inventory.gatewaysByVirtualNetwork.get(
        `${HUB_GW.split("/providers/")[0]}/providers/microsoft.network/virtualnetworks/hub`.toLowerCase(),
      ),
      [HUB_GW],
    );
  });

  it("are read even where the subnets are already decided, unless BGP propagation is off", () => {
    // Schema 2: every gateway a non-blocked subnet learns from (a learned route may beat a UDR).
    const decided = hubAndSpokes({ spokeRoutes: [["0.0.0.0/0", "Internet"]] });
    assert.deepEqual(gatewaysToRead(buildInventory(decided)), [HUB_GW]);
    const blocked = hubAndSpokes({
      spokeRoutes: [["0.0.0.0/0", "Internet"]],
      disableBgpRoutePropagation: true,
    });
    assert.deepEqual(gatewaysToRead(buildInventory(blocked)), [], "only GatewaySubnet is left");
  });

  it("the NIC that stands for a subnet is its VM-attached NIC", () => {
    const { rows, nic, subnet } = withVmNic(hubAndSpokes());
    assert.equal(networkInterfaceFor(buildInventory(rows), subnet), nic);
  });
});

describe("a gateway's learned routes as facts", () => {
  it("without them, the BGP-exposed spokes and hub subnet are Unverified", () => {
    const findings = audit(hubAndSpokes({ hubSubnet: true }));
    for (const name of ["snet-spoke1", "snet-spoke2", "snet-hub"]) {
      const f = findingFor(findings, name);
      assert.equal(f.status, "Unverified", name);
      assert.deepEqual(f.reasons, ["BGP_DEFAULT_ROUTE_POSSIBLE"]);
    }
  });

  it("a learned 0.0.0.0/0 turns the spokes NonCompliant, high, with the learned route as evidence", () => {
    const findings = audit(
      withLearned(hubAndSpokes({ hubSubnet: true }), [
        learned("0.0.0.0/0"),
        learned("10.0.0.0/16", { origin: "Network" }),
      ]),
    );
    for (const name of ["snet-spoke1", "snet-spoke2", "snet-hub"]) {
      const f = findingFor(findings, name);
      assert.equal(f.status, "NonCompliant", name);
      assert.equal(f.severity, "high");
      assert.ok(f.reasons.includes("KMS_ROUTES_MISSING"), f.reasons.join());
      assert.deepEqual(f.missingRoutes, ALL_MISSING);
      for (const e of f.endpoints) {
        assert.equal(e.reachable, false);
        assert.equal(e.decidedBy, "GatewayRoute");
        assert.equal(e.nextHopType, "VirtualNetworkGateway");
        assert.equal(e.addressPrefix, "0.0.0.0/0");
        assert.deepEqual(e.path, [
          {
            kind: "Route",
            resourceId: HUB_GW,
            detail:
              "0.0.0.0/0 learned: learned by gateway hub-gw from peer 10.0.0.12 (EBgp, AS path 12076-65020)",
          },
          {
            kind: "VirtualNetworkGateway",
            resourceId: HUB_GW,
            detail: "on-premises through hub-gw",
          },
        ]);
      }
      assert.match(f.summary, /not reachable: on-premises through hub-gw/);
      assert.ok(f.remediation?.azureCli.includes("kms-20-118-99-224"));
      // The cause is the learned route (BGP_DEFAULT_ROUTE_LEARNED, kept from schema 1).
      assert.ok(f.reasons.includes("BGP_DEFAULT_ROUTE_LEARNED"), f.reasons.join());
      assert.ok(f.endpoints.every((e) => e.reason === "BGP_DEFAULT_ROUTE_LEARNED"));
    }
  });

  it("a split default (0.0.0.0/1 + 128.0.0.0/1) tunnels every KMS IP too", () => {
    const findings = audit(
      withLearned(hubAndSpokes({ hubSubnet: true }), [
        learned("0.0.0.0/1"),
        learned("128.0.0.0/1"),
      ]),
    );
    const f = findingFor(findings, "snet-spoke1");
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(
      f.endpoints.map((e) => e.addressPrefix),
      ["0.0.0.0/1", "0.0.0.0/1", "0.0.0.0/1"],
    );
  });

  it("no covering learned route: the system route decides, Compliant", () => {
    const findings = audit(
      withLearned(hubAndSpokes({ hubSubnet: true }), [
        learned("10.0.0.0/8"),
        learned("192.168.0.0/16"),
      ]),
    );
    const f = findingFor(findings, "snet-spoke2");
    assert.equal(f.status, "Compliant");
    assert.equal(f.severity, "none");
    assert.deepEqual(f.reasons, ["NO_FORCED_TUNNEL"]);
    assert.equal(f.remediation, null);
    assert.equal(f.gatewayRoutesPossible, true);
    for (const e of f.endpoints) {
      assert.equal(e.reachable, true);
      assert.equal(e.decidedBy, "SystemRoute");
      assert.deepEqual(
        e.path.map((h) => h.detail),
        ["0.0.0.0/0 -> Internet (system route)", "Internet via default outbound access"],
      );
    }
  });

  it("a route-table route of longer or equal prefix beats a learned route; a longer learned one wins", () => {
    const rows = hubAndSpokes({
      hubSubnet: true,
      spokeRoutes: [
        ["20.118.99.0/24", "Internet", "kms-new"],
        ["40.83.235.53/32", "Internet", "kms-40"],
      ],
    });
    assert.equal(findingFor(audit(rows), "snet-spoke1").status, "Unverified");
    const f = findingFor(
      audit(
        withLearned(rows, [
          learned("20.0.0.0/8"),
          learned("40.83.235.53/32"),
          learned("23.102.135.0/24"),
        ]),
      ),
      "snet-spoke1",
    );
    const [a, b, c] = f.endpoints;
    assert.equal(a!.reachable, true, "UDR /24 beats learned /8");
    assert.equal(a!.decidedBy, "UserDefinedRoute");
    assert.equal(b!.reachable, true, "UDR /32 beats learned /32 (equal prefix)");
    assert.equal(b!.decidedBy, "UserDefinedRoute");
    assert.equal(c!.reachable, false, "learned /24, no UDR");
    assert.equal(c!.decidedBy, "GatewayRoute");
    assert.equal(f.status, "NonCompliant");
    assert.ok(f.reasons.includes("KMS_ROUTES_INCOMPLETE"));
    assert.deepEqual(f.missingRoutes, ["23.102.135.246/32"]);
  });

  // virtual-networks-udr-overview: longest prefix first, whatever the source; about-internet-
  // routing: on-premises /1 routes beat a 0.0.0.0/0 (DESIGN.md section 3, rule 1).
  it("learned /1 routes beat a 0.0.0.0/0 -> Internet UDR; unread, they leave it Unverified", () => {
    const rows = hubAndSpokes({ spokeRoutes: [["0.0.0.0/0", "Internet", "default-internet"]] });
    const unread = findingFor(audit(rows), "snet-spoke1");
    assert.equal(unread.status, "Unverified");
    assert.deepEqual(unread.reasons, ["BGP_DEFAULT_ROUTE_POSSIBLE"]);
    const f = findingFor(
      audit(withLearned(rows, [learned("0.0.0.0/1"), learned("128.0.0.0/1")])),
      "snet-spoke1",
    );
    assert.equal(f.status, "NonCompliant");
    assert.ok(f.endpoints.every((e) => e.decidedBy === "GatewayRoute" && e.reachable === false));
    assert.deepEqual(f.missingRoutes, ALL_MISSING);
    const onlyDefault = findingFor(audit(withLearned(rows, [learned("0.0.0.0/0")])), "snet-spoke1");
    assert.equal(
      onlyDefault.status,
      "Compliant",
      "an equal-prefix UDR beats the learned 0.0.0.0/0",
    );
    assert.ok(onlyDefault.endpoints.every((e) => e.routeName === "default-internet"));
  });

  // firewall-faq: a BGP default on AzureFirewallSubnet "must be overridden" by 0.0.0.0/0 ->
  // Internet, which keeps the firewall's egress direct; the page is silent on more specific
  // learned routes, which win by longest prefix (virtual-networks-udr-overview). Offline the UDR
  // decides (README "Where Microsoft pages and DESIGN.md disagree"); read, /1s beat it.
  it("AzureFirewallSubnet: its 0.0.0.0/0 -> Internet UDR decides offline; learned /1s read live beat it", () => {
    const b = new EstateBuilder();
    const fwRoutes = b.routeTable("rt-fw-subnet", [["0.0.0.0/0", "Internet", "fw-direct"]]);
    const hub = b.vnet(
      "vnet-fw-hub",
      [{ name: "AzureFirewallSubnet", addressPrefix: "10.100.1.0/26", routeTable: fwRoutes }],
      { addressPrefixes: ["10.100.0.0/16"], gateway: true },
    );
    b.firewall("azfw-hub", `${hub}/subnets/AzureFirewallSubnet`, HUB_FIREWALL_IP, {
      allow: [{ name: "allow-kms", destinationAddresses: ["*"], destinationPorts: ["1688"] }],
    });
    const toFirewall = b.routeTable("rt-spoke", [
      ["0.0.0.0/0", "VirtualAppliance", "to-fw", HUB_FIREWALL_IP],
    ]);
    b.vnet(
      "vnet-spoke",
      [{ name: "snet-app", routeTable: toFirewall, addressPrefix: "10.1.0.0/24" }],
      {
        addressPrefixes: ["10.1.0.0/16"],
        peerings: [{ remote: hub, useRemoteGateways: false }],
      },
    );
    const gateway = gatewaysToRead(buildInventory(b.rows));
    assert.equal(
      gateway.length,
      1,
      "the hub's gateway is read: AzureFirewallSubnet learns from it",
    );
    const offline = findingFor(audit(b.rows), "snet-app");
    assert.equal(offline.status, "Compliant");
    assert.ok(offline.reasons.includes("REACHABLE_VIA_FIREWALL"));
    const split = [learned("0.0.0.0/1"), learned("128.0.0.0/1")];
    const live = findingFor(audit([...b.rows, learnedRoutesRow(gateway[0]!, split)]), "snet-app");
    assert.equal(live.status, "NonCompliant");
    assert.ok(
      live.endpoints.every((e) => e.reachable === false),
      JSON.stringify(live.reasons),
    );
    const onlyDefault = findingFor(
      audit([...b.rows, learnedRoutesRow(gateway[0]!, [learned("0.0.0.0/0")])]),
      "snet-app",
    );
    assert.equal(onlyDefault.status, "Compliant", "the UDR overrides a learned default");
  });

  it("an unreadable gateway keeps the spokes Unverified with GATEWAY_ROUTES_UNREADABLE", () => {
    const findings = audit(
      withLearned(hubAndSpokes({ hubSubnet: true }), { error: "HTTP 403 AuthorizationFailed" }),
    );
    const f = findingFor(findings, "snet-spoke1");
    assert.equal(f.status, "Unverified");
    assert.equal(f.severity, "low");
    assert.deepEqual(f.reasons, ["GATEWAY_ROUTES_UNREADABLE"]);
    assert.match(f.summary, /403/);
    const last = f.endpoints[0]!.path.at(-1)!;
    assert.equal(last.kind, "LearnedRoutes");
    assert.equal(last.resourceId, HUB_GW);
  });

  it("a facts row changes nothing the route table already decides", () => {
    const rows = hubAndSpokes({
      hubSubnet: true,
      spokeRoutes: [["0.0.0.0/0", "VirtualNetworkGateway"]],
    });
    const before = findingFor(audit(rows), "snet-spoke1");
    const after = findingFor(audit(withLearned(rows, [learned("0.0.0.0/0")])), "snet-spoke1");
    assert.equal(before.status, "NonCompliant");
    assert.deepEqual(JSON.parse(JSON.stringify(after)), JSON.parse(JSON.stringify(before)));
  });

  it("identical facts rows count once; facts rows that disagree are not first-wins", () => {
    const rows = hubAndSpokes();
    const twice = [
      ...withLearned(rows, [learned("0.0.0.0/0")]),
      learnedRoutesRow(HUB_GW.toUpperCase(), [learned("0.0.0.0/0")]),
    ];
    assert.equal(findingFor(audit(twice), "snet-spoke1").status, "NonCompliant");
    const disagree = [
      ...withLearned(rows, [learned("0.0.0.0/0")]),
      learnedRoutesRow(HUB_GW, [learned("10.0.0.0/8")]),
    ];
    const { findings, warnings } = auditResult(disagree);
    assert.notEqual(findingFor(findings, "snet-spoke1").status, "Compliant");
    assert.ok(
      warnings.some((w) => w.target?.toLowerCase() === `${HUB_GW}/learnedRoutes`.toLowerCase()),
    );
  });
});

describe("a NIC's effective routes as facts", () => {
  it("an active gateway default route decides the NIC's subnet; the overridden system route does not", () => {
    const { rows, nic } = withVmNic(hubAndSpokes({ hubSubnet: true }));
    const before = audit(rows);
    const findings = audit([...rows, effectiveRoutesRow(nic, TUNNELLED_EFFECTIVE_ROUTES)]);
    const f = findingFor(findings, "snet-spoke1");
    assert.equal(f.status, "NonCompliant");
    assert.ok(f.reasons.includes("KMS_ROUTES_MISSING"), f.reasons.join());
    assert.deepEqual(f.missingRoutes, ALL_MISSING);
    for (const e of f.endpoints) {
      assert.equal(e.reachable, false);
      assert.equal(e.nextHopType, "VirtualNetworkGateway");
      assert.equal(e.addressPrefix, "0.0.0.0/0");
      assert.deepEqual(e.path[0], {
        kind: "Route",
        resourceId: nic,
        detail:
          "0.0.0.0/0 learned: effective route of NIC vm1-nic (VirtualNetworkGateway -> VirtualNetworkGateway 10.0.0.12)",
      });
    }
    // The other spoke has no NIC, so no effective routes: unchanged.
    assert.deepEqual(
      JSON.parse(JSON.stringify(findingFor(findings, "snet-spoke2"))),
      JSON.parse(JSON.stringify(findingFor(before, "snet-spoke2"))),
    );
  });

  it("effective routes that keep the system default make the subnet Compliant (no learned route is unknown)", () => {
    const { rows, nic } = withVmNic(hubAndSpokes());
    const f = findingFor(
      audit([
        ...rows,
        effectiveRoutesRow(nic, [
          {
            source: "Default",
            state: "Active",
            addressPrefix: ["0.0.0.0/0"],
            nextHopType: "Internet",
            nextHopIpAddress: [],
          },
        ]),
      ]),
      "snet-spoke1",
    );
    assert.equal(f.status, "Compliant");
    assert.ok(f.endpoints.every((e) => e.reachable === true && e.decidedBy === "SystemRoute"));
  });

  it("a failed read leaves the subnet Unverified with EFFECTIVE_ROUTES_UNREADABLE", () => {
    const { rows, nic } = withVmNic(hubAndSpokes({ hubSubnet: true }));
    const f = findingFor(
      audit([...rows, effectiveRoutesRow(nic, { error: "VM is not running" })]),
      "snet-spoke1",
    );
    assert.equal(f.status, "Unverified");
    assert.ok(f.reasons.includes("EFFECTIVE_ROUTES_UNREADABLE"), f.reasons.join());
  });
});
