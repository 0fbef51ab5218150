import type { NetworkSecurityGroup, NsgRule } from "../../inventory/types.js";
import {
  and,
  destinationMatches,
  portMatches,
  sourceMatches,
  type Flow,
  type MatchContext,
  type Tri,
} from "./match.js";
import { walkRules } from "./rule-walk.js";

export interface NsgDecision {
  action: "Allow" | "Deny" | null;
  detail: string;
  /** The rule that denied the flow (the fix goes above it). */
  denyingRule: { name: string; priority: number } | null;
}

/**
 * One NSG's outbound rules for the flow, by priority, first match wins (custom rules, then
 * Azure's defaults: AllowVnetOutBound 65000, AllowInternetOutBound 65001, DenyAllOutBound 65500).
 */
export function evaluateNsg(nsg: NetworkSecurityGroup, flow: Flow, ctx: MatchContext): NsgDecision {
  if (nsg.malformed.length > 0)
    return { action: null, detail: `NSG ${nsg.name} is malformed in the data`, denyingRule: null };
  const outcome = walkRules(
    nsg.outbound.map((rule) => ({
      action: rule.access,
      label: `rule '${rule.name}' (priority ${rule.priority})`,
      matches: () => ruleMatches(rule, flow, ctx),
    })),
    // The defaults end in DenyAllOutBound, which every flow matches.
    { action: "Deny", label: "no rule" },
  );
  const rule =
    outcome.decidingRule && outcome.action === "Deny"
      ? nsg.outbound.find(
          (r) => `rule '${r.name}' (priority ${r.priority})` === outcome.decidingRule!.label,
        )
      : undefined;
  return {
    action: outcome.action,
    detail:
      outcome.action === null
        ? `NSG ${nsg.name}: ${outcome.undecided} cannot be evaluated from the data`
        : `NSG ${nsg.name}: ${outcome.decidedBy} ${outcome.action === "Allow" ? "allows" : "denies"} TCP ${flow.port}`,
    denyingRule: rule ? { name: rule.name, priority: rule.priority } : null,
  };
}

function ruleMatches(rule: NsgRule, flow: Flow, ctx: MatchContext): Tri {
  const protocol = rule.protocol.trim().toLowerCase();
  if (protocol !== "*" && protocol !== "tcp" && protocol !== "any") return false;
  const port = portMatches(rule.destinationPorts, flow.port);
  if (port === false) return false;
  // A destination application security group holds VM NICs, never an endpoint on the Internet.
  const destination =
    rule.destinationAddresses.length === 0 && rule.destinationApplicationSecurityGroups
      ? false
      : destinationMatches(rule.destinationAddresses, [], flow.ip, ctx, true, flow.azureKms);
  if (destination === false) return false;
  // Source application security groups: which NICs are members is not in the inventory.
  const source = rule.sourceApplicationSecurityGroups
    ? null
    : sourceMatches(rule.sourceAddresses, [], flow.source, ctx, true);
  return and(and(port, destination), source);
}
