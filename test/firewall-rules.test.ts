import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDeclarationTag } from "../src/catalog/declarations.js";
import { evaluateFirewall } from "../src/audit/path/firewall-rules.js";
import type { Flow, MatchContext } from "../src/audit/path/match.js";
import { evaluateNsg } from "../src/audit/path/nsg-rules.js";
import { ipv4ToNumber, rangeOfCidr } from "../src/net/ipv4.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { buildInventory } from "../src/inventory/inventory.js";

/**
 * The one rule matcher, for Azure Firewall rules (firewall/rule-processing, policy-rule-sets,
 * fqdn-filtering-network-rules, ip-groups, service-tags) and NSG rules
 * (network-security-groups-overview), on the shapes of the REST examples AzureFirewallPut.json,
 * FirewallPolicyRuleCollectionGroupPut.json and NetworkSecurityGroupCreateWithRule.json.
 */
const SUB =
  "/subscriptions/6f1c0a9e-2b3d-4c5e-8f70-9a1b2c3d4e5f/resourceGroups/rg-hub/providers/Microsoft.Network";
const FW = `${SUB}/azureFirewalls/fw`;
const POLICY = `${SUB}/firewallPolicies/child`;
const BASE = `${SUB}/firewallPolicies/base`;

const kmsFlow = (source = "10.1.0.0/24"): Flow => {
  const [a, l] = source.split("/");
  const range = rangeOfCidr(ipv4ToNumber(a!) & ((0xffffffff << (32 - Number(l))) >>> 0), Number(l));
  return {
    source: () => [range],
    ip: ipv4ToNumber("20.118.99.224"),
    port: 1688,
    host: "azkms.core.windows.net",
    azureKms: true,
  };
};
const rhuiFlow: Flow = {
  source: () => [rangeOfCidr(ipv4ToNumber("10.1.0.0"), 24)],
  ip: ipv4ToNumber("52.136.197.163"),
  port: 443,
  host: "rhui4-1.microsoft.com",
  azureKms: false,
};

function ctx(rows: ArmRow[], extra: Partial<MatchContext> = {}): MatchContext {
  return { ipGroups: buildInventory(rows).ipGroups, virtualNetworkTagHoldsIp: false, ...extra };
}

function classic(collections: object[], extra: object = {}): ArmRow {
  return {
    id: FW,
    type: "microsoft.network/azurefirewalls",
    name: "fw",
    properties: {
      sku: { name: "AZFW_VNet", tier: "Standard" },
      ipConfigurations: [
        {
          name: "c",
          properties: {
            privateIPAddress: "10.0.1.4",
            subnet: { id: `${SUB}/virtualNetworks/hub/subnets/AzureFirewallSubnet` },
          },
        },
      ],
      networkRuleCollections: collections,
      ...extra,
    },
  };
}

function networkCollection(name: string, priority: number, action: string, rules: object[]) {
  return { name, properties: { priority, action: { type: action }, rules } };
}

function decide(rows: ArmRow[], flow: Flow = kmsFlow(), extra: Partial<MatchContext> = {}) {
  const inventory = buildInventory(rows);
  return evaluateFirewall(
    inventory.firewalls.get(FW.toLowerCase())!,
    inventory,
    flow,
    ctx(rows, extra),
  );
}

describe("Azure Firewall rules", () => {
  it("no matching rule is a deny (default deny; KMS is not in the infrastructure collection)", () => {
    const d = decide([classic([])]);
    assert.equal(d.action, "Deny");
    assert.equal(d.denyAt, null);
  });

  it("classic network collections by priority: a Deny at 100 beats an Allow at 200", () => {
    const rule = {
      name: "kms",
      protocols: ["TCP"],
      sourceAddresses: ["*"],
      destinationAddresses: ["20.118.99.224"],
      destinationPorts: ["1688"],
    };
    const d = decide([
      classic([
        networkCollection("allow", 200, "Allow", [rule]),
        networkCollection("deny", 100, "Deny", [rule]),
      ]),
    ]);
    assert.equal(d.action, "Deny");
    assert.deepEqual(d.denyAt, { policyId: null, priority: 100 });
  });

  it("ports and ranges, protocols Any and UDP, CIDRs and address ranges", () => {
    const allow = (r: object) =>
      decide([classic([networkCollection("c", 100, "Allow", [r])])]).action;
    const base = {
      name: "r",
      protocols: ["TCP"],
      sourceAddresses: ["10.1.0.0/16"],
      destinationAddresses: ["20.118.0.0/16"],
      destinationPorts: ["1688"],
    };
    assert.equal(allow(base), "Allow");
    assert.equal(allow({ ...base, destinationPorts: ["1000-2000"] }), "Allow");
    assert.equal(allow({ ...base, destinationPorts: ["443", "1689-1700"] }), "Deny");
    assert.equal(allow({ ...base, protocols: ["Any"] }), "Allow");
    assert.equal(allow({ ...base, protocols: ["UDP"] }), "Deny");
    assert.equal(
      allow({ ...base, destinationAddresses: ["20.118.99.220-20.118.99.230"] }),
      "Allow",
    );
    assert.equal(allow({ ...base, sourceAddresses: ["10.2.0.0/16"] }), "Deny");
    // The rule covers half the subnet: some VMs' traffic matches, some not.
    assert.equal(allow({ ...base, sourceAddresses: ["10.1.0.0/25"] }), null);
  });

  it("service tags as destinations: resolved with the service-tag file, unknown without", () => {
    const rows = [
      classic([
        networkCollection("c", 100, "Allow", [
          {
            name: "r",
            protocols: ["TCP"],
            sourceAddresses: ["*"],
            destinationAddresses: ["AzureCloud"],
            destinationPorts: ["1688"],
          },
        ]),
      ]),
    ];
    assert.equal(decide(rows).action, null);
    const tags = new Map([["azurecloud", [{ network: ipv4ToNumber("20.0.0.0"), length: 8 }]]]);
    assert.equal(decide(rows, kmsFlow(), { serviceTags: tags }).action, "Allow");
  });

  it("an unevaluable rule before a deciding one leaves the flow unknown, never allowed", () => {
    const unknownGroup = {
      name: "u",
      protocols: ["TCP"],
      sourceAddresses: ["*"],
      destinationIpGroups: [`${SUB}/ipGroups/missing`],
      destinationPorts: ["1688"],
    };
    const allowAll = {
      name: "a",
      protocols: ["TCP"],
      sourceAddresses: ["*"],
      destinationAddresses: ["*"],
      destinationPorts: ["1688"],
    };
    // Deny (if the group holds the IP) at 100, allow at 200: unknown.
    assert.equal(
      decide([
        classic([
          networkCollection("d", 100, "Deny", [unknownGroup]),
          networkCollection("a", 200, "Allow", [allowAll]),
        ]),
      ]).action,
      null,
    );
    // Allow (if it holds it) at 100, allow at 200 too: allowed either way.
    assert.equal(
      decide([
        classic([
          networkCollection("d", 100, "Allow", [unknownGroup]),
          networkCollection("a", 200, "Allow", [allowAll]),
        ]),
      ]).action,
      "Allow",
    );
  });

  it("FQDNs in network rules need DNS proxy (classic Network.DNS.EnableProxy)", () => {
    const rule = {
      name: "f",
      protocols: ["TCP"],
      sourceAddresses: ["*"],
      destinationFqdns: ["azkms.core.windows.net"],
      destinationPorts: ["1688"],
    };
    const rows = (proxy: string | null) => [
      classic(
        [networkCollection("c", 100, "Allow", [rule])],
        proxy === null ? {} : { additionalProperties: { "Network.DNS.EnableProxy": proxy } },
      ),
    ];
    assert.equal(decide(rows("true")).action, "Allow");
    assert.equal(decide(rows("false")).action, "Deny");
    assert.equal(decide(rows(null)).action, null, "DNS proxy not said: unknown");
  });

  it("a policy's base policy groups come first, whatever the priorities (rule-processing)", () => {
    const rcg = (policy: string, name: string, priority: number, action: string) => ({
      id: `${policy}/ruleCollectionGroups/${name}`,
      type: "microsoft.network/firewallpolicies/rulecollectiongroups",
      name,
      properties: {
        priority,
        ruleCollections: [
          {
            ruleCollectionType: "FirewallPolicyFilterRuleCollection",
            name: `${name}-c`,
            priority: 100,
            action: { type: action },
            rules: [
              {
                ruleType: "NetworkRule",
                name: "kms",
                ipProtocols: ["TCP"],
                sourceAddresses: ["*"],
                destinationAddresses: ["20.118.99.224"],
                destinationPorts: ["1688"],
              },
            ],
          },
        ],
      },
    });
    const rows: ArmRow[] = [
      {
        ...classic([]),
        properties: {
          ...(classic([]).properties as object),
          networkRuleCollections: undefined,
          firewallPolicy: { id: POLICY },
        },
      },
      {
        id: POLICY,
        type: "microsoft.network/firewallpolicies",
        name: "child",
        properties: {
          basePolicy: { id: BASE },
          ruleCollectionGroups: [{ id: `${POLICY}/ruleCollectionGroups/allow` }],
        },
      },
      {
        id: BASE,
        type: "microsoft.network/firewallpolicies",
        name: "base",
        properties: { ruleCollectionGroups: [{ id: `${BASE}/ruleCollectionGroups/deny` }] },
      },
      rcg(POLICY, "allow", 100, "Allow"),
      rcg(BASE, "deny", 60000, "Deny"),
    ];
    const d = decide(rows);
    assert.equal(d.action, "Deny");
    assert.equal(d.policyId, BASE, "the fix goes into the base policy");
    // A listed group that is not in the inventory: unknown.
    assert.equal(decide(rows.slice(0, 4)).action, null);
  });

  it("application rules decide HTTPS (RHUI) by target FQDN, wildcards included; never TCP 1688", () => {
    const app = (fqdns: string[]) =>
      classic([], {
        applicationRuleCollections: [
          {
            name: "web",
            properties: {
              priority: 300,
              action: { type: "Allow" },
              rules: [
                {
                  name: "rhui",
                  protocols: [{ protocolType: "Https", port: 443 }],
                  sourceAddresses: ["*"],
                  targetFqdns: fqdns,
                },
              ],
            },
          },
        ],
      });
    assert.equal(decide([app(["*.microsoft.com"])], rhuiFlow).action, "Allow");
    assert.equal(decide([app(["rhui4-1.microsoft.com"])], rhuiFlow).action, "Allow");
    assert.equal(decide([app(["*.redhat.com"])], rhuiFlow).action, "Deny");
    assert.equal(decide([app(["*"])]).action, "Deny", "application rules never match TCP 1688");
  });
});

describe("NSG rules", () => {
  const nsg = (rules: object[]): ArmRow => ({
    id: `${SUB}/networkSecurityGroups/nsg`,
    type: "microsoft.network/networksecuritygroups",
    name: "nsg",
    properties: {
      securityRules: rules.map((r, i) => ({
        name: `r${i}`,
        properties: {
          direction: "Outbound",
          protocol: "*",
          sourcePortRange: "*",
          sourceAddressPrefix: "*",
          destinationPortRange: "*",
          ...r,
        },
      })),
    },
  });
  const evaluate = (row: ArmRow, extra: Partial<MatchContext> = {}) =>
    evaluateNsg(
      buildInventory([row]).networkSecurityGroups.values().next().value!,
      kmsFlow(),
      ctx([], extra),
    );

  it("Azure's default rules allow outbound Internet (AllowInternetOutBound 65001)", () => {
    assert.equal(evaluate(nsg([])).action, "Allow");
  });

  it("by priority, first match: a deny below an allow loses, above it wins", () => {
    const deny = {
      priority: 200,
      access: "Deny",
      destinationAddressPrefix: "Internet",
      destinationPortRange: "1688",
    };
    const allow = {
      priority: 100,
      access: "Allow",
      destinationAddressPrefix: "20.118.99.224",
      destinationPortRange: "1688",
    };
    assert.equal(evaluate(nsg([deny, allow])).action, "Allow");
    const d = evaluate(nsg([{ ...deny, priority: 90 }, allow]));
    assert.equal(d.action, "Deny");
    assert.deepEqual(d.denyingRule, { name: "r0", priority: 90 });
  });

  it("VirtualNetwork holds a default route when one exists (service-tags-overview: unknown), AzurePlatformLKM is KMS", () => {
    const deny = nsg([
      { priority: 100, access: "Deny", destinationAddressPrefix: "VirtualNetwork" },
    ]);
    assert.equal(evaluate(deny).action, "Allow");
    assert.equal(evaluate(deny, { virtualNetworkTagHoldsIp: null }).action, null);
    assert.equal(
      evaluate(
        nsg([{ priority: 100, access: "Deny", destinationAddressPrefix: "AzurePlatformLKM" }]),
      ).action,
      "Deny",
    );
  });

  it("source application security groups are unknown; destination ones never hold an Internet IP", () => {
    const asg = [{ id: `${SUB}/applicationSecurityGroups/app` }];
    assert.equal(
      evaluate(
        nsg([
          {
            priority: 100,
            access: "Deny",
            sourceAddressPrefix: undefined,
            sourceApplicationSecurityGroups: asg,
            destinationAddressPrefix: "*",
          },
        ]),
      ).action,
      null,
    );
    assert.equal(
      evaluate(
        nsg([
          {
            priority: 100,
            access: "Deny",
            destinationAddressPrefix: undefined,
            destinationApplicationSecurityGroups: asg,
          },
        ]),
      ).action,
      "Allow",
    );
  });
});

describe("declared appliance behaviour (tag kms-route-audit-egress)", () => {
  it("reads sets, snat and egress", () => {
    const d = parseDeclarationTag("kms,rhui; snat=public", "tag");
    assert.ok(typeof d !== "string");
    assert.deepEqual([...(d.allows as Set<string>)].sort(), ["kms", "rhui"]);
    assert.equal(d.egress, "internet");
    const e = parseDeclarationTag("allow=all; egress=onprem", "tag");
    assert.ok(typeof e !== "string" && e.allows === "all" && e.egress === "onPremises");
    const f = parseDeclarationTag("deny=kms", "tag");
    assert.ok(typeof f !== "string" && f.denies.has("kms") && f.egress === "follow");
  });

  it("refuses what it cannot read, saying what is wrong", () => {
    assert.match(parseDeclarationTag("", "tag") as string, /empty/);
    assert.match(parseDeclarationTag("kms; snat=maybe", "tag") as string, /snat is public or none/);
    assert.match(
      parseDeclarationTag("kms; color=blue", "tag") as string,
      /not allow=, deny=, snat= or egress=/,
    );
    assert.match(parseDeclarationTag("allow=KMS!", "tag") as string, /endpoint sets/);
  });
});
