/** Which fixes a subnet's outcomes call for (DESIGN.md section 3, rule 7), and the scripts for each. */
import type { Endpoint } from "../../catalog/endpoints.js";
import type { AzureFirewall, Inventory, RouteTable, Subnet } from "../../inventory/types.js";
import { prefixesOfSubnet } from "../../inventory/types.js";
import { keyOf } from "../../inventory/resource-id.js";
import type { PolicyConflict, Fix } from "../../model.js";
import { firewallRuleFix } from "./firewall-rule.js";
import { natGatewayFix } from "./nat-gateway.js";
import { nsgRuleFix } from "./nsg-rule.js";
import { routeFix } from "./routes.js";
import { exemptionRequestFix, routesViaFirewallFix } from "./policy-alternatives.js";
import type { FirewallDecision } from "../path/firewall-rules.js";
import type { OutboundAccess } from "../path/outbound.js";
import type { ReasonCode } from "../../reasons.js";
import type { EndpointOutcome } from "../verdict.js";

/** What deny policies change in a finding's fixes. */
export interface PolicyFixes {
  conflicts: PolicyConflict[];
  routesDenied: boolean;
  natDenied: boolean;
  /** The firewall the endpoint IPs can be routed to instead, when routes to it pass. */
  firewall: { firewall: AzureFirewall; ip: string } | null;
  tableId: string | null;
  group: string;
}

const NO_FIREWALL_FIXES: FixPlan["firewalls"] = [];

const NO_NSG_FIXES: FixPlan["nsgs"] = [];

/** The fixes a situation's outcomes call for. Kept by the scripts' builder: no empty Maps. */
interface FixInput {
  plan: FixPlan;
  subnet: Subnet;
  table: RouteTable | null;
  inventory: Inventory;
  policy: PolicyFixes | null;
}

export function buildFixes(input: FixInput): Fix[] {
  const fixes = buildPlannedFixes(input);
  const { policy, subnet, plan, table } = input;
  if (!policy) return fixes;
  // What passes first: the firewall route (with its rule), then the exemption requests; the
  // denied fixes stay last, marked with the assignments that deny them.
  const alternatives: Fix[] = [];
  if (policy.firewall && plan.routeIps.length > 0) {
    const { firewall, ip } = policy.firewall;
    alternatives.push(
      routesViaFirewallFix(
        {
          routeTableId: table?.id ?? subnet.routeTableId,
          subnetName: subnet.name,
          virtualNetworkName: subnet.virtualNetworkName,
          subscriptionId: subnet.subscriptionId,
          resourceGroup: subnet.resourceGroup,
          location: subnet.location,
          firewallName: firewall.name,
          firewallIp: ip,
          existingRouteNames: (table?.routes ?? []).map((r) => r.name),
          missing: plan.routeIps,
        },
        plan.routeCauses,
      ),
      firewallRuleFix(
        {
          firewall,
          decision: {
            action: null,
            detail: "the rule the routes through the firewall need",
            policyId: firewall.policyId,
            denyAt: null,
            usedPriorities: usedPrioritiesOf(input.inventory, firewall),
          },
          sourcePrefixes: [...prefixesOfSubnet(subnet)],
          subnetName: subnet.name,
          endpoints: plan.routeIps.map((e) => ({ set: e.set, ip: e.ip, port: e.port })),
        },
        plan.routeCauses,
      ),
    );
  }
  const seen = new Set<string>();
  for (const c of policy.conflicts) {
    const key = `${c.fix}|${keyOf(c.policyAssignmentId)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    alternatives.push(
      exemptionRequestFix(
        {
          conflict: c,
          scope: c.fix === "routes" ? (policy.tableId ?? policy.group) : policy.group,
          what:
            c.fix === "routes"
              ? `routes with next hop Internet for ${plan.routeIps.map((e) => `${e.ip}/32`).join(", ")}`
              : "a NAT gateway with a public IP",
          subnetName: subnet.name,
        },
        c.fix === "routes" ? plan.routeCauses : ["PRIVATE_SUBNET_NO_OUTBOUND"],
      ),
    );
  }
  const deniers = (kind: Fix["kind"]) =>
    policy.conflicts
      .filter((c) => (kind === "routes" ? c.fix === "routes" : c.fix === "natGateway"))
      .map((c) => c.policyAssignmentId);
  const marked = fixes.map((f) => {
    const by = f.kind === "routes" || f.kind === "natGateway" ? deniers(f.kind) : [];
    return by.length === 0
      ? f
      : { ...f, summary: `Denied by Azure Policy (${by.join(", ")}): ${f.summary}`, deniedBy: by };
  });
  return [
    ...alternatives,
    ...marked.filter((f) => !f.deniedBy),
    ...marked.filter((f) => f.deniedBy),
  ];
}

function usedPrioritiesOf(inventory: Inventory, firewall: AzureFirewall): number[] {
  if (firewall.policyKey) {
    const out: number[] = [];
    for (const g of inventory.ruleCollectionGroups.values())
      if (g.policyKey === firewall.policyKey && g.priority !== null) out.push(g.priority);
    return out;
  }
  return firewall.classicCollections.flatMap((c) => (c.priority === null ? [] : [c.priority]));
}

function buildPlannedFixes({ plan, subnet, table, inventory }: FixInput): Fix[] {
  const fixes: Fix[] = [];
  if (plan.routeIps.length > 0)
    fixes.push(
      routeFix(
        {
          subnetName: subnet.name,
          virtualNetworkName: subnet.virtualNetworkName,
          subscriptionId: subnet.subscriptionId,
          resourceGroup: subnet.resourceGroup,
          location: subnet.location,
          routeTableId: table?.id ?? subnet.routeTableId,
          existingRoutes: table?.routes ?? null,
          missing: plan.routeIps,
        },
        plan.routeCauses,
      ),
    );
  if (plan.nat)
    fixes.push(
      natGatewayFix(
        {
          subnetName: subnet.name,
          virtualNetworkName: subnet.virtualNetworkName,
          subscriptionId: subnet.subscriptionId,
          resourceGroup: subnet.resourceGroup,
          location: subnet.location,
        },
        ["PRIVATE_SUBNET_NO_OUTBOUND"],
      ),
    );
  for (const f of plan.firewalls)
    fixes.push(
      firewallRuleFix(
        {
          firewall: f.firewall,
          decision: f.decision,
          sourcePrefixes: [...prefixesOfSubnet(subnet)],
          subnetName: subnet.name,
          endpoints: f.endpoints,
        },
        ["FIREWALL_DENIES_PORT"],
      ),
    );
  for (const n of plan.nsgs)
    fixes.push(
      nsgRuleFix(
        {
          nsgId: n.nsgId,
          nsg: inventory.networkSecurityGroups.get(keyOf(n.nsgId)) ?? null,
          denyPriority: n.priority,
          endpoints: n.endpoints,
        },
        ["NSG_DENIES_PORT"],
      ),
    );
  return fixes;
}

export interface FixPlan {
  /** The endpoints the route fix adds a /32 for (set and IP). */
  routeIps: Endpoint[];
  /** Their /32s, as findings report them. */
  missingRoutes: string[];
  routeCauses: ReasonCode[];
  nat: boolean;
  firewalls: { firewall: AzureFirewall; decision: FirewallDecision; endpoints: FixEndpoint[] }[];
  nsgs: { nsgId: string; priority: number | null; endpoints: FixEndpoint[] }[];
}

type FixEndpoint = { set: string; ip: string; port: number };

export function planFixes(outcomes: EndpointOutcome[], outbound: OutboundAccess): FixPlan {
  const plan: FixPlan = {
    routeIps: [],
    missingRoutes: [],
    routeCauses: [],
    nat: false,
    firewalls: NO_FIREWALL_FIXES,
    nsgs: NO_NSG_FIXES,
  };
  const seen = new Set<string>();
  for (const o of outcomes) {
    if (o.reachable === true) continue;
    const definite = o.reachable === false;
    const e = { set: o.endpoint.set, ip: o.endpoint.ip, port: o.endpoint.port };
    let route = false;
    for (const b of o.blockers) {
      switch (b.kind) {
        case "route":
          route = true;
          break;
        case "outbound":
          if (definite) plan.nat = true;
          break;
        case "firewall":
          if (definite) {
            if (plan.firewalls === NO_FIREWALL_FIXES) plan.firewalls = [];
            let entry = plan.firewalls.find((f) => f.firewall === b.firewall);
            if (!entry)
              plan.firewalls.push(
                (entry = { firewall: b.firewall, decision: b.decision, endpoints: [] }),
              );
            entry.endpoints.push(e);
          }
          break;
        case "nsg":
          if (definite) {
            if (plan.nsgs === NO_NSG_FIXES) plan.nsgs = [];
            let entry = plan.nsgs.find((n) => keyOf(n.nsgId) === keyOf(b.nsgId));
            if (!entry)
              plan.nsgs.push((entry = { nsgId: b.nsgId, priority: b.priority, endpoints: [] }));
            entry.endpoints.push(e);
          }
          break;
      }
    }
    // Unknown IPs get routes only where the subnet has outbound access: there a /32 to the Internet
    // decides them; in a private subnet it could break a path that works.
    if (route && (definite || outbound.reachable === true) && !seen.has(o.endpoint.ip)) {
      seen.add(o.endpoint.ip);
      plan.routeIps.push(o.endpoint);
      for (const c of o.causes) if (!plan.routeCauses.includes(c)) plan.routeCauses.push(c);
    }
  }
  // Routes with next hop Internet never work from a private subnet without an outbound method.
  if (plan.routeIps.length > 0 && outbound.reachable === false) plan.nat = true;
  // Kept by the fix scripts' builder: exactly sized arrays.
  plan.routeIps = plan.routeIps.slice();
  plan.routeCauses = plan.routeCauses.slice();
  plan.missingRoutes = plan.routeIps.map((e) => `${e.ip}/32`);
  return plan;
}
