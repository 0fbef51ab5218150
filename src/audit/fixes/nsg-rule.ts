import type { Fix } from "../../model.js";
import type { NetworkSecurityGroup } from "../../inventory/types.js";
import { nameOf, parseResourceId } from "../../inventory/resource-id.js";
import type { ReasonCode } from "../../reasons.js";
import { bicepArray, bicepString, comment, freePriority, ps, sh } from "./quote.js";

export interface NsgFixTarget {
  nsgId: string;
  nsg: NetworkSecurityGroup | null;
  /** Priority of the rule that denies (the new rule goes above it). */
  denyPriority: number | null;
  endpoints: { set: string; ip: string; port: number }[];
}

const API_VERSION = "2024-05-01";

/** An outbound allow rule above the deny (network-security-groups-overview: lower number first). */
export function nsgRuleFix(t: NsgFixTarget, causes: ReasonCode[]): Fix {
  const name = nameOf(t.nsgId);
  const scope = parseResourceId(t.nsgId);
  const rg = scope.resourceGroup ?? "<resource-group>";
  const sub = scope.subscriptionId ?? "<subscription>";
  const ports = [...new Set(t.endpoints.map((e) => String(e.port)))];
  const ips = [...new Set(t.endpoints.map((e) => e.ip))];
  const sets = [...new Set(t.endpoints.map((e) => e.set))];
  const used = (t.nsg?.outbound ?? []).map((r) => r.priority);
  const free = freePriority(used, (t.denyPriority ?? 4097) - 1, 100, 4096);
  // No free number above the deny: the deny must move down first (its priority raised).
  const priority = free ?? 100;
  const first =
    free === null
      ? `the deny rule at ${t.denyPriority} leaves no free priority above it: give it a higher number first; `
      : "";
  const rule = `allow-${sets.join("-")}-outbound`;
  return {
    kind: "nsgRule",
    causes,
    summary: `${first}Allow outbound TCP ${ports.join(",")} to ${ips.join(", ")} in NSG ${name}: rule ${rule} at priority ${priority}${t.denyPriority !== null ? `, above the deny at ${t.denyPriority}` : ""}.`,
    azureCli: [
      `az account set --subscription ${sh(sub)}`,
      `az network nsg rule create --resource-group ${sh(rg)} --nsg-name ${sh(name)} --name ${rule} --priority ${priority} --direction Outbound --access Allow --protocol Tcp --source-address-prefixes VirtualNetwork --source-port-ranges '*' --destination-address-prefixes ${ips.join(" ")} --destination-port-ranges ${ports.join(" ")}`,
    ].join("\n"),
    powershell: [
      `Set-AzContext -Subscription ${ps(sub)} | Out-Null`,
      `Get-AzNetworkSecurityGroup -ResourceGroupName ${ps(rg)} -Name ${ps(name)} |`,
      `  Add-AzNetworkSecurityRuleConfig -Name ${ps(rule)} -Priority ${priority} -Direction Outbound -Access Allow -Protocol Tcp -SourceAddressPrefix VirtualNetwork -SourcePortRange '*' -DestinationAddressPrefix ${ips.map(ps).join(",")} -DestinationPortRange ${ports.map(ps).join(",")} |`,
      "  Set-AzNetworkSecurityGroup | Out-Null",
    ].join("\n"),
    bicep: [
      `// Deploy to resource group ${comment(rg)} in subscription ${comment(sub)}.`,
      `resource nsg 'Microsoft.Network/networkSecurityGroups@${API_VERSION}' existing = {\n  name: ${bicepString(name)}\n}`,
      `resource kmsOutbound 'Microsoft.Network/networkSecurityGroups/securityRules@${API_VERSION}' = {\n  parent: nsg\n  name: ${bicepString(rule)}\n  properties: {\n    priority: ${priority}\n    direction: 'Outbound'\n    access: 'Allow'\n    protocol: 'Tcp'\n    sourceAddressPrefix: 'VirtualNetwork'\n    sourcePortRange: '*'\n    destinationAddressPrefixes: ${bicepArray(ips)}\n    destinationPortRanges: ${bicepArray(ports)}\n  }\n}`,
    ].join("\n"),
  };
}
