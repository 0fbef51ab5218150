import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { containsIpv4, ipv4ToNumber } from "../src/net/ipv4.js";
import {
  chooseRoute,
  compileRouteTable,
  type CandidateRoute,
  type RouteContext,
  type UnknownLearned,
} from "../src/audit/path/routes.js";
import type { Route, RouteTable } from "../src/inventory/types.js";

/**
 * DESIGN.md section 3, rule 1, against a plain reference: the longest prefix over route-table
 * routes, learned routes and system routes wins; on equal prefixes UDR, then learned (BGP), then
 * system; no learned route beats a VNet or peering system route (virtual-networks-udr-overview:
 * "How Azure selects a route"; route-server-faq). Learned routes the audit cannot see contend unless
 * a /32 route-table route or such a system route decides.
 */
const IP = "20.118.99.224";
const ip = ipv4ToNumber(IP);
const HOPS = ["Internet", "VirtualAppliance", "VirtualNetworkGateway", "None"] as const;

/** A prefix of the given length that holds the IP, or (odd seeds) one that does not. */
function prefixFor(length: number, holds: boolean): string {
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  let network = (ip & mask) >>> 0;
  if (!holds && length > 0) network = (network ^ (1 << (32 - length))) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (network >>> s) & 255).join(".")}/${length}`;
}

const route = fc.record({
  length: fc.integer({ min: 0, max: 32 }),
  holds: fc.boolean(),
  hop: fc.constantFrom(...HOPS),
});

function table(routes: { length: number; holds: boolean; hop: string }[]): RouteTable {
  // One route per prefix, as Azure allows.
  const seen = new Set<string>();
  const list: Route[] = [];
  routes.forEach((r, i) => {
    const prefix = prefixFor(r.length, r.holds);
    if (seen.has(prefix)) return;
    seen.add(prefix);
    list.push({
      name: `r${i}`,
      addressPrefix: prefix,
      nextHopType: r.hop,
      nextHopIpAddress: r.hop === "VirtualAppliance" ? "10.0.0.4" : null,
    });
  });
  return {
    id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/routeTables/t",
    name: "t",
    subscriptionId: "s",
    resourceGroup: "g",
    location: null,
    routes: list,
    disableBgpRoutePropagation: false,
    routesUnreadable: false,
    malformed: [],
    exemption: null,
  };
}

function candidate(
  source: CandidateRoute["source"],
  r: { length: number; holds: boolean; hop: string },
  isProtected = false,
): CandidateRoute {
  const prefix = prefixFor(r.length, r.holds);
  const [a, len] = prefix.split("/");
  return {
    network: ipv4ToNumber(a!),
    length: Number(len),
    source,
    nextHopType: r.hop,
    nextHop: null,
    prefix,
    name: null,
    resourceId: null,
    protected: isProtected,
    learned:
      source === "LearnedRoute"
        ? {
            kind: "gateway",
            leadsTo: { kind: "onPremises", gatewayId: null },
            detail: "",
            reason: "BGP_DEFAULT_ROUTE_LEARNED",
          }
        : null,
  };
}

const UNKNOWN: UnknownLearned = {
  reason: "BGP_DEFAULT_ROUTE_POSSIBLE",
  resourceId: null,
  detail: "",
  canSucceed: false,
};

describe("route choice (property-based)", () => {
  it("picks the reference's route over UDRs, learned and system routes", () => {
    fc.assert(
      fc.property(
        fc.array(route, { maxLength: 8 }),
        fc.array(route, { maxLength: 4 }),
        fc.option(
          fc.record({
            length: fc.integer({ min: 8, max: 30 }),
            holds: fc.boolean(),
            hop: fc.constant("VnetLocal"),
          }),
        ),
        fc.boolean(),
        (udrs, learnedSpecs, systemSpec, unknownLearned) => {
          const t = compileRouteTable(table(udrs));
          const learned = learnedSpecs
            .map((r) => candidate("LearnedRoute", r))
            .sort((a, b) => b.length - a.length);
          const system = systemSpec ? [candidate("SystemRoute", systemSpec, true)] : [];
          const ctx: RouteContext = {
            table: t,
            tableUnknown: null,
            learned: { known: learned, unknown: unknownLearned ? [UNKNOWN] : [] },
            system,
            firewallSubnet: false,
          };
          const choice = chooseRoute(ctx, ip);
          assert.equal(choice.kind, "route");
          if (choice.kind !== "route") return;

          // The reference: every candidate holding the IP, ranked.
          const holding = (rs: CandidateRoute[]) => rs.filter((r) => containsIpv4(r, ip));
          const shielded = holding(system).length > 0;
          const all = [
            ...holding(t.cidrs).map((r) => ({ r, rank: 0 })),
            ...(shielded ? [] : holding(learned).map((r) => ({ r, rank: 1 }))),
            ...holding(system).map((r) => ({ r, rank: 2 })),
          ];
          all.sort((a, b) => b.r.length - a.r.length || a.rank - b.rank);
          const expected = all[0]?.r;
          if (expected) {
            assert.equal(choice.route.length, expected.length);
            assert.equal(choice.route.source, expected.source);
            if (expected.source === "UserDefinedRoute")
              assert.equal(choice.route.prefix, expected.prefix);
          } else {
            assert.equal(choice.route.source, "SystemRoute");
            assert.equal(choice.route.prefix, "0.0.0.0/0");
            assert.equal(choice.route.nextHopType, "Internet");
          }
          // Unknown learned routes contend unless nothing could beat the chosen route.
          const decided =
            shielded || (choice.route.source === "UserDefinedRoute" && choice.route.length === 32);
          assert.equal(choice.contenders.length, unknownLearned && !decided ? 1 : 0);
        },
      ),
      { seed: 1688, numRuns: 2000 },
    );
  });

  it("a learned /1 beats a 0.0.0.0/0 UDR to the Internet; an equal learned /0 does not", () => {
    const t = compileRouteTable(table([{ length: 0, holds: true, hop: "Internet" }]));
    const ctx = (learned: CandidateRoute[]): RouteContext => ({
      table: t,
      tableUnknown: null,
      learned: { known: learned, unknown: [] },
      system: [],
      firewallSubnet: false,
    });
    const slash1 = candidate("LearnedRoute", {
      length: 1,
      holds: true,
      hop: "VirtualNetworkGateway",
    });
    const slash0 = candidate("LearnedRoute", {
      length: 0,
      holds: true,
      hop: "VirtualNetworkGateway",
    });
    const a = chooseRoute(ctx([slash1]), ip);
    const b = chooseRoute(ctx([slash0]), ip);
    assert.ok(a.kind === "route" && a.route.source === "LearnedRoute" && a.route.length === 1);
    assert.ok(b.kind === "route" && b.route.source === "UserDefinedRoute");
  });
});
