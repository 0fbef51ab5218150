import type {
  AzureFirewall,
  FirewallRule,
  FirewallRuleCollection,
  Inventory,
  RuleCollectionGroup,
} from "../../inventory/types.js";
import {
  and,
  destinationMatches,
  fqdnMatches,
  or,
  portMatches,
  sourceMatches,
  type Flow,
  type MatchContext,
  type Tri,
} from "./match.js";
import { walkRules, type OrderedRule } from "./rule-walk.js";

/** What an Azure Firewall does with one flow, and why. */
export interface FirewallDecision {
  action: "Allow" | "Deny" | null;
  /** The deciding rule in words, or why the rules could not be evaluated. */
  detail: string;
  /** The rules live in a firewall policy (the fix adds a rule collection group there). */
  policyId: string | null;
  /** Where the deny that decided sits (null for the default deny): an allow must come before it. */
  denyAt: DenyPosition | null;
  /** Priorities already used where the fix goes (rule collection groups, or classic collections). */
  usedPriorities: number[];
}

export interface DenyPosition {
  /** The policy holding the deny (a base policy's deny must be overridden there), or null (classic). */
  policyId: string | null;
  /** Rule collection group priority (policy) or rule collection priority (classic). */
  priority: number;
}

interface PlacedRule extends OrderedRule {
  position: DenyPosition;
}

interface Collection {
  collection: FirewallRuleCollection;
  where: string;
  dnsProxy: boolean | null;
  position: DenyPosition;
}

/**
 * Azure Firewall's order (firewall/rule-processing): with a policy, all network rule collections
 * first, then all application rule collections; in each pass the base (parent) policy's rule
 * collection groups come before the child's whatever their priorities, then groups by priority,
 * then collections by priority, rules top-down. Classic rules: network collections by priority,
 * then application collections. A match ends processing; nothing matching is a deny (KMS is not in
 * the infrastructure rule collection).
 */
export function evaluateFirewall(
  firewall: AzureFirewall,
  inventory: Inventory,
  flow: Flow,
  ctx: MatchContext,
): FirewallDecision {
  if (firewall.malformed.length > 0 || inventory.conflicting.has(firewallKeyOf(firewall)))
    return unknown(`firewall ${firewall.name} is malformed or conflicting in the data`, null);
  let collections: Collection[];
  if (firewall.policyKey) {
    const ordered = policyCollections(firewall.policyKey, inventory);
    if (typeof ordered === "string") return unknown(ordered, firewall.policyId);
    collections = ordered;
  } else {
    collections = firewall.classicCollections.map((collection) => ({
      collection,
      where: "classic rules",
      dnsProxy: firewall.dnsProxy,
      position: { policyId: null, priority: collection.priority ?? 0 },
    }));
    if (collections.some((c) => c.collection.priority === null || c.collection.action === null))
      return unknown(
        `a classic rule collection of ${firewall.name} has no priority or action`,
        null,
      );
    collections.sort((a, b) => a.collection.priority! - b.collection.priority!);
  }
  const http = flow.port === 443 ? "https" : flow.port === 80 ? "http" : null;
  const rules: PlacedRule[] = [];
  for (const pass of ["network", "application"] as const) {
    if (pass === "application" && http === null) continue;
    for (const { collection, where, dnsProxy, position } of collections) {
      if (collection.kind !== pass) continue;
      for (const rule of collection.rules)
        rules.push({
          position,
          action: collection.action!,
          label: `${rule.kind} rule '${rule.name}' (collection '${collection.name}', priority ${collection.priority}, ${where})`,
          matches: () =>
            rule.kind === "network"
              ? networkRuleMatches(rule, flow, ctx, dnsProxy)
              : applicationRuleMatches(rule, flow, ctx, http!),
        });
    }
  }
  const outcome = walkRules(rules, {
    action: "Deny",
    label: `no rule allows TCP ${flow.port} (default deny)`,
  });
  const detail =
    outcome.action === null
      ? `${outcome.undecided} cannot be evaluated from the data`
      : `${outcome.decidedBy} ${outcome.action === "Allow" ? "allows" : "denies"} TCP ${flow.port}`;
  const denyAt = outcome.action === "Deny" ? (outcome.decidingRule?.position ?? null) : null;
  const fixPolicy = denyAt?.policyId ?? firewall.policyId;
  return {
    action: outcome.action,
    detail: outcome.decidingRule === null && outcome.action === "Deny" ? outcome.decidedBy : detail,
    policyId: fixPolicy,
    denyAt,
    usedPriorities: collections
      .filter((c) => c.position.policyId === fixPolicy)
      .map((c) => c.position.priority),
  };
}

function firewallKeyOf(firewall: AzureFirewall): string {
  return firewall.id.trim().toLowerCase();
}

function unknown(detail: string, policyId: string | null): FirewallDecision {
  return { action: null, detail, policyId, denyAt: null, usedPriorities: [] };
}

/** The policy's rule collections in processing order (base first), or why they are unknown. */
function policyCollections(policyKey: string, inventory: Inventory): Collection[] | string {
  const chain: string[] = [];
  for (let key: string | null = policyKey; key !== null;) {
    if (chain.includes(key)) return `firewall policy ${key} inherits from itself`;
    chain.unshift(key);
    const policy = inventory.firewallPolicies.get(key);
    if (!policy) return `firewall policy ${key} is not in the inventory`;
    if (policy.malformed.length > 0 || inventory.conflicting.has(key))
      return `firewall policy ${policy.name} is malformed or conflicting in the data`;
    key = policy.basePolicyKey;
  }
  // DNS proxy is a setting of the policy the firewall uses (the child).
  const dnsProxy = inventory.firewallPolicies.get(policyKey)!.dnsProxy;
  const byPolicy = groupsByPolicy(inventory);
  const out: Collection[] = [];
  for (const key of chain) {
    const policy = inventory.firewallPolicies.get(key)!;
    const groups = new Map(byPolicy.get(key)?.map((g) => [g.id.toLowerCase(), g]) ?? []);
    for (const listed of policy.ruleCollectionGroupKeys) {
      if (groups.has(listed)) continue;
      const group = inventory.ruleCollectionGroups.get(listed);
      if (!group)
        return `rule collection group ${listed} of policy ${policy.name} is not in the inventory`;
      groups.set(listed, group);
    }
    const sorted = [...groups.values()];
    for (const g of sorted) {
      if (
        g.priority === null ||
        g.malformed.length > 0 ||
        inventory.conflicting.has(g.id.toLowerCase())
      )
        return `rule collection group ${g.name} of policy ${policy.name} is malformed (priority or rules)`;
      if (g.collections.some((c) => c.priority === null || c.action === null))
        return `a rule collection of group ${g.name} (policy ${policy.name}) has no priority or action`;
    }
    sorted.sort((a, b) => a.priority! - b.priority!);
    for (const g of sorted) {
      const collections = [...g.collections].sort((a, b) => a.priority! - b.priority!);
      for (const collection of collections)
        out.push({
          collection,
          where: `group '${g.name}' of policy '${policy.name}'${key !== policyKey ? " (base policy)" : ""}`,
          dnsProxy,
          position: { policyId: policy.id, priority: g.priority! },
        });
    }
  }
  return out;
}

const groupsCache = new WeakMap<
  Inventory,
  { groups: number; byPolicy: Map<string, RuleCollectionGroup[]> }
>();

function groupsByPolicy(inventory: Inventory): Map<string, RuleCollectionGroup[]> {
  const cached = groupsCache.get(inventory);
  // Facts added after the build can bring rule collection groups: index again when they do.
  let byPolicy =
    cached?.groups === inventory.ruleCollectionGroups.size ? cached.byPolicy : undefined;
  if (!byPolicy) {
    byPolicy = new Map();
    for (const g of inventory.ruleCollectionGroups.values()) {
      const list = byPolicy.get(g.policyKey);
      if (list) list.push(g);
      else byPolicy.set(g.policyKey, [g]);
    }
    groupsCache.set(inventory, { groups: inventory.ruleCollectionGroups.size, byPolicy });
  }
  return byPolicy;
}

function networkRuleMatches(
  rule: FirewallRule,
  flow: Flow,
  ctx: MatchContext,
  dnsProxy: boolean | null,
): Tri {
  if (rule.malformed.length > 0) return null;
  const protocol = rule.protocols.some((p) => /^(tcp|any)$/i.test(p.protocol.trim()));
  if (!protocol) return false;
  const port = portMatches(rule.destinationPorts, flow.port);
  if (port === false) return false;
  let destination = destinationMatches(
    rule.destinationAddresses,
    rule.destinationIpGroups,
    flow.ip,
    ctx,
    false,
    flow.azureKms,
  );
  if (rule.destinationFqdns.length > 0 && fqdnMatches(rule.destinationFqdns, flow.host, false)) {
    // FQDNs in network rules work only with DNS proxy on (firewall/fqdn-filtering-network-rules).
    destination = or(destination, dnsProxy);
  }
  if (destination === false) return false;
  const source = sourceMatches(rule.sourceAddresses, rule.sourceIpGroups, flow.source, ctx, false);
  return and(and(port, destination), source);
}

function applicationRuleMatches(
  rule: FirewallRule,
  flow: Flow,
  ctx: MatchContext,
  http: "http" | "https",
): Tri {
  if (rule.malformed.length > 0) return null;
  const protocol = rule.protocols.some(
    (p) => p.protocol.toLowerCase() === http && (p.port === null || p.port === flow.port),
  );
  if (!protocol) return false;
  let destination: Tri = fqdnMatches(rule.destinationFqdns, flow.host, true);
  // FQDN tags, web categories and URLs name sets the audit cannot see.
  if (!destination && rule.unresolvable.length > 0) destination = null;
  if (destination === false) return false;
  const source = sourceMatches(rule.sourceAddresses, rule.sourceIpGroups, flow.source, ctx, false);
  return and(destination, source);
}
