import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReasonCode } from "../src/audit/reasons.js";
import type { Severity, Status } from "../src/model.js";
import {
  EstateBuilder,
  HUB_SUB,
  KMS,
  audit,
  findingFor,
  singleSubnet,
  type RouteSpec,
} from "./support/estate-builder.js";

const FW = "VirtualAppliance";
const kmsRoutes = (hop: string, ips: readonly string[] = KMS): RouteSpec[] =>
  ips.map((ip) => [`${ip}/32`, hop]);

interface Case {
  name: string;
  routes: RouteSpec[] | null;
  gatewayInVnet?: boolean;
  disableBgpRoutePropagation?: boolean;
  status: Status;
  severity: Severity;
  /** bypassed for 20.118.99.224, 40.83.235.53, 23.102.135.246 */
  bypassed: [boolean | null, boolean | null, boolean | null];
  reasons: ReasonCode[];
  missing: string[];
}

const ALL_MISSING = KMS.map((ip) => `${ip}/32`);

// Rule 1 (longest UDR prefix), rule 2 (system route / gateway routes), rule 3 (service tags).
const cases: Case[] = [
  {
    name: "0.0.0.0/0 to an appliance with no bypass",
    routes: [["0.0.0.0/0", FW]],
    status: "NonCompliant",
    severity: "medium",
    bypassed: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING"],
    missing: ALL_MISSING,
  },
  {
    name: "only the pre-2022 IP bypassed",
    routes: [
      ["0.0.0.0/0", FW],
      ["23.102.135.246/32", "Internet"],
    ],
    status: "NonCompliant",
    severity: "medium",
    bypassed: [false, false, true],
    reasons: ["KMS_ROUTES_INCOMPLETE", "LEGACY_KMS_IP_ONLY"],
    missing: ["20.118.99.224/32", "40.83.235.53/32"],
  },
  {
    name: "one new IP bypassed, not the legacy one",
    routes: [
      ["0.0.0.0/0", FW],
      ["20.118.99.224/32", "Internet"],
    ],
    status: "NonCompliant",
    severity: "medium",
    bypassed: [true, false, false],
    reasons: ["KMS_ROUTES_INCOMPLETE"],
    missing: ["40.83.235.53/32", "23.102.135.246/32"],
  },
  {
    name: "all three KMS IPs bypassed",
    routes: [["0.0.0.0/0", FW], ...kmsRoutes("Internet")],
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "split default route 0.0.0.0/1 + 128.0.0.0/1 without bypass",
    routes: [
      ["0.0.0.0/1", FW],
      ["128.0.0.0/1", FW],
    ],
    status: "NonCompliant",
    severity: "medium",
    bypassed: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING"],
    missing: ALL_MISSING,
  },
  {
    name: "split default route with all bypass routes",
    routes: [["0.0.0.0/1", FW], ["128.0.0.0/1", FW], ...kmsRoutes("Internet")],
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "bypass by broader prefixes (20.0.0.0/8, 40.64.0.0/10, 23.96.0.0/13)",
    routes: [
      ["0.0.0.0/0", FW],
      ["20.0.0.0/8", "Internet"],
      ["40.64.0.0/10", "Internet"],
      ["23.96.0.0/13", "Internet"],
    ],
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "a broad bypass undone by a more specific tunnel route",
    routes: [
      ["0.0.0.0/0", FW],
      ["20.0.0.0/8", "Internet"],
      ["20.118.0.0/16", FW],
      ...kmsRoutes("Internet", KMS.slice(1)),
    ],
    status: "NonCompliant",
    severity: "medium",
    bypassed: [false, true, true],
    reasons: ["KMS_ROUTES_INCOMPLETE"],
    missing: ["20.118.99.224/32"],
  },
  {
    name: "KMS routes that point at the appliance",
    routes: [["0.0.0.0/0", FW], ...kmsRoutes(FW)],
    status: "NonCompliant",
    severity: "medium",
    bypassed: [false, false, false],
    reasons: ["KMS_ROUTE_WRONG_NEXT_HOP"],
    missing: ALL_MISSING,
  },
  {
    name: "default route with next hop None",
    routes: [["0.0.0.0/0", "None"]],
    status: "NonCompliant",
    severity: "high",
    bypassed: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING", "DEFAULT_ROUTE_BLACKHOLED"],
    missing: ALL_MISSING,
  },
  {
    name: "default route to the VPN/ExpressRoute gateway",
    routes: [["0.0.0.0/0", "VirtualNetworkGateway"]],
    status: "NonCompliant",
    severity: "high",
    bypassed: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING"],
    missing: ALL_MISSING,
  },
  {
    name: "default route with next hop VnetLocal",
    routes: [["0.0.0.0/0", "VnetLocal"]],
    status: "NonCompliant",
    severity: "high",
    bypassed: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING"],
    missing: ALL_MISSING,
  },
  {
    name: "a covering route without a next hop type counts as not bypassed",
    routes: [["0.0.0.0/0", null]],
    status: "NonCompliant",
    severity: "high",
    bypassed: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING"],
    missing: ALL_MISSING,
  },
  {
    name: "private-only routes",
    routes: [
      ["10.0.0.0/8", FW],
      ["172.16.0.0/12", FW],
      ["192.168.0.0/16", "VirtualNetworkGateway"],
    ],
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "explicit 0.0.0.0/0 to Internet",
    routes: [["0.0.0.0/0", "Internet"]],
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "next hop type in another case",
    routes: [["0.0.0.0/0", "virtualappliance"], ...kmsRoutes("INTERNET")],
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "IPv6 routes are never mistaken for a match",
    routes: [
      ["::/0", FW],
      ["2001:db8::/32", "None"],
      ["::ffff:0:0/96", FW],
    ],
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "invalid prefixes are ignored and reported",
    routes: [
      ["0.0.0.0/0", FW],
      ["20.118.99.224/33", "Internet"],
      ["40.83.235.53", "Internet"],
      ["023.102.135.246/32", "Internet"],
      [42, "Internet"],
      ["", "Internet"],
    ],
    status: "NonCompliant",
    severity: "medium",
    bypassed: [false, false, false],
    reasons: ["KMS_ROUTES_MISSING", "INVALID_ROUTE_PREFIX"],
    missing: ALL_MISSING,
  },
  {
    name: "stray white space around a prefix does not hide a tunnel",
    routes: [
      [" 0.0.0.0/0 ", FW],
      ["23.102.135.246/32\n", "Internet"],
    ],
    status: "NonCompliant",
    severity: "medium",
    bypassed: [false, false, true],
    reasons: ["KMS_ROUTES_INCOMPLETE", "LEGACY_KMS_IP_ONLY"],
    missing: ["20.118.99.224/32", "40.83.235.53/32"],
  },
  {
    name: "a service-tag route leaves IPs without a /32 unknown",
    routes: [
      ["0.0.0.0/0", FW],
      ["AzureCloud", "Internet"],
      ["23.102.135.246/32", "Internet"],
    ],
    disableBgpRoutePropagation: true,
    status: "Unverified",
    severity: "low",
    bypassed: [null, null, true],
    reasons: ["SERVICE_TAG_ROUTE_UNRESOLVED"],
    missing: ["20.118.99.224/32", "40.83.235.53/32"],
  },
  {
    name: "a service-tag route does not hide a refused /32",
    routes: [
      ["AzureCloud", "Internet"],
      ["20.118.99.224/32", FW],
    ],
    disableBgpRoutePropagation: true,
    status: "NonCompliant",
    severity: "medium",
    bypassed: [false, null, null],
    reasons: ["KMS_ROUTE_WRONG_NEXT_HOP", "SERVICE_TAG_ROUTE_UNRESOLVED"],
    missing: ALL_MISSING,
  },
  {
    name: "no route table and no gateway: the system route reaches the Internet",
    routes: null,
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "no route table, gateway in the VNet: a BGP default route may apply",
    routes: null,
    gatewayInVnet: true,
    status: "Unverified",
    severity: "low",
    bypassed: [null, null, null],
    reasons: ["BGP_DEFAULT_ROUTE_POSSIBLE"],
    missing: ALL_MISSING,
  },
  {
    name: "gateway in the VNet, route table propagates gateway routes, private routes only",
    routes: [["10.0.0.0/8", FW]],
    gatewayInVnet: true,
    status: "Unverified",
    severity: "low",
    bypassed: [null, null, null],
    reasons: ["BGP_DEFAULT_ROUTE_POSSIBLE"],
    missing: ALL_MISSING,
  },
  {
    name: "gateway in the VNet, propagation disabled",
    routes: [["10.0.0.0/8", FW]],
    gatewayInVnet: true,
    disableBgpRoutePropagation: true,
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["NO_FORCED_TUNNEL"],
    missing: [],
  },
  {
    name: "gateway in the VNet, UDRs decide every IP (a UDR beats any BGP route it covers)",
    routes: [["0.0.0.0/0", FW], ...kmsRoutes("Internet")],
    gatewayInVnet: true,
    status: "Compliant",
    severity: "none",
    bypassed: [true, true, true],
    reasons: ["KMS_ROUTES_PRESENT"],
    missing: [],
  },
  {
    name: "gateway in the VNet, only some IPs covered by UDRs",
    routes: [["23.102.135.246/32", "Internet"]],
    gatewayInVnet: true,
    status: "Unverified",
    severity: "low",
    bypassed: [null, null, true],
    reasons: ["BGP_DEFAULT_ROUTE_POSSIBLE"],
    missing: ["20.118.99.224/32", "40.83.235.53/32"],
  },
];

describe("verdict rules (DESIGN.md section 3)", () => {
  for (const c of cases) {
    it(c.name, () => {
      const finding = findingFor(audit(singleSubnet(c.routes, c)), "snet");
      assert.deepEqual(
        finding.endpoints.map((e) => [e.ip, e.bypassed]),
        KMS.map((ip, i) => [ip, c.bypassed[i]]),
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
  it("names the route, prefix and next hop that decided each IP", () => {
    const f = findingFor(
      audit(
        singleSubnet([
          ["0.0.0.0/0", FW, "to-fw"],
          ["20.0.0.0/8", "Internet", "azure-20"],
        ]),
      ),
      "snet",
    );
    assert.deepEqual(f.endpoints[0], {
      set: "kms",
      host: "azkms.core.windows.net",
      ip: "20.118.99.224",
      port: 1688,
      bypassed: true,
      nextHopType: "Internet",
      addressPrefix: "20.0.0.0/8",
      routeName: "azure-20",
      decidedBy: "UserDefinedRoute",
    });
    assert.deepEqual(
      { ...f.endpoints[1], set: undefined, host: undefined },
      {
        set: undefined,
        host: undefined,
        ip: "40.83.235.53",
        port: 1688,
        bypassed: false,
        nextHopType: FW,
        addressPrefix: "0.0.0.0/0",
        routeName: "to-fw",
        decidedBy: "UserDefinedRoute",
      },
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

  it("equal prefixes with different next hops (not possible in Azure) are judged as not bypassed", () => {
    const f = findingFor(
      audit(
        singleSubnet([
          ["20.118.99.224/32", "Internet", "a"],
          ["20.118.99.224/32", FW, "b"],
        ]),
      ),
      "snet",
    );
    assert.equal(f.endpoints[0]!.bypassed, false);
    assert.equal(f.endpoints[0]!.routeName, "b");
  });

  it("masks host bits of a prefix like Azure's longest-prefix match does", () => {
    const f = findingFor(
      audit(
        singleSubnet([
          ["0.0.0.0/0", FW],
          ["20.118.99.1/24", "Internet"],
        ]),
      ),
      "snet",
    );
    assert.equal(f.endpoints[0]!.bypassed, true);
  });
});

describe("service tags with Azure's published file", () => {
  const tags = new Map([
    ["azurecloud", [{ network: 0x14000000, length: 8 }]], // 20.0.0.0/8
    ["storage", [{ network: 0x28000000, length: 8 }]], // 40.0.0.0/8
  ]);

  it("turns a tag into prefixes for the same longest-prefix choice", () => {
    const rows = singleSubnet(
      [
        ["0.0.0.0/0", FW],
        ["AzureCloud", "Internet"],
        ["Storage", FW],
      ],
      { disableBgpRoutePropagation: true },
    );
    const f = findingFor(audit(rows, { serviceTags: tags }), "snet");
    assert.deepEqual(
      f.endpoints.map((e) => e.bypassed),
      [true, false, false],
    );
    assert.equal(f.endpoints[0]!.decidedBy, "ServiceTagRoute");
    assert.equal(f.endpoints[0]!.addressPrefix, "AzureCloud");
    assert.equal(f.status, "NonCompliant");
  });

  it("prefers an explicit CIDR over a tag prefix of equal length", () => {
    const rows = singleSubnet(
      [
        ["AzureCloud", "Internet"],
        ["20.0.0.0/8", FW],
      ],
      { disableBgpRoutePropagation: true },
    );
    const f = findingFor(audit(rows, { serviceTags: tags }), "snet");
    assert.equal(f.endpoints[0]!.bypassed, false);
    assert.equal(f.endpoints[0]!.decidedBy, "UserDefinedRoute");
  });

  it("keeps a tag missing from the file unknown", () => {
    const rows = singleSubnet(
      [
        ["0.0.0.0/0", FW],
        ["AzureFrontDoor.Backend", "Internet"],
      ],
      { disableBgpRoutePropagation: true },
    );
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
      { name: "snet-GatewaySubnet", routeTable: b.routeTable("rt", [["0.0.0.0/0", FW]]) },
    ]);
    assert.equal(findingFor(audit(b.rows), "snet-GatewaySubnet").status, "NonCompliant");
  });
});

describe("exemptions", () => {
  it("an exemption tag on the route table turns NonCompliant into Exempt and keeps the reasons", () => {
    const f = findingFor(
      audit(
        singleSubnet([["0.0.0.0/0", FW]], {
          tags: { "KMS-Route-Audit-Exempt": "on-prem KMS host" },
        }),
      ),
      "snet",
    );
    assert.equal(f.status, "Exempt");
    assert.equal(f.severity, "none");
    assert.deepEqual(f.reasons, ["KMS_ROUTES_MISSING", "EXEMPTED"]);
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
      const routes: RouteSpec[] = [
        ["0.0.0.0/0", FW],
        [`${ips[0]}/32`, "Internet"],
      ];
      const f = findingFor(
        audit(singleSubnet(routes), { cloud: cloud as keyof typeof expected }),
        "snet",
      );
      assert.deepEqual(
        f.endpoints.map((e) => e.ip),
        ips,
      );
      assert.deepEqual(
        f.endpoints.map((e) => e.bypassed),
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
      audit(singleSubnet([["0.0.0.0/0", FW], ...kmsRoutes("Internet")]), {
        cloud: "AzureUSGovernment",
      }),
      "snet",
    );
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(f.reasons, ["KMS_ROUTES_MISSING"]);
  });
});
