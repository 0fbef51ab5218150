import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { auditInventory } from "../src/audit/audit.js";
import { endpointSetsFor, flattenEndpoints } from "../src/catalog/endpoints.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { buildInventory } from "../src/inventory/inventory.js";
import type { Status } from "../src/model.js";

/**
 * "Unknown is never absent" (DESIGN.md section 3): leaving rows out of a real topology, while the
 * references to them stay, never moves a subnet from NonCompliant or Unverified to Compliant. A
 * missing route table, firewall, policy, IP group, NSG, NIC, NAT gateway, hub connection or VNet is
 * unknown, never "none".
 */
const DIR = fileURLToPath(new URL("../../test/fixtures/topologies/", import.meta.url));
const endpoints = flattenEndpoints(endpointSetsFor("AzureCloud"));
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({
    file: f,
    rows: (JSON.parse(readFileSync(`${DIR}${f}`, "utf8")) as { rows: ArmRow[] }).rows,
  }));

function statuses(rows: ArmRow[]): Map<string, Status> {
  const { findings } = auditInventory(buildInventory(rows), { endpoints });
  return new Map(findings.map((f) => [f.subnetId.toLowerCase(), f.status]));
}

function regressions(file: string, rows: ArmRow[], dropped: Set<number>): string[] {
  const before = statuses(rows);
  const after = statuses(rows.filter((_, i) => !dropped.has(i)));
  const out: string[] = [];
  for (const [id, status] of before) {
    if ((status === "NonCompliant" || status === "Unverified") && after.get(id) === "Compliant")
      out.push(
        `${file}: without ${[...dropped].map((i) => `${rows[i]!.type} ${rows[i]!.id.split("/").pop()}`).join(", ")}, ${id} went ${status} -> Compliant`,
      );
  }
  return out;
}

describe("leaving data out never makes a subnet Compliant", () => {
  it("for every single row of every topology", () => {
    const found = fixtures.flatMap(({ file, rows }) =>
      rows.flatMap((_, i) => regressions(file, rows, new Set([i]))),
    );
    assert.deepEqual(found, []);
  });

  it("for random sets of rows (property-based, seeded)", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: fixtures.length - 1 }).chain((f) =>
          fc.tuple(
            fc.constant(f),
            fc.uniqueArray(fc.nat({ max: fixtures[f]!.rows.length - 1 }), {
              minLength: 2,
              maxLength: 5,
            }),
          ),
        ),
        ([f, drop]) => {
          const { file, rows } = fixtures[f]!;
          assert.deepEqual(regressions(file, rows, new Set(drop)), []);
        },
      ),
      { seed: 20261201, numRuns: 300 },
    );
  });
});
