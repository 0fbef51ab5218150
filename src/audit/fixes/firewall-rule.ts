import type { Fix } from "../../model.js";
import type { AzureFirewall } from "../../inventory/types.js";
import { nameOf, parseResourceId } from "../../inventory/resource-id.js";
import type { FirewallDecision } from "../path/firewall-rules.js";
import type { ReasonCode } from "../../reasons.js";
import { bicepArray, bicepString, comment, freePriority, ps, sh } from "./quote.js";

export interface FirewallFixTarget {
  firewall: AzureFirewall;
  decision: FirewallDecision;
  /** The subnet's prefixes: the rule's sources. */
  sourcePrefixes: string[];
  subnetName: string;
  /** Endpoints the rule must allow, with their ports. */
  endpoints: { set: string; ip: string; port: number }[];
}

const API_VERSION = "2024-05-01";
const GROUP_NAME = "kms-route-audit";

/**
 * A network rule allowing TCP to the endpoint IPs from the subnet, placed before the deny that
 * decided (firewall/rule-processing: a base policy's groups come first, so a deny there is fixed
 * there). Policy firewalls get a rule collection group; classic firewalls a network rule
 * collection.
 */
export function firewallRuleFix(t: FirewallFixTarget, causes: ReasonCode[]): Fix {
  const ports = [...new Set(t.endpoints.map((e) => String(e.port)))];
  const ips = [...new Set(t.endpoints.map((e) => e.ip))];
  const sets = [...new Set(t.endpoints.map((e) => e.set))];
  const sources = t.sourcePrefixes.length > 0 ? t.sourcePrefixes : ["<subnet-prefix>"];
  const denyPriority = t.decision.denyAt?.priority ?? null;
  const ruleName = `allow-${sets.join("-")}-${t.subnetName}`
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .slice(0, 80);
  const below = denyPriority !== null ? `, before the deny at priority ${denyPriority}` : "";
  if (t.decision.policyId) {
    const policyId = t.decision.policyId;
    const policy = nameOf(policyId);
    const scope = parseResourceId(policyId);
    const rg = scope.resourceGroup ?? "<resource-group>";
    const sub = scope.subscriptionId ?? "<subscription>";
    const free = freePriority(t.decision.usedPriorities, (denyPriority ?? 65001) - 1, 100, 65000);
    const priority = free ?? 100;
    return {
      kind: "firewallPolicyRule",
      causes,
      summary: `${free === null ? `the deny at priority ${denyPriority} leaves no free group priority before it: move it first; ` : ""}Allow TCP ${ports.join(",")} from ${sources.join(", ")} to ${ips.join(", ")} in firewall policy ${policy}: rule collection group ${GROUP_NAME} at priority ${priority}${below}.`,
      azureCli: [
        `az account set --subscription ${sh(sub)}`,
        `az network firewall policy rule-collection-group create --resource-group ${sh(rg)} --policy-name ${sh(policy)} --name ${GROUP_NAME} --priority ${priority}`,
        `az network firewall policy rule-collection-group collection add-filter-collection --resource-group ${sh(rg)} --policy-name ${sh(policy)} --rule-collection-group-name ${GROUP_NAME} --name ${sh(ruleName)} --collection-priority 100 --action Allow --rule-name ${sh(ruleName)} --rule-type NetworkRule --ip-protocols TCP --source-addresses ${sources.map(sh).join(" ")} --destination-addresses ${ips.join(" ")} --destination-ports ${ports.join(" ")}`,
      ].join("\n"),
      powershell: [
        `Set-AzContext -Subscription ${ps(sub)} | Out-Null`,
        `$policy = Get-AzFirewallPolicy -ResourceGroupName ${ps(rg)} -Name ${ps(policy)}`,
        `$rule = New-AzFirewallPolicyNetworkRule -Name ${ps(ruleName)} -Protocol TCP -SourceAddress ${sources.map(ps).join(",")} -DestinationAddress ${ips.map(ps).join(",")} -DestinationPort ${ports.map(ps).join(",")}`,
        `$collection = New-AzFirewallPolicyFilterRuleCollection -Name ${ps(ruleName)} -Priority 100 -ActionType Allow -Rule $rule`,
        `New-AzFirewallPolicyRuleCollectionGroup -Name ${GROUP_NAME} -Priority ${priority} -RuleCollection $collection -FirewallPolicyObject $policy | Out-Null`,
      ].join("\n"),
      bicep: [
        `// Deploy to resource group ${comment(rg)} in subscription ${comment(sub)}.`,
        `resource firewallPolicy 'Microsoft.Network/firewallPolicies@${API_VERSION}' existing = {\n  name: ${bicepString(policy)}\n}`,
        `resource kmsRuleGroup 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@${API_VERSION}' = {\n  parent: firewallPolicy\n  name: '${GROUP_NAME}'\n  properties: {\n    priority: ${priority}\n    ruleCollections: [\n      {\n        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'\n        name: ${bicepString(ruleName)}\n        priority: 100\n        action: { type: 'Allow' }\n        rules: [\n          {\n            ruleType: 'NetworkRule'\n            name: ${bicepString(ruleName)}\n            ipProtocols: [ 'TCP' ]\n            sourceAddresses: ${bicepArray(sources)}\n            destinationAddresses: ${bicepArray(ips)}\n            destinationPorts: ${bicepArray(ports)}\n          }\n        ]\n      }\n    ]\n  }\n}`,
      ].join("\n"),
    };
  }
  const fw = t.firewall;
  const scope = parseResourceId(fw.id);
  const rg = scope.resourceGroup ?? "<resource-group>";
  const sub = scope.subscriptionId ?? "<subscription>";
  const free = freePriority(t.decision.usedPriorities, (denyPriority ?? 65001) - 1, 100, 65000);
  const priority = free ?? 100;
  return {
    kind: "firewallClassicRule",
    causes,
    summary: `${free === null ? `the deny at priority ${denyPriority} leaves no free collection priority before it: move it first; ` : ""}Allow TCP ${ports.join(",")} from ${sources.join(", ")} to ${ips.join(", ")} on firewall ${fw.name}: network rule collection ${ruleName} at priority ${priority}${below}.`,
    azureCli: [
      `az account set --subscription ${sh(sub)}`,
      `az network firewall network-rule create --resource-group ${sh(rg)} --firewall-name ${sh(fw.name)} --collection-name ${sh(ruleName)} --priority ${priority} --action Allow --name ${sh(ruleName)} --protocols TCP --source-addresses ${sources.map(sh).join(" ")} --destination-addresses ${ips.join(" ")} --destination-ports ${ports.join(" ")}`,
    ].join("\n"),
    powershell: [
      `Set-AzContext -Subscription ${ps(sub)} | Out-Null`,
      `$fw = Get-AzFirewall -ResourceGroupName ${ps(rg)} -Name ${ps(fw.name)}`,
      `$rule = New-AzFirewallNetworkRule -Name ${ps(ruleName)} -Protocol TCP -SourceAddress ${sources.map(ps).join(",")} -DestinationAddress ${ips.map(ps).join(",")} -DestinationPort ${ports.map(ps).join(",")}`,
      `$fw.AddNetworkRuleCollection((New-AzFirewallNetworkRuleCollection -Name ${ps(ruleName)} -Priority ${priority} -Rule $rule -ActionType Allow))`,
      "Set-AzFirewall -AzureFirewall $fw | Out-Null",
    ].join("\n"),
    bicep: [
      `// Classic rules live inside the firewall resource: add this collection to networkRuleCollections`,
      `// of ${comment(fw.name)} in the template that owns it (resource group ${comment(rg)}).`,
      `var kmsNetworkRuleCollection = {\n  name: ${bicepString(ruleName)}\n  properties: {\n    priority: ${priority}\n    action: { type: 'Allow' }\n    rules: [\n      {\n        name: ${bicepString(ruleName)}\n        protocols: [ 'TCP' ]\n        sourceAddresses: ${bicepArray(sources)}\n        destinationAddresses: ${bicepArray(ips)}\n        destinationPorts: ${bicepArray(ports)}\n      }\n    ]\n  }\n}`,
    ].join("\n"),
  };
}
