import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AUDITED_TYPES, type ArmRow } from "../src/inventory/arm-row.js";
import { parseEstate } from "../src/sources/files/parse-estate.js";
import { audit } from "./support/estate-builder.js";

const SUB = "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg/providers";
const ids = fc.constantFrom(
  `${SUB}/Microsoft.Network/virtualNetworks/v1`,
  `${SUB}/Microsoft.Network/virtualNetworks/V1`,
  `${SUB}/Microsoft.Network/virtualNetworks/v1/subnets/s1`,
  `${SUB}/Microsoft.Network/routeTables/rt1`,
  `${SUB}/Microsoft.Network/routeTables/RT1/routes/r`,
  `${SUB}/Microsoft.Network/networkInterfaces/n1`,
  `${SUB}/Microsoft.Compute/virtualMachines/m1`,
  `${SUB}/Microsoft.Network/virtualNetworkGateways/g1`,
  "/subscriptions/11111111-2222-4333-8444-555555555555",
  "not-an-arm-id",
  "/",
);
// Values that real exports hold in these places, and many they never do.
const odd = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  ids.map((id) => ({ id })),
  fc.array(
    ids.map((id) => ({ id, properties: { subnet: { id } } })),
    { maxLength: 3 },
  ),
  fc.constantFrom(
    "0.0.0.0/0",
    "20.118.99.224/32",
    "AzureCloud",
    "::/0",
    "10.0.0.0/33",
    "Internet",
    "VirtualAppliance",
    "None",
    true,
    "true",
  ),
);
const propertyBag = fc.dictionary(
  fc.constantFrom(
    "routes",
    "subnets",
    "routeTable",
    "addressPrefix",
    "nextHopType",
    "disableBgpRoutePropagation",
    "virtualNetworkPeerings",
    "useRemoteGateways",
    "remoteVirtualNetwork",
    "ipConfigurations",
    "virtualMachine",
    "networkProfile",
    "storageProfile",
    "osProfile",
    "orchestrationMode",
    "virtualMachineProfile",
  ),
  odd,
  { maxKeys: 6 },
);
const row: fc.Arbitrary<ArmRow> = fc.record(
  {
    id: ids,
    type: fc.constantFrom(...Object.values(AUDITED_TYPES), "Microsoft.Storage/storageAccounts"),
    name: fc.oneof(fc.string(), fc.constant(undefined)),
    tags: fc.oneof(
      fc.constant(undefined),
      fc.dictionary(fc.string(), fc.anything({ maxDepth: 1 })),
    ),
    sku: fc.oneof(fc.constant(undefined), fc.anything({ maxDepth: 2 })),
    properties: fc.oneof(propertyBag, fc.anything({ maxDepth: 2 })),
  },
  { requiredKeys: ["id", "type"] },
);

describe("odd input never crashes the engine (property-based)", () => {
  it("any mix of odd ARM rows gives one finding per subnet, each VM subnet judged on every KMS IP", () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 25 }), (rows) => {
        const findings = audit(rows);
        for (const f of findings) {
          // Platform subnets judge no endpoint (schema 2); RHUI joins only with RHEL PAYG VMs.
          if (f.status === "NotApplicable") assert.equal(f.endpoints.length, 0);
          else
            assert.deepEqual(
              f.endpoints.filter((e) => e.set === "kms").map((e) => e.ip),
              ["20.118.99.224", "40.83.235.53", "23.102.135.246"],
            );
          assert.ok(
            ["NonCompliant", "Unverified", "Exempt", "Compliant", "NotApplicable"].includes(
              f.status,
            ),
          );
          // Never called compliant when an endpoint IP was not decided.
          if (f.status === "Compliant") assert.ok(f.endpoints.every((e) => e.reachable === true));
        }
        assert.equal(new Set(findings.map((f) => f.subnetId.toLowerCase())).size, findings.length);
      }),
      { numRuns: 1500, seed: 1688 },
    );
  });

  it("any text is either parsed or refused with one line naming the file", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.array(fc.json()).map((a) => a.join("\n")),
        ),
        (text) => {
          try {
            parseEstate("estate.json", text);
          } catch (error) {
            assert.equal((error as Error).name, "InputError", String(error));
            assert.match((error as Error).message, /^estate\.json: /);
            assert.doesNotMatch((error as Error).message, /\n/);
          }
        },
      ),
      { numRuns: 2000, seed: 1688 },
    );
  });
});
