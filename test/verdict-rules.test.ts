import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReasonCode } from "../src/reasons.js";
import type { Severity, Status } from "../src/model.js";
import {
  EstateBuilder,
  HUB_FIREWALL_IP,
  HUB_SUB,
  KMS,
  audit,
  auditResult,
  findingFor,
  singleSubnet,
  type RouteSpec,
} from "./support/estate-builder.js";

/**
 * Schema 1 judged one hop and took any VirtualAppliance next hop as a forced tunnel. Schema 2
 * follows the path (DESIGN.md section 3, rule 2): an appliance IP no firewall, NIC or ILB in the
 * inventory holds is unknown. So "tunnelled through the appliance" is now a real topology: routes
 * to FW go to the hub's Azure Firewall, which allows TCP 1688 but is in forced-tunnel mode, its
 * AzureFirewallSubnet sending 0.0.0.0/0 to the VPN gateway (firewall/forced-tunneling).
 */
const FW = "VirtualAppliance";
const fw = (prefix: string, name?: string): RouteSpec => [prefix, FW, name, HUB_FIREWALL_IP];
const kmsRoutes = (hop: string, ips: readonly string[] = KMS): RouteSpec[] =>
  ips.map((ip) => (hop === FW ? fw(`${ip}/32`) : [`${ip}/32`, hop]));
/** What the forced-tunnel firewall adds to a refused IP's reasons. */
const VIA_FORCED_TUNNEL: ReasonCode[] = ["FIREWALL_FORCED_TUNNELED", "TUNNELED_ON_PREMISES"];

interface Case {
  name: string;
  routes: RouteSpec[] | null;
  gatewayInVnet?: boolean;
  disableBgpRoutePropagation?: boolean;
  status: Status;
  severity: Severity;
  /** reachable for 20.118.99.224, 40.83.235.53, 23.102.135.246 */
  reachable: [boolean | null, boolean | null, boolean | null];
  reasons: ReasonCode[];
  missing: string[];
}

const ALL_MISSING = KMS.map((ip) => `${ip}/32`);

// Rule 1 (longest prefix over UDRs, learned and system routes), rule 2 (the next hop), rule 6
// (severity: these estates have no VM rows, so the impact is unknown and NonCompliant is high).
const cases: Case[] = [
  {
    name: "0.0.0.0/0 to a forced-tunnel firewall with no bypass",
    routes: [fw("0.0.0.0/0")],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING", ...VIA_FORCED_TUNNEL],
    missing: ALL_MISSING,
  },
  {
    name: "only the pre-2022 IP bypassed",
    routes: [fw("0.0.0.0/0"), ["23.102.135.246/32", "Internet"]],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, true],
    reasons: ["KMS_ROUTES_INCOMPLETE", "LEGACY_KMS_IP_ONLY", ...VIA_FORCED_TUNNEL],
    missing: ["20.118.99.224/32", "40.83.235.53/32"],
  },
  {
    name: "one new IP bypassed, not the legacy one",
    routes: [fw("0.0.0.0/0"), ["20.118.99.224/32", "Internet"]],
    status: "NonCompliant",
    severity: "high",
    reachable: [true, false, false],
    reasons: ["KMS_ROUTES_INCOMPLETE", ...VIA_FORCED_TUNNEL],
    missing: ["40.83.235.53/32", "23.102.135.246/32"],
  },
  {
    name: "all three KMS IPs bypassed",
    routes: [fw("0.0.0.0/0"), ...kmsRoutes("Internet")],
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "split default route 0.0.0.0/1 + 128.0.0.0/1 without bypass",
    routes: [fw("0.0.0.0/1"), fw("128.0.0.0/1")],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING", ...VIA_FORCED_TUNNEL],
    missing: ALL_MISSING,
  },
  {
    name: "split default route with all bypass routes",
    routes: [fw("0.0.0.0/1"), fw("128.0.0.0/1"), ...kmsRoutes("Internet")],
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "bypass by broader prefixes (20.0.0.0/8, 40.64.0.0/10, 23.96.0.0/13)",
    routes: [
      fw("0.0.0.0/0"),
      ["20.0.0.0/8", "Internet"],
      ["40.64.0.0/10", "Internet"],
      ["23.96.0.0/13", "Internet"],
    ],
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "a broad bypass undone by a more specific tunnel route",
    routes: [
      fw("0.0.0.0/0"),
      ["20.0.0.0/8", "Internet"],
      fw("20.118.0.0/16"),
      ...kmsRoutes("Internet", KMS.slice(1)),
    ],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, true, true],
    reasons: ["KMS_ROUTES_INCOMPLETE", ...VIA_FORCED_TUNNEL],
    missing: ["20.118.99.224/32"],
  },
  {
    name: "KMS routes that point at the appliance",
    routes: [fw("0.0.0.0/0"), ...kmsRoutes(FW)],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, false],
    reasons: ["KMS_ROUTE_WRONG_NEXT_HOP", "KMS_ROUTES_MISSING", ...VIA_FORCED_TUNNEL],
    missing: ALL_MISSING,
  },
  {
    name: "default route with next hop None",
    routes: [["0.0.0.0/0", "None"]],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING", "DEFAULT_ROUTE_BLACKHOLED"],
    missing: ALL_MISSING,
  },
  {
    name: "default route to the VPN/ExpressRoute gateway",
    routes: [["0.0.0.0/0", "VirtualNetworkGateway"]],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING", "TUNNELED_ON_PREMISES"],
    missing: ALL_MISSING,
  },
  {
    name: "default route with next hop VnetLocal",
    routes: [["0.0.0.0/0", "VnetLocal"]],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING", "TRAFFIC_STAYS_IN_VNET"],
    missing: ALL_MISSING,
  },
  {
    // Schema 2: a route without a next hop type is malformed data, so the IPs it covers are
    // unknown (DESIGN.md section 3: missing or odd data never decides), not "not bypassed".
    name: "a covering route without a next hop type leaves its IPs unknown",
    routes: [["0.0.0.0/0", null]],
    status: "Unverified",
    severity: "low",
    reachable: [null, null, null],
    reasons: ["ROUTE_MALFORMED"],
    missing: ALL_MISSING,
  },
  {
    name: "private-only routes",
    routes: [fw("10.0.0.0/8"), fw("172.16.0.0/12"), ["192.168.0.0/16", "VirtualNetworkGateway"]],
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "explicit 0.0.0.0/0 to Internet",
    routes: [["0.0.0.0/0", "Internet"]],
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "next hop type in another case",
    routes: [
      ["0.0.0.0/0", "virtualappliance", undefined, HUB_FIREWALL_IP],
      ...kmsRoutes("INTERNET"),
    ],
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "IPv6 routes are never mistaken for a match",
    routes: [fw("::/0"), ["2001:db8::/32", "None"], fw("::ffff:0:0/96")],
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    // Schema 2 (brief, ROUTE_MALFORMED): a route whose prefix is neither a CIDR nor a service tag
    // is no longer skipped, which could hide a tunnel; the table's IPs become unknown and the run
    // reports the route as a warning. INVALID_ROUTE_PREFIX is deprecated.
    name: "invalid prefixes make the table's IPs unknown (ROUTE_MALFORMED)",
    routes: [
      fw("0.0.0.0/0"),
      ["20.118.99.224/33", "Internet"],
      ["40.83.235.53", "Internet"],
      ["023.102.135.246/32", "Internet"],
      [42, "Internet"],
      ["", "Internet"],
    ],
    status: "Unverified",
    severity: "low",
    reachable: [null, null, null],
    reasons: ["ROUTE_MALFORMED"],
    missing: ALL_MISSING,
  },
  {
    name: "stray white space around a prefix does not hide a tunnel",
    routes: [fw(" 0.0.0.0/0 "), ["23.102.135.246/32\n", "Internet"]],
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, true],
    reasons: ["KMS_ROUTES_INCOMPLETE", "LEGACY_KMS_IP_ONLY", ...VIA_FORCED_TUNNEL],
    missing: ["20.118.99.224/32", "40.83.235.53/32"],
  },
  {
    name: "a service-tag route leaves IPs without a /32 unknown",
    routes: [fw("0.0.0.0/0"), ["AzureCloud", "Internet"], ["23.102.135.246/32", "Internet"]],
    disableBgpRoutePropagation: true,
    status: "Unverified",
    severity: "low",
    reachable: [null, null, true],
    reasons: ["SERVICE_TAG_ROUTE_UNRESOLVED"],
    missing: ["20.118.99.224/32", "40.83.235.53/32"],
  },
  {
    name: "a service-tag route does not hide a refused /32",
    routes: [["AzureCloud", "Internet"], fw("20.118.99.224/32")],
    disableBgpRoutePropagation: true,
    status: "NonCompliant",
    severity: "high",
    reachable: [false, null, null],
    reasons: [
      "KMS_ROUTE_WRONG_NEXT_HOP",
      "KMS_ROUTES_MISSING",
      "SERVICE_TAG_ROUTE_UNRESOLVED",
      ...VIA_FORCED_TUNNEL,
    ],
    missing: ALL_MISSING,
  },
  {
    name: "no route table and no gateway: the system route reaches the Internet",
    routes: null,
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "no route table, gateway in the VNet: a BGP default route may apply",
    routes: null,
    gatewayInVnet: true,
    status: "Unverified",
    severity: "low",
    reachable: [null, null, null],
    reasons: ["BGP_DEFAULT_ROUTE_POSSIBLE"],
    missing: ALL_MISSING,
  },
  {
    name: "gateway in the VNet, route table propagates gateway routes, private routes only",
    routes: [fw("10.0.0.0/8")],
    gatewayInVnet: true,
    status: "Unverified",
    severity: "low",
    reachable: [null, null, null],
    reasons: ["BGP_DEFAULT_ROUTE_POSSIBLE"],
    missing: ALL_MISSING,
  },
  {
    name: "gateway in the VNet, propagation disabled",
    routes: [fw("10.0.0.0/8")],
    gatewayInVnet: true,
    disableBgpRoutePropagation: true,
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "gateway in the VNet, UDRs decide every IP (a /32 UDR beats any BGP route)",
    routes: [fw("0.0.0.0/0"), ...kmsRoutes("Internet")],
    gatewayInVnet: true,
    status: "Compliant",
    severity: "none",
    reachable: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "gateway in the VNet, only some IPs covered by UDRs",
    routes: [["23.102.135.246/32", "Internet"]],
    gatewayInVnet: true,
    status: "Unverified",
    severity: "low",
    reachable: [null, null, true],
    reasons: ["BGP_DEFAULT_ROUTE_POSSIBLE"],
    missing: ["20.118.99.224/32", "40.83.235.53/32"],
  },
  {
    // Rule 1: with unknown learned routes a route whose path fails is decided when every learned
    // route the gateway may hold fails too (a VNet gateway's learned routes lead on-premises).
    name: "gateway in the VNet, 0.0.0.0/0 to the forced-tunnel firewall: refused whatever BGP holds",
    routes: [fw("0.0.0.0/0")],
    gatewayInVnet: true,
    status: "NonCompliant",
    severity: "high",
    reachable: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING", ...VIA_FORCED_TUNNEL],
    missing: ALL_MISSING,
  },
];

describe("verdict rules (DESIGN.md section 3)", () => {
  for (const c of cases) {
    it(c.name, () => {
      const finding = findingFor(
        audit(singleSubnet(c.routes, { ...c, hubFirewall: "forcedTunnel" })),
        "snet",
      );
      assert.deepEqual(
        finding.endpoints.map((e) => [e.ip, e.reachable]),
        KMS.map((ip, i) => [ip, c.reachable[i]]),
      );
      assert.equal(finding.status, c.status);
      assert.equal(finding.severity, c.severity);
      assert.deepEqual([...finding.reasons].sort(), [...c.reasons].sort());
      assert.deepEqual(finding.missingRoutes, c.missing);
      assert.equal(finding.remediation === null, c.missing.length === 0);
    });
  }
});

describe("deciding route evidence", () => {
  it("names the route, prefix and next hop that decided each IP, and the path hop by hop", () => {
    const f = findingFor(
      audit(
        singleSubnet([fw("0.0.0.0/0", "to-fw"), ["20.0.0.0/8", "Internet", "azure-20"]], {
          hubFirewall: "forcedTunnel",
        }),
      ),
      "snet",
    );
    const rt = f.routeTableId!;
    assert.deepEqual(f.endpoints[0], {
      set: "kms",
      host: "azkms.core.windows.net",
      ip: "20.118.99.224",
      port: 1688,
      protocol: "TCP",
      reachable: true,
      reason: "REACHABLE_DIRECT",
      path: [
        { kind: "Route", resourceId: rt, detail: "20.0.0.0/8 -> Internet (route 'azure-20')" },
        { kind: "Internet", resourceId: null, detail: "Internet via default outbound access" },
      ],
      nextHopType: "Internet",
      addressPrefix: "20.0.0.0/8",
      routeName: "azure-20",
      decidedBy: "UserDefinedRoute",
    });
    const second = f.endpoints[1]!;
    assert.deepEqual(
      { ...second, set: undefined, host: undefined, path: undefined },
      {
        set: undefined,
        host: undefined,
        path: undefined,
        ip: "40.83.235.53",
        port: 1688,
        protocol: "TCP",
        reachable: false,
        reason: "FIREWALL_FORCED_TUNNELED",
        nextHopType: FW,
        addressPrefix: "0.0.0.0/0",
        routeName: "to-fw",
        decidedBy: "UserDefinedRoute",
      },
    );
    // DESIGN.md section 3, rule 2: the firewall allows TCP 1688, then AzureFirewallSubnet's own
    // route takes it on-premises.
    assert.deepEqual(
      second.path.map((h) => [h.kind, h.detail]),
      [
        ["Route", `0.0.0.0/0 -> VirtualAppliance ${HUB_FIREWALL_IP} (route 'to-fw')`],
        [
          "AzureFirewall",
          `azfw-hub (${HUB_FIREWALL_IP}): network rule 'allow-kms' (collection 'allow-activation', priority 200, classic rules) allows TCP 1688`,
        ],
        ["Route", "0.0.0.0/0 -> VirtualNetworkGateway (route 'default-to-onprem')"],
        ["VirtualNetworkGateway", "on-premises through the virtual network gateway"],
      ],
    );
  });

  it("reports the system route when no UDR covers an IP", () => {
    const f = findingFor(audit(singleSubnet(null)), "snet");
    assert.ok(
      f.endpoints.every(
        (e) =>
          e.decidedBy === "SystemRoute" && e.addressPrefix === "0.0.0.0/0" && e.routeName === null,
      ),
    );
  });

  it("equal prefixes with different next hops (not possible in Azure) are judged as not reachable", () => {
    const f = findingFor(
      audit(
        singleSubnet([["20.118.99.224/32", "Internet", "a"], fw("20.118.99.224/32", "b")], {
          hubFirewall: "forcedTunnel",
        }),
      ),
      "snet",
    );
    assert.equal(f.endpoints[0]!.reachable, false);
    assert.equal(f.endpoints[0]!.routeName, "b");
  });

  it("masks host bits of a prefix like Azure's longest-prefix match does", () => {
    const f = findingFor(
      audit(
        singleSubnet([fw("0.0.0.0/0"), ["20.118.99.1/24", "Internet"]], {
          hubFirewall: "forcedTunnel",
        }),
      ),
      "snet",
    );
    assert.equal(f.endpoints[0]!.reachable, true);
    assert.equal(f.endpoints[0]!.addressPrefix, "20.118.99.1/24");
  });

  it("a malformed route is a run warning naming the route table and the route", () => {
    const { findings, warnings } = auditResult(
      singleSubnet([
        ["0.0.0.0/0", "VirtualNetworkGateway"],
        [42, "Internet", "numeric"],
      ]),
    );
    assert.equal(findingFor(findings, "snet").status, "Unverified");
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.code, "RESOURCE_MALFORMED");
    assert.equal(warnings[0]!.target, findingFor(findings, "snet").routeTableId);
    assert.match(warnings[0]!.message, /properties\.routes\[1\]\.addressPrefix/);
  });
});

describe("service tags with Azure's published file", () => {
  const tags = new Map([
    ["azurecloud", [{ network: 0x14000000, length: 8 }]], // 20.0.0.0/8
    ["storage", [{ network: 0x28000000, length: 8 }]], // 40.0.0.0/8
  ]);

  it("turns a tag into prefixes for the same longest-prefix choice", () => {
    const rows = singleSubnet([fw("0.0.0.0/0"), ["AzureCloud", "Internet"], fw("Storage")], {
      disableBgpRoutePropagation: true,
      hubFirewall: "forcedTunnel",
    });
    const f = findingFor(audit(rows, { serviceTags: tags }), "snet");
    assert.deepEqual(
      f.endpoints.map((e) => e.reachable),
      [true, false, false],
    );
    assert.equal(f.endpoints[0]!.decidedBy, "ServiceTagRoute");
    assert.equal(f.endpoints[0]!.addressPrefix, "AzureCloud");
    assert.equal(f.status, "NonCompliant");
  });

  it("prefers an explicit CIDR over a tag prefix of equal length", () => {
    const rows = singleSubnet([["AzureCloud", "Internet"], fw("20.0.0.0/8")], {
      disableBgpRoutePropagation: true,
      hubFirewall: "forcedTunnel",
    });
    const f = findingFor(audit(rows, { serviceTags: tags }), "snet");
    assert.equal(f.endpoints[0]!.reachable, false);
    assert.equal(f.endpoints[0]!.decidedBy, "UserDefinedRoute");
  });

  it("keeps a tag missing from the file unknown", () => {
    const rows = singleSubnet([fw("0.0.0.0/0"), ["AzureFrontDoor.Backend", "Internet"]], {
      disableBgpRoutePropagation: true,
      hubFirewall: "forcedTunnel",
    });
    const f = findingFor(audit(rows, { serviceTags: tags }), "snet");
    assert.equal(f.status, "Unverified");
    assert.deepEqual(f.reasons, ["SERVICE_TAG_ROUTE_UNRESOLVED"]);
  });
});

describe("gateway routes through peering (ExpressRoute with gateway transit)", () => {
  function hubAndSpoke(options: {
    useRemoteGateways: boolean;
    hubHasGateway: boolean;
    includeHub?: boolean;
  }) {
    const b = new EstateBuilder();
    const hub = new EstateBuilder(HUB_SUB);
    const hubId = hub.vnet("vnet-hub", [{ name: "snet-hub" }], { gateway: options.hubHasGateway });
    b.vnet("vnet-spoke", [{ name: "snet-spoke" }], {
      peerings: [{ remote: hubId, useRemoteGateways: options.useRemoteGateways }],
    });
    return options.includeHub === false ? b.rows : [...hub.rows, ...b.rows];
  }

  it("useRemoteGateways to a hub with a gateway: Unverified", () => {
    const f = findingFor(
      audit(hubAndSpoke({ useRemoteGateways: true, hubHasGateway: true })),
      "snet-spoke",
    );
    assert.equal(f.status, "Unverified");
    assert.equal(f.gatewayRoutesPossible, true);
    assert.deepEqual(f.reasons, ["BGP_DEFAULT_ROUTE_POSSIBLE"]);
  });

  it("peering without useRemoteGateways: Compliant", () => {
    const f = findingFor(
      audit(hubAndSpoke({ useRemoteGateways: false, hubHasGateway: true })),
      "snet-spoke",
    );
    assert.equal(f.status, "Compliant");
    assert.equal(f.gatewayRoutesPossible, false);
  });

  it("useRemoteGateways to a hub in the inventory without a gateway: Compliant", () => {
    const f = findingFor(
      audit(hubAndSpoke({ useRemoteGateways: true, hubHasGateway: false })),
      "snet-spoke",
    );
    assert.equal(f.status, "Compliant");
  });

  it("useRemoteGateways to a hub outside the inventory: Unverified (Azure requires a gateway there)", () => {
    const f = findingFor(
      audit(hubAndSpoke({ useRemoteGateways: true, hubHasGateway: false, includeHub: false })),
      "snet-spoke",
    );
    assert.equal(f.status, "Unverified");
  });

  it("hub subnets themselves learn their gateway's routes", () => {
    const f = findingFor(
      audit(hubAndSpoke({ useRemoteGateways: true, hubHasGateway: true })),
      "snet-hub",
    );
    assert.equal(f.status, "Unverified");
  });

  it("peering IDs in another case still find the hub's gateway", () => {
    const b = new EstateBuilder();
    const hub = new EstateBuilder(HUB_SUB);
    const hubId = hub.vnet("vnet-hub", [], { gateway: true });
    b.vnet("vnet-spoke", [{ name: "snet-spoke" }], {
      peerings: [{ remote: hubId.toUpperCase(), useRemoteGateways: true }],
    });
    assert.equal(findingFor(audit([...hub.rows, ...b.rows]), "snet-spoke").status, "Unverified");
  });

  it("a gateway known only from its GatewaySubnet's IP configuration counts", () => {
    const b = new EstateBuilder();
    const hubId =
      "/subscriptions/" +
      HUB_SUB +
      "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/hub";
    b.add({
      id: hubId,
      type: "Microsoft.Network/virtualNetworks",
      properties: {
        subnets: [
          {
            name: "GatewaySubnet",
            properties: {
              ipConfigurations: [
                {
                  id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworkGateways/gw/ipConfigurations/default",
                },
              ],
            },
          },
        ],
      },
    });
    b.vnet("vnet-spoke", [{ name: "snet-spoke" }], {
      peerings: [{ remote: hubId, useRemoteGateways: true }],
    });
    assert.equal(findingFor(audit(b.rows), "snet-spoke").status, "Unverified");
  });
});

describe("not-applicable subnets", () => {
  for (const name of [
    "GatewaySubnet",
    "AzureFirewallSubnet",
    "AzureFirewallManagementSubnet",
    "AzureBastionSubnet",
    "RouteServerSubnet",
    "gatewaysubnet",
  ]) {
    it(`${name} is NotApplicable even behind a forced tunnel`, () => {
      const b = new EstateBuilder();
      const rt = b.routeTable("rt", [["0.0.0.0/0", "VirtualNetworkGateway"]]);
      b.vnet("vnet", [{ name, routeTable: rt }]);
      const f = findingFor(audit(b.rows), name);
      assert.equal(f.status, "NotApplicable");
      assert.equal(f.severity, "none");
      assert.deepEqual(f.reasons, ["NOT_APPLICABLE_SUBNET"]);
      assert.deepEqual(f.missingRoutes, []);
      assert.equal(f.remediation, null);
    });
  }
  it("a subnet merely named like one (snet-GatewaySubnet) is audited", () => {
    const b = new EstateBuilder();
    b.vnet("vnet", [
      {
        name: "snet-GatewaySubnet",
        routeTable: b.routeTable("rt", [["0.0.0.0/0", "VirtualNetworkGateway"]]),
      },
    ]);
    assert.equal(findingFor(audit(b.rows), "snet-GatewaySubnet").status, "NonCompliant");
  });
});

describe("exemptions", () => {
  it("an exemption tag on the route table turns NonCompliant into Exempt and keeps the reasons", () => {
    const f = findingFor(
      audit(
        singleSubnet([fw("0.0.0.0/0")], {
          tags: { "KMS-Route-Audit-Exempt": "on-prem KMS host" },
          hubFirewall: "forcedTunnel",
        }),
      ),
      "snet",
    );
    assert.equal(f.status, "Exempt");
    assert.equal(f.severity, "none");
    assert.deepEqual(f.reasons, ["KMS_ROUTES_MISSING", ...VIA_FORCED_TUNNEL, "EXEMPTED"]);
    assert.match(f.summary, /on-prem KMS host/);
  });
  it("an exemption tag does not change a Compliant subnet", () => {
    const f = findingFor(
      audit(singleSubnet([["0.0.0.0/0", "Internet"]], { tags: { "kms-route-audit-exempt": "x" } })),
      "snet",
    );
    assert.equal(f.status, "Compliant");
  });
});

describe("per cloud", () => {
  const expected = {
    AzureCloud: ["20.118.99.224", "40.83.235.53", "23.102.135.246"],
    AzureUSGovernment: ["52.126.105.2", "23.97.0.13"],
    AzureChinaCloud: ["159.27.28.100", "163.228.64.161", "42.159.7.249"],
  } as const;
  for (const [cloud, ips] of Object.entries(expected)) {
    it(`${cloud}: judges exactly that cloud's KMS IPs`, () => {
      const routes: RouteSpec[] = [fw("0.0.0.0/0"), [`${ips[0]}/32`, "Internet"]];
      const f = findingFor(
        audit(singleSubnet(routes, { hubFirewall: "forcedTunnel" }), {
          cloud: cloud as keyof typeof expected,
        }),
        "snet",
      );
      assert.deepEqual(
        f.endpoints.map((e) => e.ip),
        ips,
      );
      assert.deepEqual(
        f.endpoints.map((e) => e.reachable),
        ips.map((_, i) => i === 0),
      );
      assert.equal(f.status, "NonCompliant");
      assert.deepEqual(
        f.endpoints.map((e) => e.port),
        ips.map(() => 1688),
      );
    });
  }
  it("the AzureCloud KMS bypass routes do not satisfy the US Government cloud", () => {
    const f = findingFor(
      audit(
        singleSubnet([fw("0.0.0.0/0"), ...kmsRoutes("Internet")], { hubFirewall: "forcedTunnel" }),
        {
          cloud: "AzureUSGovernment",
        },
      ),
      "snet",
    );
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(f.reasons, ["KMS_ROUTES_MISSING", ...VIA_FORCED_TUNNEL]);
  });
});

describe("severity is certainty × impact (DESIGN.md section 3, rule 6)", () => {
  function tunnelledWith(os: ("Windows" | "Linux")[]) {
    const b = new EstateBuilder();
    const rt = b.routeTable("rt", [["0.0.0.0/0", "VirtualNetworkGateway"]]);
    const vnet = b.vnet("vnet", [{ name: "snet", routeTable: rt }]);
    os.forEach((o, i) => b.vm(`vm${i}`, `${vnet}/subnets/snet`, o));
    return findingFor(audit(b.rows), "snet");
  }

  it("NonCompliant with a Windows VM affected: high", () => {
    const f = tunnelledWith(["Windows", "Linux"]);
    assert.equal(f.status, "NonCompliant");
    assert.equal(f.severity, "high");
    assert.equal(f.impact.windowsVirtualMachines, 1);
  });

  it("NonCompliant with VM rows but no Windows VM today: medium", () => {
    const f = tunnelledWith(["Linux"]);
    assert.equal(f.status, "NonCompliant");
    assert.equal(f.severity, "medium");
    assert.equal(f.impact.windowsVirtualMachines, 0);
    assert.equal(f.impact.linuxVirtualMachines, 1);
  });

  it("NonCompliant without VM rows (impact unknown): high", () => {
    const f = tunnelledWith([]);
    assert.equal(f.impact.windowsVirtualMachines, null);
    assert.equal(f.severity, "high");
  });

  it("Unverified: low, whatever the impact", () => {
    const b = new EstateBuilder();
    const vnet = b.vnet("vnet", [{ name: "snet" }], { gateway: true });
    b.vm("vm0", `${vnet}/subnets/snet`, "Windows");
    const f = findingFor(audit(b.rows), "snet");
    assert.equal(f.status, "Unverified");
    assert.equal(f.severity, "low");
  });
});

describe("endpoint sets per OS (DESIGN.md section 3: KMS everywhere, RHUI where RHEL PAYG runs)", () => {
  const RHUI = [
    "52.136.197.163",
    "20.225.226.182",
    "52.142.4.99",
    "20.248.180.252",
    "20.24.186.80",
  ];

  function subnetWith(os: "Windows" | "RHEL" | "RHEL-BYOS", forcedSets?: string[]) {
    const b = new EstateBuilder();
    const rt = b.routeTable("rt", [
      ["0.0.0.0/0", "VirtualNetworkGateway"],
      ...kmsRoutes("Internet"),
    ]);
    const vnet = b.vnet("vnet", [{ name: "snet", routeTable: rt }]);
    b.vm("vm0", `${vnet}/subnets/snet`, os);
    return findingFor(audit(b.rows, { forcedSets }), "snet");
  }

  it("a RHEL pay-as-you-go VM adds RHUI 4 (HTTPS 443); tunnelled, it fails for that VM", () => {
    const f = subnetWith("RHEL");
    assert.deepEqual(f.endpointSets, ["kms", "rhui"]);
    assert.deepEqual(
      f.endpoints.map((e) => `${e.set}:${e.ip}:${e.port}:${e.reachable}`),
      [...KMS.map((ip) => `kms:${ip}:1688:true`), ...RHUI.map((ip) => `rhui:${ip}:443:false`)],
    );
    assert.equal(f.status, "NonCompliant");
    assert.equal(f.impact.rhelPayAsYouGoVirtualMachines, 1);
    assert.equal(f.severity, "high", "a RHEL PAYG VM is affected");
    assert.deepEqual(
      f.missingRoutes,
      RHUI.map((ip) => `${ip}/32`),
    );
  });

  it("RHEL BYOS and Windows VMs need KMS only", () => {
    for (const os of ["RHEL-BYOS", "Windows"] as const) {
      const f = subnetWith(os);
      assert.deepEqual(f.endpointSets, ["kms"], os);
      assert.equal(f.status, "Compliant", os);
    }
    assert.equal(subnetWith("RHEL-BYOS").impact.linuxVirtualMachines, 1);
  });

  it("--endpoint-set rhui judges RHUI for every subnet, whatever its VMs", () => {
    const f = subnetWith("Windows", ["rhui"]);
    assert.deepEqual(f.endpointSets, ["kms", "rhui"]);
    assert.equal(f.status, "NonCompliant");
    // No RHEL PAYG VM is affected today (rule 6).
    assert.equal(f.severity, "medium");
  });
});
