import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { auditInventory } from "../src/audit/audit.js";
import { flattenEndpoints, endpointSetsFor } from "../src/catalog/endpoints.js";
import { buildInventory } from "../src/inventory/inventory.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import type { Finding } from "../src/model.js";
import { tagExemption } from "../src/policy/exemptions.js";
import {
  ASSIGNMENT,
  MG,
  RG,
  SUB,
  VNET,
  exemption,
  networkRows,
  policyRows,
  subnetId,
} from "./support/policy-estate.js";

// What Azure does: "Azure Policy exemption structure" (learn.microsoft.com/azure/governance/
// policy/concepts/exemption-structure): an exemption is a child of the scope it exempts and covers
// the resources below it, names one assignment (policyAssignmentId) and, for an initiative, the
// definitions it exempts from (policyDefinitionReferenceIds); "The policy exemptions isn't deleted
// when the expiresOn date is reached ... the exemption is no longer honored." Categories: Waiver,
// Mitigated. Compliance state Exempt: "Azure Policy compliance states".

const AS_OF = new Date("2026-12-01T06:00:00Z");
const endpoints = flattenEndpoints(endpointSetsFor("AzureCloud"));

function judge(rows: ArmRow[], referenceId: string | null = null): Finding[] {
  return auditInventory(buildInventory(rows), {
    endpoints,
    asOf: AS_OF,
    policyAssignment: { id: ASSIGNMENT, definitionReferenceId: referenceId },
  }).findings;
}

const of = (findings: Finding[], name: string) => findings.find((f) => f.subnetName === name)!;

/** Our assignment's exemption at `scope`, and nothing else of policy. */
function exemptAt(scope: string, properties: Record<string, unknown> = {}): ArmRow[] {
  return [
    ...networkRows(),
    exemption(scope, "x", {
      policyAssignmentId: ASSIGNMENT,
      exemptionCategory: "Mitigated",
      ...properties,
    }),
  ];
}

void describe("Azure Policy exemptions make subnets Exempt", () => {
  for (const [scope, id] of [
    ["the subnet", subnetId("app-tunnel")],
    ["its VNet", VNET],
    ["its resource group", RG],
    ["its subscription", `/subscriptions/${SUB}`],
    ["a management group above it", MG("contoso")],
  ] as const) {
    it(`at ${scope}: Exempt, with category, expiry and description, otherwise NonCompliant`, () => {
      const f = of(
        judge(
          exemptAt(id, {
            expiresOn: "2027-03-31T00:00:00Z",
            description: "firewall egress planned",
          }),
        ),
        "app-tunnel",
      );
      assert.equal(f.status, "Exempt");
      assert.ok(f.reasons.includes("POLICY_EXEMPT"));
      assert.ok(f.reasons.includes("TUNNELED_ON_PREMISES"), "the causes stay");
      assert.deepEqual(
        {
          source: f.exemption?.source,
          category: f.exemption?.category,
          expiresOn: f.exemption?.expiresOn,
          description: f.exemption?.description,
          statusWithout: f.exemption?.statusWithout,
        },
        {
          source: "policyExemption",
          category: "Mitigated",
          expiresOn: "2027-03-31T00:00:00.000Z",
          description: "firewall egress planned",
          statusWithout: "NonCompliant",
        },
      );
      assert.match(
        f.summary,
        /^Exempt \(Azure Policy exemption \(Mitigated\): firewall egress planned/,
      );
    });
  }

  it("a Compliant subnet under an exemption stays Compliant", () => {
    const f = of(judge(exemptAt(VNET)), "app-ok");
    assert.equal(f.status, "Compliant");
    assert.equal(f.exemption, null);
  });

  it("an expired exemption is reported, not honoured", () => {
    const f = of(judge(exemptAt(VNET, { expiresOn: "2026-11-30T23:59:00Z" })), "app-tunnel");
    assert.equal(f.status, "NonCompliant");
    assert.equal(f.exemption, null);
    assert.ok(f.reasons.includes("EXEMPTION_EXPIRED"));
    assert.equal(f.unhonouredExemptions.length, 1);
    assert.equal(f.unhonouredExemptions[0]?.state, "expired");
  });

  it("another assignment's exemption is ignored", () => {
    const rows = [
      ...networkRows(),
      exemption(RG, "y", {
        policyAssignmentId: `${MG("corp")}/providers/Microsoft.Authorization/policyAssignments/other`,
        exemptionCategory: "Waiver",
      }),
    ];
    const f = of(judge(rows), "app-tunnel");
    assert.equal(f.status, "NonCompliant");
    assert.deepEqual(f.unhonouredExemptions, []);
  });

  it("an exemption from other definitions of an initiative does not count for ours", () => {
    const rows = exemptAt(VNET, { policyDefinitionReferenceIds: ["allowedLocations"] });
    assert.equal(of(judge(rows, "kmsActivation"), "app-tunnel").status, "NonCompliant");
    assert.equal(
      of(
        judge(exemptAt(VNET, { policyDefinitionReferenceIds: ["KmsActivation"] }), "kmsActivation"),
        "app-tunnel",
      ).status,
      "Exempt",
    );
  });

  it("an exemption at a management group the subscription is not under does not count", () => {
    assert.equal(of(judge(exemptAt(MG("sandbox"))), "app-tunnel").status, "NonCompliant");
  });

  it("the test estate: waived subnet Exempt, expired waiver reported on app-nva, the other assignment ignored", () => {
    const findings = judge([...networkRows(), ...policyRows({ alz: false })]);
    assert.equal(of(findings, "app-waived").status, "Exempt");
    assert.equal(of(findings, "app-waived").exemption?.category, "Waiver");
    assert.equal(of(findings, "app-nva").status, "Unverified");
    assert.ok(of(findings, "app-nva").reasons.includes("EXEMPTION_EXPIRED"));
    assert.equal(of(findings, "app-tunnel").status, "NonCompliant");
  });
});

void describe("the kms-route-audit-exempt tag", () => {
  it("without an expiry: Exempt with its justification (as before)", () => {
    const e = tagExemption("change freeze until the migration", "/x", AS_OF);
    assert.deepEqual(
      [e.state, e.expiresOn, e.description],
      ["active", null, "change freeze until the migration"],
    );
  });

  it("with until=YYYY-MM-DD: valid through that day (UTC)", () => {
    const e = tagExemption("until=2026-12-01; DC exit", "/x", AS_OF);
    assert.deepEqual(
      [e.state, e.expiresOn, e.description],
      ["active", "2026-12-02T00:00:00.000Z", "DC exit"],
    );
    assert.equal(tagExemption("until=2026-11-30; DC exit", "/x", AS_OF).state, "expired");
  });

  it("an until= that is not a date is not honoured", () => {
    assert.equal(tagExemption("until=2026-02-30; x", "/x", AS_OF).state, "invalid");
    assert.equal(tagExemption("until=soon", "/x", AS_OF).state, "invalid");
  });

  it("an expired tag is reported and the subnet judged as it is", () => {
    const f = of(judge(networkRows({ taggedUntil: "2026-06-30" })), "app-tagged");
    assert.equal(f.status, "NonCompliant");
    assert.ok(f.reasons.includes("EXEMPTION_EXPIRED"));
    assert.equal(f.unhonouredExemptions[0]?.source, "tag");
    assert.equal(f.unhonouredExemptions[0]?.expiresOn, "2026-07-01T00:00:00.000Z");
  });

  it("an unexpired tag makes the subnet Exempt with its expiry", () => {
    const f = of(judge(networkRows()), "app-tagged");
    assert.equal(f.status, "Exempt");
    assert.ok(f.reasons.includes("EXEMPTED"));
    assert.equal(f.exemption?.source, "tag");
    assert.equal(f.exemption?.expiresOn, "2030-02-01T00:00:00.000Z");
    assert.equal(f.exemption?.description, "datacenter exit in Q1");
  });
});
