import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compileRouteTable, decideEndpoint } from "../src/audit/route-decision.js";
import { ipv4ToNumber } from "../src/audit/prefix.js";
import type { Route, RouteTable } from "../src/inventory/inventory.js";

const HOPS = ["Internet", "VirtualAppliance", "VirtualNetworkGateway", "VnetLocal", "None"];

/** Oracle: compares the address and the prefix as 32-character bit strings, route by route. */
function bits(address: string): string {
  return address
    .split(".")
    .map((o) => Number(o).toString(2).padStart(8, "0"))
    .join("");
}

function oracle(routes: { prefix: string; hop: string }[], address: string): boolean | "system" {
  const target = bits(address);
  let bestLength = -1;
  let bestBypassed = true;
  for (const r of routes) {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(r.prefix);
    if (!m) continue;
    const length = Number(m[2]);
    if (bits(m[1]!).slice(0, length) !== target.slice(0, length)) continue;
    const bypassed = r.hop === "Internet";
    if (length > bestLength) {
      bestLength = length;
      bestBypassed = bypassed;
    } else if (length === bestLength) {
      bestBypassed &&= bypassed; // duplicates: the conservative choice
    }
  }
  return bestLength < 0 ? "system" : bestBypassed;
}

const octet = fc.integer({ min: 0, max: 255 });
const address = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));

/** A route near the address (sharing a random number of leading bits) or anywhere, plus noise. */
function routeNear(target: string) {
  const near = fc
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
  const noisePrefix = fc.constantFrom(
    "::/0",
    "2001:db8::/32",
    "AzureCloud.WestEurope",
    "10.0.0.0/33",
    "",
    "1.2.3.4",
  );
  return fc.record({
    prefix: fc.oneof({ weight: 8, arbitrary: near }, { weight: 1, arbitrary: noisePrefix }),
    hop: fc.constantFrom(...HOPS),
  });
}

function table(routes: { prefix: string; hop: string }[]): RouteTable {
  return {
    id: "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/routeTables/t",
    name: "t",
    subscriptionId: "s",
    resourceGroup: "r",
    location: null,
    disableBgpRoutePropagation: false,
    routesUnreadable: false,
    exemption: null,
    routes: routes.map((r, i): Route => ({
      name: `r${i}`,
      addressPrefix: r.prefix,
      nextHopType: r.hop,
      nextHopIpAddress: null,
    })),
  };
}

describe("longest-prefix choice (property-based)", () => {
  it("agrees with a brute-force oracle over random route tables and addresses", () => {
    fc.assert(
      fc.property(
        address.chain((a) => fc.tuple(fc.constant(a), fc.array(routeNear(a), { maxLength: 24 }))),
        ([addr, routes]) => {
          // Service-tag routes make an IP unknown by rule 3; the oracle covers CIDR routes only.
          const cidrOnly = routes.filter((r) => !/^[A-Za-z]/.test(r.prefix));
          const decision = decideEndpoint(
            compileRouteTable(table(cidrOnly)),
            ipv4ToNumber(addr),
            false,
          );
          const expected = oracle(cidrOnly, addr);
          if (expected === "system") {
            assert.equal(decision.decidedBy, "SystemRoute");
            assert.equal(decision.bypassed, true);
          } else {
            assert.equal(decision.decidedBy, "UserDefinedRoute");
            assert.equal(decision.bypassed, expected);
          }
        },
      ),
      { numRuns: 3000, seed: 20261128 },
    );
  });

  it("with gateway routes possible, an uncovered IP is unknown and a covered one is decided by its UDR", () => {
    fc.assert(
      fc.property(
        address.chain((a) => fc.tuple(fc.constant(a), fc.array(routeNear(a), { maxLength: 12 }))),
        ([addr, routes]) => {
          const cidrOnly = routes.filter((r) => !/^[A-Za-z]/.test(r.prefix));
          const decision = decideEndpoint(
            compileRouteTable(table(cidrOnly)),
            ipv4ToNumber(addr),
            true,
          );
          const expected = oracle(cidrOnly, addr);
          assert.equal(decision.bypassed, expected === "system" ? null : expected);
        },
      ),
      { numRuns: 1000, seed: 7 },
    );
  });
});
