import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ipv4ToNumber, parsePrefix } from "../src/net/ipv4.js";
import {
  chooseRoute,
  compileRouteTable,
  NO_LEARNED,
  type CandidateRoute,
  type LearnedRoutes,
  type RouteContext,
} from "../src/audit/path/routes.js";
import type { Route, RouteTable } from "../src/inventory/types.js";

const HOPS = ["Internet", "VirtualAppliance", "VirtualNetworkGateway", "VnetLocal", "None"];

/** Oracle: compares the address and the prefix as 32-character bit strings, route by route. */
function bits(address: string): string {
  return address
    .split(".")
    .map((o) => Number(o).toString(2).padStart(8, "0"))
    .join("");
}

type Source = "UserDefinedRoute" | "LearnedRoute" | "SystemRoute";
interface Spec {
  prefix: string;
  hop: string;
}

/**
 * The route Azure uses (virtual-networks-udr-overview): the longest prefix over all sources; on
 * equal prefixes UDR, then BGP, then system; Azure's system default 0.0.0.0/0 -> Internet when
 * nothing else covers the address. Two UDRs with one prefix (Azure forbids it): the one that does
 * not reach the Internet, the conservative choice.
 */
function oracle(
  udrs: Spec[],
  learned: Spec[],
  address: string,
): { source: Source; length: number; internet: boolean } {
  const target = bits(address);
  let best = { source: "SystemRoute" as Source, length: 0, internet: true, rank: 2 };
  const consider = (routes: Spec[], source: Source, rank: number) => {
    for (const r of routes) {
      const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(r.prefix);
      if (!m || Number(m[2]) > 32) continue;
      const length = Number(m[2]);
      if (bits(m[1]!).slice(0, length) !== target.slice(0, length)) continue;
      const internet = r.hop === "Internet";
      if (length > best.length || (length === best.length && rank < best.rank))
        best = { source, length, internet, rank };
      else if (length === best.length && rank === best.rank && source === "UserDefinedRoute")
        best.internet &&= internet;
    }
  };
  consider(udrs, "UserDefinedRoute", 0);
  consider(learned, "LearnedRoute", 1);
  return { source: best.source, length: best.length, internet: best.internet };
}

const octet = fc.integer({ min: 0, max: 255 });
const address = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));

/** A prefix near the address (sharing a random number of leading bits). */
function prefixNear(target: string) {
  return fc
    .tuple(
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 32 }),
    )
    .map(([shared, noise, length]) => {
      const t = ipv4ToNumber(target);
      const keep = shared === 0 ? 0 : (0xffffffff << (32 - shared)) >>> 0;
      const value = ((t & keep) | (noise & ~keep)) >>> 0;
      const text = [24, 16, 8, 0].map((s) => (value >>> s) & 255).join(".");
      return `${text}/${length}`;
    });
}

/**
 * A route near the address or anywhere, plus noise that never matches: IPv6, and invalid prefixes
 * (the compiled table skips them; the audit makes such a table unknown, ROUTE_MALFORMED).
 */
function routeNear(target: string) {
  const noisePrefix = fc.constantFrom("::/0", "2001:db8::/32", "10.0.0.0/33", "", "1.2.3.4");
  return fc.record({
    prefix: fc.oneof(
      { weight: 8, arbitrary: prefixNear(target) },
      { weight: 1, arbitrary: noisePrefix },
    ),
    hop: fc.constantFrom(...HOPS),
  });
}

function table(routes: Spec[]): RouteTable {
  return {
    id: "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/routeTables/t",
    name: "t",
    subscriptionId: "s",
    resourceGroup: "r",
    location: null,
    disableBgpRoutePropagation: false,
    routesUnreadable: false,
    malformed: [],
    exemption: null,
    routes: routes.map((r, i): Route => ({
      name: `r${i}`,
      addressPrefix: r.prefix,
      nextHopType: r.hop,
      nextHopIpAddress: r.hop === "VirtualAppliance" ? "10.0.0.4" : null,
    })),
  };
}

/** Known learned routes as the learned-routes module builds them: on-premises, from a gateway. */
function learnedRoutes(specs: Spec[]): CandidateRoute[] {
  const out: CandidateRoute[] = [];
  for (const s of specs) {
    const p = parsePrefix(s.prefix);
    if (p.kind !== "ipv4") continue;
    out.push({
      network: p.network,
      length: p.length,
      source: "LearnedRoute",
      nextHopType: "VirtualNetworkGateway",
      nextHop: null,
      prefix: s.prefix,
      name: null,
      resourceId: "gw",
      protected: false,
      learned: {
        kind: "gateway",
        leadsTo: { kind: "onPremises", gatewayId: "gw" },
        detail: "learned by gateway gw",
        reason: "BGP_DEFAULT_ROUTE_LEARNED",
      },
    });
  }
  return out.sort((a, b) => b.length - a.length);
}

function context(udrs: Spec[], learned: LearnedRoutes): RouteContext {
  return {
    table: compileRouteTable(table(udrs)),
    tableUnknown: null,
    learned,
    system: [],
    firewallSubnet: false,
  };
}

const UNKNOWN_GATEWAY: LearnedRoutes = {
  known: [],
  unknown: [
    {
      reason: "BGP_DEFAULT_ROUTE_POSSIBLE",
      resourceId: "gw",
      detail: "gateway gw may learn a route covering the IP",
      canSucceed: false,
    },
  ],
};

describe("longest-prefix choice (property-based)", () => {
  it("agrees with a brute-force oracle over random route tables and addresses", () => {
    fc.assert(
      fc.property(
        address.chain((a) => fc.tuple(fc.constant(a), fc.array(routeNear(a), { maxLength: 24 }))),
        ([addr, routes]) => {
          const choice = chooseRoute(context(routes, NO_LEARNED), ipv4ToNumber(addr));
          const expected = oracle(routes, [], addr);
          assert.equal(choice.kind, "route");
          if (choice.kind !== "route") return;
          assert.deepEqual(choice.contenders, []);
          assert.equal(choice.route.source, expected.source);
          assert.equal(choice.route.length, expected.length);
          assert.equal(choice.route.nextHopType === "Internet", expected.internet);
        },
      ),
      { numRuns: 3000, seed: 20261128 },
    );
  });

  // DESIGN.md section 2 (virtual-networks-udr-overview): longest prefix over all sources; on equal
  // prefixes UDR > BGP > system.
  it("with known learned routes: longest prefix over UDRs and learned routes, UDR first on equal prefixes", () => {
    fc.assert(
      fc.property(
        address.chain((a) =>
          fc.tuple(
            fc.constant(a),
            fc.array(routeNear(a), { maxLength: 12 }),
            fc.array(
              fc.record({ prefix: prefixNear(a), hop: fc.constant("VirtualNetworkGateway") }),
              { maxLength: 6 },
            ),
          ),
        ),
        ([addr, udrs, learned]) => {
          const known = learnedRoutes(learned);
          const choice = chooseRoute(context(udrs, { known, unknown: [] }), ipv4ToNumber(addr));
          const expected = oracle(udrs, learned, addr);
          assert.equal(choice.kind, "route");
          if (choice.kind !== "route") return;
          assert.equal(choice.route.source, expected.source);
          assert.equal(choice.route.length, expected.length);
          if (expected.source === "LearnedRoute") assert.ok(choice.route.learned !== null);
          else assert.equal(choice.route.nextHopType === "Internet", expected.internet);
        },
      ),
      { numRuns: 2000, seed: 11 },
    );
  });

  // DESIGN.md section 3, rule 1: with unknown learned routes, only a /32 UDR leaves them no room;
  // any other chosen route keeps the unknown source as a contender (the path walk then decides
  // whether the outcome is the same whatever it holds).
  it("with unknown learned routes: a /32 UDR decides alone, any other route keeps the gateway as a contender", () => {
    fc.assert(
      fc.property(
        address.chain((a) => fc.tuple(fc.constant(a), fc.array(routeNear(a), { maxLength: 12 }))),
        ([addr, routes]) => {
          const choice = chooseRoute(context(routes, UNKNOWN_GATEWAY), ipv4ToNumber(addr));
          const expected = oracle(routes, [], addr);
          assert.equal(choice.kind, "route");
          if (choice.kind !== "route") return;
          assert.equal(choice.route.source, expected.source);
          assert.equal(choice.route.length, expected.length);
          const decisive = expected.source === "UserDefinedRoute" && expected.length === 32;
          assert.equal(choice.contenders.length === 0, decisive);
        },
      ),
      { numRuns: 1000, seed: 7 },
    );
  });
});
