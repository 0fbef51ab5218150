import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { effectOf, ruleMatches, type Candidate } from "../src/policy/policy-rule.js";

// What Azure does: "Azure Policy definitions manual effect" (learn.microsoft.com/azure/governance/
// policy/concepts/effect-manual): details.defaultState Unknown until attested; "Azure Policy
// definition structure basics": mode All evaluates child resource types such as subnets. The
// guard's rule: "Azure Policy definition structure policy rule" (count, in, length()). Both files
// are compiled into policy definitions by infra/policy/*.bicep (npm run check:infra). No npm or
// NuGet package ships the policy definition JSON schema, so they are checked here instead.

const root = new URL("../../", import.meta.url);
const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`infra/policy/${name}`, root), "utf8")) as {
    mode: string;
    parameters: Record<string, { defaultValue?: unknown; allowedValues?: unknown[] }>;
    policyRule: { if: unknown; then: { effect: string; details?: { defaultState?: string } } };
  };
const params = (d: ReturnType<typeof load>) =>
  Object.fromEntries(
    Object.entries(d.parameters).map(([k, v]) => [k.toLowerCase(), v.defaultValue]),
  );

void describe("the Manual definition the scanner attests", () => {
  const d = load("kms-activation-attested.json");
  const ctx = { parameters: params(d) };
  const subnet = (name: string): Candidate => ({
    type: "Microsoft.Network/virtualNetworks/subnets",
    name,
    properties: {},
  });
  it("Manual effect, default state Unknown, mode All", () => {
    assert.equal(d.mode, "All");
    assert.equal(effectOf(d.policyRule, ctx), "manual");
    assert.equal(d.policyRule.then.details?.defaultState, "Unknown");
    assert.deepEqual(d.parameters.effect?.allowedValues, ["Manual", "Disabled"]);
  });
  it("applies to subnets that can host VMs, not to platform subnets or other types", () => {
    assert.equal(ruleMatches(d.policyRule, subnet("app"), ctx), true);
    for (const p of [
      "GatewaySubnet",
      "AzureFirewallSubnet",
      "AzureFirewallManagementSubnet",
      "AzureBastionSubnet",
      "RouteServerSubnet",
    ])
      assert.equal(ruleMatches(d.policyRule, subnet(p), ctx), false, p);
    assert.equal(
      ruleMatches(
        d.policyRule,
        { type: "Microsoft.Network/virtualNetworks", name: "v", properties: {} },
        ctx,
      ),
      false,
    );
  });
});

void describe("the guard definition (pre-deployment half)", () => {
  const d = load("kms-route-guard.json");
  const table = (routes: [string, string][]): Candidate => ({
    type: "Microsoft.Network/routeTables",
    name: "rt",
    properties: {
      routes: routes.map(([p, h], i) => ({
        name: `r${i}`,
        properties: { addressPrefix: p, nextHopType: h },
      })),
    },
  });
  const kms = (hop = "Internet"): [string, string][] =>
    ["20.118.99.224/32", "40.83.235.53/32", "23.102.135.246/32"].map((p) => [p, hop]);
  const ctx = (effect = "Audit") => ({ parameters: { ...params(d), effect } });
  it("Audit by default, Deny as a parameter", () => {
    assert.equal(effectOf(d.policyRule, ctx()), "audit");
    assert.equal(effectOf(d.policyRule, ctx("Deny")), "deny");
  });
  it("flags 0.0.0.0/0 to an appliance or gateway without every KMS /32 to the Internet", () => {
    assert.equal(
      ruleMatches(d.policyRule, table([["0.0.0.0/0", "VirtualAppliance"]]), ctx()),
      true,
    );
    assert.equal(
      ruleMatches(
        d.policyRule,
        table([["0.0.0.0/0", "VirtualNetworkGateway"], ...kms().slice(0, 2)]),
        ctx(),
      ),
      true,
      "a missing KMS IP",
    );
    assert.equal(
      ruleMatches(
        d.policyRule,
        table([["0.0.0.0/1", "VirtualAppliance"], ...kms("VirtualAppliance")]),
        ctx(),
      ),
      true,
      "/32s not to the Internet",
    );
  });
  it("passes a table with the /32s, one without a tunnel, and the scanner's own route fix", () => {
    assert.equal(
      ruleMatches(d.policyRule, table([["0.0.0.0/0", "VirtualAppliance"], ...kms()]), ctx()),
      false,
    );
    assert.equal(
      ruleMatches(d.policyRule, table([["10.0.0.0/8", "VirtualAppliance"]]), ctx()),
      false,
    );
    assert.equal(
      ruleMatches(
        d.policyRule,
        {
          type: "Microsoft.Network/routeTables/routes",
          name: "kms",
          properties: { addressPrefix: "20.118.99.224/32", nextHopType: "Internet" },
        },
        ctx("Deny"),
      ),
      false,
    );
  });
});
