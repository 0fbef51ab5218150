import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { auditInventory } from "../src/audit/audit.js";
import { DEPRECATED_REASONS, type ReasonCode } from "../src/reasons.js";
import { endpointSetsFor, flattenEndpoints } from "../src/catalog/endpoints.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { buildInventory } from "../src/inventory/inventory.js";
import type { EndpointVerdict, Finding, Status } from "../src/model.js";

/**
 * Real topologies built from the shapes of Azure's REST API examples (each file names the
 * azure-rest-api-specs examples it follows and the Microsoft pages that say what Azure does; see
 * test/fixtures/topologies/NOTES.md). Every subnet has the verdict DESIGN.md section 3 gives, per
 * endpoint IP where it matters, with a reason that names the cause.
 */
const DIR = fileURLToPath(new URL("../../test/fixtures/topologies/", import.meta.url));

interface Fixture {
  title: string;
  pages: string[];
  restExamples: string[];
  rows: ArmRow[];
  expected: {
    subnetId: string;
    status: Status;
    reachable?: Record<string, boolean | null>;
    cause: string;
    why: string;
  }[];
}

/** The fixtures' cause words and the reason codes that carry them. */
const CAUSES: Record<string, ReasonCode[]> = {
  PLATFORM_SUBNET: ["NOT_APPLICABLE_SUBNET"],
  REACHABLE_DIRECT: ["NO_FORCED_TUNNEL", "KMS_ROUTES_PRESENT"],
  REACHABLE_VIA_NAT_GATEWAY: ["NO_FORCED_TUNNEL", "KMS_ROUTES_PRESENT"],
  REACHABLE_VIA_INSTANCE_PUBLIC_IP: ["NO_FORCED_TUNNEL", "KMS_ROUTES_PRESENT"],
  REACHABLE_VIA_LB_OUTBOUND_RULE: ["NO_FORCED_TUNNEL", "KMS_ROUTES_PRESENT"],
  REACHABLE_VIA_FIREWALL: ["REACHABLE_VIA_FIREWALL"],
  REACHABLE_VIA_DECLARED_NVA: ["NVA_DECLARED_ALLOWS"],
  FIREWALL_DENIES_PORT: ["FIREWALL_DENIES_PORT"],
  FIREWALL_FORCED_TUNNELED: ["FIREWALL_FORCED_TUNNELED"],
  FIREWALL_RULE_UNRESOLVED: ["FIREWALL_RULES_UNKNOWN"],
  NSG_DENIES_PORT: ["NSG_DENIES_PORT"],
  NSG_RULE_UNRESOLVED: ["NSG_RULES_UNKNOWN"],
  PRIVATE_SUBNET_NO_OUTBOUND: ["PRIVATE_SUBNET_NO_OUTBOUND"],
  TUNNELED_ON_PREMISES: [
    "TUNNELED_ON_PREMISES",
    "VPN_DEFAULT_SITE",
    "BGP_DEFAULT_ROUTE_LEARNED",
    "VIRTUAL_HUB_ROUTE_LEARNED",
  ],
  NVA_POLICY_UNKNOWN: ["NVA_POLICY_UNKNOWN"],
  NEXT_HOP_NOT_IN_INVENTORY: ["NEXT_HOP_NOT_IN_INVENTORY"],
  LEARNED_ROUTES_UNKNOWN: [
    "BGP_DEFAULT_ROUTE_POSSIBLE",
    "ROUTE_SERVER_ROUTES_UNKNOWN",
    "VIRTUAL_HUB_ROUTES_UNKNOWN",
    "VIRTUAL_HUB_CONNECTION_NOT_FOUND",
  ],
};

const endpoints = flattenEndpoints(endpointSetsFor("AzureCloud"));
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();

describe("real topologies (REST API example shapes, DESIGN.md section 3)", () => {
  it("are all here (13 topologies, with facts variants)", () => {
    assert.ok(files.filter((f) => !f.includes(".facts.")).length >= 13, files.join(", "));
  });

  for (const file of files) {
    const fixture = JSON.parse(readFileSync(`${DIR}${file}`, "utf8")) as Fixture;
    describe(`${file}: ${fixture.title}`, () => {
      const { findings, warnings } = auditInventory(buildInventory(fixture.rows), { endpoints });
      it("names the Microsoft pages and REST examples it rests on", () => {
        assert.ok(
          fixture.pages.length > 0 &&
            fixture.pages.every((p) => /learn\.microsoft\.com|suse\.com/.test(p)),
        );
        assert.ok(fixture.restExamples.length > 0);
        assert.deepEqual(warnings, [], "real shapes are read without warnings");
      });
      it("produces no deprecated reason code", () => {
        for (const f of findings)
          for (const code of [...f.reasons, ...f.endpoints.map((e) => e.reason)])
            assert.ok(!DEPRECATED_REASONS.has(code), `${f.subnetId}: ${code}`);
      });
      for (const e of fixture.expected) {
        const name = e.subnetId.split("/virtualNetworks/")[1] ?? e.subnetId;
        it(`${name}: ${e.status} (${e.cause}) — ${fixture.pages.map((p) => p.replace(/^https:\/\/learn\.microsoft\.com\/(en-us\/)?azure\//, "")).join(", ")}`, () => {
          const f: Finding | undefined = findings.find(
            (x) => x.subnetId.toLowerCase() === e.subnetId.toLowerCase(),
          );
          assert.ok(f, `finding for ${e.subnetId}`);
          assert.equal(
            f.status,
            e.status,
            `${e.why}\npath: ${f.endpoints.map((x) => x.path.map((h) => h.detail).join(" -> ")).join(" | ")}`,
          );
          for (const [ip, reachable] of Object.entries(e.reachable ?? {})) {
            const endpoint: EndpointVerdict | undefined = f.endpoints.find((x) => x.ip === ip);
            assert.ok(endpoint, `endpoint ${ip} judged`);
            assert.equal(endpoint.reachable, reachable, `${ip}: ${e.why}`);
            assert.ok(endpoint.path.length > 0, "every endpoint carries its path as evidence");
          }
          if (e.status !== "NotApplicable")
            assert.deepEqual(
              f.endpoints.map((x) => x.ip).sort(),
              Object.keys(e.reachable ?? {}).sort(),
              "exactly the endpoint sets that apply are judged",
            );
          const accepted = CAUSES[e.cause];
          assert.ok(accepted, `known cause ${e.cause}`);
          assert.ok(
            f.reasons.some((r) => accepted.includes(r)),
            `reasons ${f.reasons.join(", ")} carry ${e.cause}`,
          );
          // Never a fix that breaks a working path: Compliant subnets get none.
          if (e.status === "Compliant") assert.equal(f.remediation, null);
        });
      }
    });
  }
});
