import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { auditInventory } from "../src/audit/audit.js";
import { flattenEndpoints, endpointSetsFor } from "../src/catalog/endpoints.js";
import { buildInventory } from "../src/inventory/inventory.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import type { Finding } from "../src/model.js";
import { desiredByTable } from "../src/remediate/plan.js";
import { evaluate, ruleMatches } from "../src/policy/policy-rule.js";
import {
  ALZ_ASSIGNMENT,
  MG,
  NET,
  RG,
  SUB,
  VNET,
  assignment,
  exemption,
  fixture,
  networkRows,
} from "./support/policy-estate.js";

// What Azure does: a deny policy rejects a PUT whose resource matches its rule ("Azure Policy
// definitions deny effect", learn.microsoft.com/azure/governance/policy/concepts/effect-deny),
// unless the assignment's enforcementMode is DoNotEnforce ("Azure Policy assignment structure",
// enforcement mode) or an exemption covers the resource ("Azure Policy exemption structure"). The
// Azure Landing Zones definition Deny-UDR-With-Specific-NextHop denies route tables and routes
// whose nextHopType is in excludedDestinations (default Internet and VirtualNetworkGateway); the
// fixture is its published JSON (Azure/Azure-Landing-Zones-Library, from Azure/Enterprise-Scale).
// Conditions, count and parameters: "Azure Policy definition structure policy rule".

const AS_OF = new Date("2026-12-01T06:00:00Z");
const endpoints = flattenEndpoints(endpointSetsFor("AzureCloud"));
const ALZ = fixture("Deny-UDR-With-Specific-NextHop.json");
const ALZ_ID = ALZ.id;

function judge(rows: ArmRow[]): Finding[] {
  return auditInventory(buildInventory(rows), { endpoints, asOf: AS_OF }).findings;
}
const of = (findings: Finding[], name: string) => findings.find((f) => f.subnetName === name)!;

function alzAssigned(properties: Record<string, unknown> = {}, definition: ArmRow = ALZ): ArmRow[] {
  return [
    definition,
    assignment(ALZ_ASSIGNMENT, {
      policyDefinitionId: definition.id,
      scope: MG("corp"),
      ...properties,
    }),
  ];
}

void describe("the landing-zone policy Deny-UDR-With-Specific-NextHop", () => {
  it("its rule, with default parameters, denies a route with next hop Internet and one to the gateway, not one to an appliance", () => {
    const rule = (ALZ.properties as { policyRule: unknown }).policyRule;
    const ctx = {
      parameters: { excludeddestinations: ["Internet", "VirtualNetworkGateway"], effect: "Deny" },
    };
    const route = (hop: string) => ({
      type: "Microsoft.Network/routeTables/routes",
      name: "kms",
      properties: { addressPrefix: "20.118.99.224/32", nextHopType: hop },
    });
    assert.equal(ruleMatches(rule, route("Internet"), ctx), true);
    assert.equal(ruleMatches(rule, route("VirtualNetworkGateway"), ctx), true);
    assert.equal(ruleMatches(rule, route("VirtualAppliance"), ctx), false);
    const table = (hops: string[]) => ({
      type: "Microsoft.Network/routeTables",
      name: "rt",
      properties: {
        routes: hops.map((h, i) => ({
          name: `r${i}`,
          properties: { addressPrefix: "0.0.0.0/0", nextHopType: h },
        })),
      },
    });
    assert.equal(
      ruleMatches(rule, table(["VirtualAppliance", "Internet"]), ctx),
      true,
      "count of routes in the list",
    );
    assert.equal(ruleMatches(rule, table(["VirtualAppliance"]), ctx), false);
  });

  it("a tunnelled subnet's route fix is denied: reason code, assignment ID, the exemption request first and the denied fix marked", () => {
    const f = of(judge([...networkRows(), ...alzAssigned()]), "app-tunnel");
    assert.equal(f.status, "NonCompliant");
    assert.ok(f.reasons.includes("ROUTE_FIX_DENIED_BY_POLICY"));
    assert.equal(f.policyConflicts.length, 1);
    assert.deepEqual(
      [
        f.policyConflicts[0]?.fix,
        f.policyConflicts[0]?.denies,
        f.policyConflicts[0]?.policyAssignmentId,
        f.policyConflicts[0]?.policyDefinitionId,
      ],
      ["routes", true, ALZ_ASSIGNMENT, ALZ_ID],
    );
    const kinds = f.remediation!.fixes.map((x) => x.kind);
    assert.deepEqual(kinds, ["policyExemptionRequest", "routes"]);
    assert.deepEqual(f.remediation!.fixes[1]?.deniedBy, [ALZ_ASSIGNMENT]);
    assert.match(
      f.remediation!.fixes[0]!.azureCli,
      /az policy exemption create .*--policy-assignment '.*deny-udr-nexthop' --exemption-category Mitigated --scope '.*routeTables\/rt-tunnel'/,
    );
    // remediate --apply never sends routes a deny policy refuses.
    assert.equal(desiredByTable([f]).tables.length, 0);
  });

  it("with a hub Azure Firewall, the remediation offers routes to the firewall and its rule (VirtualAppliance passes the policy)", () => {
    const f = of(judge([...networkRows({ hubFirewall: true }), ...alzAssigned()]), "app-tunnel");
    const fixes = f.remediation!.fixes;
    assert.deepEqual(
      fixes.map((x) => x.kind),
      ["routesViaFirewall", "firewallPolicyRule", "policyExemptionRequest", "routes"],
    );
    assert.match(
      fixes[0]!.azureCli,
      /--next-hop-type VirtualAppliance --next-hop-ip-address 10\.0\.1\.4/,
    );
    assert.match(fixes[1]!.summary, /Allow TCP 1688 .* in firewall policy fwp-hub/);
    assert.equal(fixes[0]!.deniedBy, undefined);
  });

  it("when the policy denies VirtualAppliance routes too, no firewall route is offered", () => {
    const f = of(
      judge([
        ...networkRows({ hubFirewall: true }),
        ...alzAssigned({
          parameters: { excludedDestinations: { value: ["Internet", "VirtualAppliance"] } },
        }),
      ]),
      "app-tunnel",
    );
    assert.deepEqual(
      f.remediation!.fixes.map((x) => x.kind),
      ["policyExemptionRequest", "routes"],
    );
  });

  it("a Compliant subnet has nothing to fix and no conflict", () => {
    const f = of(judge([...networkRows(), ...alzAssigned()]), "app-ok");
    assert.deepEqual(f.policyConflicts, []);
  });

  void describe("look-alikes that do not deny the fix", () => {
    const cases: [string, ArmRow[]][] = [
      [
        "excludedDestinations without Internet",
        alzAssigned({ parameters: { excludedDestinations: { value: ["VirtualNetworkGateway"] } } }),
      ],
      ["effect Audit", alzAssigned({ parameters: { effect: { value: "Audit" } } })],
      ["enforcementMode DoNotEnforce", alzAssigned({ enforcementMode: "DoNotEnforce" })],
      [
        "assigned at another management group",
        [ALZ, assignment(ALZ_ASSIGNMENT, { policyDefinitionId: ALZ_ID, scope: MG("sandbox") })],
      ],
      ["the route table in notScopes", alzAssigned({ notScopes: [RG] })],
      [
        "an exemption of the route table from it",
        [
          ...alzAssigned(),
          exemption(`${NET}/routeTables/rt-tunnel`, "kms", {
            policyAssignmentId: ALZ_ASSIGNMENT,
            exemptionCategory: "Mitigated",
          }),
        ],
      ],
      [
        "a look-alike rule on another property (routes' addressPrefix)",
        alzAssigned(
          {},
          {
            ...ALZ,
            id: ALZ_ID.replace("Deny-UDR-With-Specific-NextHop", "Deny-UDR-Prefix"),
            properties: {
              ...(ALZ.properties as object),
              policyRule: {
                if: {
                  allOf: [
                    { field: "type", equals: "Microsoft.Network/routeTables/routes" },
                    {
                      field: "Microsoft.Network/routeTables/routes/addressPrefix",
                      equals: "0.0.0.0/0",
                    },
                  ],
                },
                then: { effect: "[parameters('effect')]" },
              },
            },
          },
        ),
      ],
    ];
    for (const [name, policy] of cases)
      it(name, () => {
        const f = of(judge([...networkRows(), ...policy]), "app-tunnel");
        assert.deepEqual(f.policyConflicts, [], name);
        assert.ok(!f.reasons.includes("ROUTE_FIX_DENIED_BY_POLICY"));
        assert.equal(f.remediation!.fixes[0]?.kind, "routes");
      });
  });

  it("through an initiative, parameters passed from the initiative", () => {
    const set: ArmRow = {
      id: `${MG("contoso")}/providers/Microsoft.Authorization/policySetDefinitions/alz-corp`,
      name: "alz-corp",
      type: "microsoft.authorization/policysetdefinitions",
      properties: {
        parameters: { udrDestinations: { type: "Array", defaultValue: ["Internet"] } },
        policyDefinitions: [
          {
            policyDefinitionId: ALZ_ID,
            policyDefinitionReferenceId: "Deny-UDR-NextHop",
            parameters: { excludedDestinations: { value: "[parameters('udrDestinations')]" } },
          },
        ],
      },
    };
    const f = of(
      judge([
        ...networkRows(),
        ALZ,
        set,
        assignment(ALZ_ASSIGNMENT, { policyDefinitionId: set.id, scope: MG("corp") }),
      ]),
      "app-tunnel",
    );
    assert.equal(f.policyConflicts[0]?.policyDefinitionReferenceId, "Deny-UDR-NextHop");
    assert.match(
      f.remediation!.fixes[0]!.azureCli,
      /--policy-definition-reference-ids 'Deny-UDR-NextHop'/,
    );
  });
});

void describe("deny on NAT gateways and public IPs (built-in Not allowed resource types)", () => {
  const NOT_ALLOWED = fixture("not-allowed-resource-types.json");
  const privateSpoke: ArmRow[] = [
    {
      id: `/subscriptions/${SUB}`,
      name: "corp-prod",
      type: "microsoft.resources/subscriptions",
      subscriptionId: SUB,
      properties: { managementGroupAncestorsChain: [{ name: "corp" }, { name: "contoso" }] },
    },
    {
      id: VNET,
      name: "spoke",
      type: "microsoft.network/virtualnetworks",
      location: "westeurope",
      subscriptionId: SUB,
      resourceGroup: "rg-net",
      properties: {
        addressSpace: { addressPrefixes: ["10.1.0.0/16"] },
        subnets: [
          {
            id: `${VNET}/subnets/private`,
            name: "private",
            properties: { addressPrefix: "10.1.9.0/24", defaultOutboundAccess: false },
          },
        ],
      },
    },
    {
      id: `${RG}/providers/Microsoft.Network/networkInterfaces/nic`,
      name: "nic",
      type: "microsoft.network/networkinterfaces",
      subscriptionId: SUB,
      properties: {
        ipConfigurations: [
          {
            name: "ip",
            properties: { privateIPAddress: "10.1.9.4", subnet: { id: `${VNET}/subnets/private` } },
          },
        ],
      },
    },
  ];
  const denyTypes = (types: string[]): ArmRow[] => [
    NOT_ALLOWED,
    assignment(`${MG("corp")}/providers/Microsoft.Authorization/policyAssignments/no-public`, {
      policyDefinitionId: NOT_ALLOWED.id,
      scope: MG("corp"),
      parameters: { listOfResourceTypesNotAllowed: { value: types } },
    }),
  ];

  it("a private subnet's NAT gateway fix is denied when public IPs are not allowed", () => {
    const f = of(
      judge([...privateSpoke, ...denyTypes(["Microsoft.Network/publicIPAddresses"])]),
      "private",
    );
    assert.equal(f.status, "NonCompliant");
    assert.ok(f.reasons.includes("NAT_GATEWAY_DENIED_BY_POLICY"), f.reasons.join(","));
    assert.equal(f.policyConflicts[0]?.fix, "natGateway");
    assert.deepEqual(
      f.remediation!.fixes.map((x) => x.kind),
      ["policyExemptionRequest", "natGateway"],
    );
  });

  it("not when only other types are listed", () => {
    const f = of(judge([...privateSpoke, ...denyTypes(["Microsoft.Compute/disks"])]), "private");
    assert.deepEqual(f.policyConflicts, []);
  });
});

void describe("the evaluator is three-valued", () => {
  it("a function it does not know makes the rule's outcome unknown, never false", () => {
    const r = {
      type: "Microsoft.Network/routeTables/routes",
      name: "x",
      properties: { nextHopType: "Internet" },
    };
    assert.equal(
      evaluate({ value: "[resourceGroup().name]", equals: "rg" }, r, { parameters: {} }),
      null,
    );
    assert.equal(
      evaluate(
        {
          anyOf: [
            { value: "[resourceGroup().name]", equals: "rg" },
            { field: "type", equals: "Microsoft.Network/routeTables/routes" },
          ],
        },
        r,
        { parameters: {} },
      ),
      true,
    );
  });
});
