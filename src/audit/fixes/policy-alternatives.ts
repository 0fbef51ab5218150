import type { Fix, PolicyConflict } from "../../model.js";
import { nameOf, parseResourceId } from "../../inventory/resource-id.js";
import type { ReasonCode } from "../../reasons.js";
import { bicepString, comment, ps, resourceName, sh } from "./quote.js";
import { ROUTE_API_VERSION, freeRouteName } from "./routes.js";

/**
 * What passes when a deny policy would reject a fix (README "Azure Policy"): routes for the
 * endpoint IPs with next hop the Azure Firewall (with the firewall rule that allows them), when a
 * firewall with direct egress is reachable and the deny does not cover VirtualAppliance routes; and
 * always the text of a policy exemption request for the denied assignment at the fix's scope.
 */

export interface FirewallRouteTarget {
  /** The subnet's route table, or null: a new table is created. */
  routeTableId: string | null;
  subnetName: string;
  virtualNetworkName: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string | null;
  firewallName: string;
  firewallIp: string;
  existingRouteNames: string[];
  missing: { set: string; ip: string }[];
}

export function routesViaFirewallFix(t: FirewallRouteTarget, causes: ReasonCode[]): Fix {
  const taken = new Set(t.existingRouteNames.map((n) => n.toLowerCase()));
  const routes = t.missing.map(({ set, ip }) => {
    const name = freeRouteName(taken, `${set}-fw`, ip);
    taken.add(name.toLowerCase());
    return { name, prefix: `${ip}/32` };
  });
  const creating = t.routeTableId === null;
  const tableName = creating
    ? resourceName("rt", t.virtualNetworkName, t.subnetName, "kms")
    : nameOf(t.routeTableId!);
  const scope = creating ? null : parseResourceId(t.routeTableId!);
  const rg = scope?.resourceGroup ?? t.resourceGroup;
  const sub = scope?.subscriptionId ?? t.subscriptionId;
  const location = t.location ?? "<vnet-location>";
  const cli = [`az account set --subscription ${sh(sub)}`];
  if (creating)
    cli.push(
      `az network route-table create --resource-group ${sh(rg)} --name ${sh(tableName)} --location ${sh(location)}`,
    );
  for (const r of routes)
    cli.push(
      `az network route-table route create --resource-group ${sh(rg)} --route-table-name ${sh(tableName)} --name ${sh(r.name)} --address-prefix ${r.prefix} --next-hop-type VirtualAppliance --next-hop-ip-address ${t.firewallIp}`,
    );
  if (creating)
    cli.push(
      `az network vnet subnet update --resource-group ${sh(t.resourceGroup)} --vnet-name ${sh(t.virtualNetworkName)} --name ${sh(t.subnetName)} --route-table ${sh(tableName)}`,
    );
  const pwsh = [
    `Set-AzContext -Subscription ${ps(sub)} | Out-Null`,
    creating
      ? `$rt = New-AzRouteTable -ResourceGroupName ${ps(rg)} -Name ${ps(tableName)} -Location ${ps(location)}`
      : `$rt = Get-AzRouteTable -ResourceGroupName ${ps(rg)} -Name ${ps(tableName)}`,
    ...routes.map(
      (r) =>
        `Add-AzRouteConfig -RouteTable $rt -Name ${ps(r.name)} -AddressPrefix '${r.prefix}' -NextHopType VirtualAppliance -NextHopIpAddress '${t.firewallIp}' | Out-Null`,
    ),
    "$rt | Set-AzRouteTable | Out-Null",
  ];
  const bicep = [
    `// Deploy to resource group ${comment(rg)} in subscription ${comment(sub)}.`,
    creating
      ? `resource routeTable 'Microsoft.Network/routeTables@${ROUTE_API_VERSION}' = {\n  name: ${bicepString(tableName)}\n  location: ${bicepString(location)}\n}`
      : `resource routeTable 'Microsoft.Network/routeTables@${ROUTE_API_VERSION}' existing = {\n  name: ${bicepString(tableName)}\n}`,
    ...routes.map(
      (r, i) =>
        `resource kmsFirewallRoute${i + 1} 'Microsoft.Network/routeTables/routes@${ROUTE_API_VERSION}' = {\n  parent: routeTable\n  name: ${bicepString(r.name)}\n  properties: {\n    addressPrefix: '${r.prefix}'\n    nextHopType: 'VirtualAppliance'\n    nextHopIpAddress: '${t.firewallIp}'\n  }\n}`,
    ),
  ];
  return {
    kind: "routesViaFirewall",
    causes,
    summary: `Instead of routes with next hop Internet (denied by policy): send ${routes.map((r) => r.prefix).join(", ")} to Azure Firewall ${t.firewallName} (${t.firewallIp}) from ${creating ? `a new route table ${tableName}` : `route table ${tableName}`}, with the firewall rule below.`,
    azureCli: cli.join("\n"),
    powershell: pwsh.join("\n"),
    bicep: bicep.join("\n"),
  };
}

export interface ExemptionRequestTarget {
  conflict: PolicyConflict;
  /** Where the exemption goes: the route table, or the resource group the fix creates in. */
  scope: string;
  /** What the fix would create, in words. */
  what: string;
  subnetName: string;
}

/** The request to the policy team: an exemption of the fix's scope from the denying assignment. */
export function exemptionRequestFix(t: ExemptionRequestTarget, causes: ReasonCode[]): Fix {
  const a = t.conflict.policyAssignmentId;
  const name = resourceName("kms-activation", nameOf(t.scope)).slice(0, 64);
  const description =
    `Windows activation (KMS, TCP 1688) of subnet ${t.subnetName} needs ${t.what}; assignment ${nameOf(a)} denies it. Requested by kms-route-audit: Azure's documented fix for forced tunneling (custom-routes-enable-kms-activation).`.slice(
      0,
      512,
    );
  const refs = t.conflict.policyDefinitionReferenceId;
  return {
    kind: "policyExemptionRequest",
    causes,
    summary: `Ask the policy team for an exemption (category Mitigated) of ${t.scope} from assignment ${a}${refs ? ` (definition ${refs})` : ""}, so that ${t.what} can be created: ${description}`,
    azureCli: [
      `# For the policy team (needs Microsoft.Authorization/policyExemptions/write and the assignment's exempt/Action):`,
      `az policy exemption create --name ${sh(name)} --policy-assignment ${sh(a)} --exemption-category Mitigated --scope ${sh(t.scope)} --display-name ${sh(`KMS activation: ${t.subnetName}`)} --description ${sh(description)}${refs ? ` --policy-definition-reference-ids ${sh(refs)}` : ""}`,
    ].join("\n"),
    powershell: [
      `# For the policy team (needs Microsoft.Authorization/policyExemptions/write and the assignment's exempt/Action):`,
      `$assignment = Get-AzPolicyAssignment -Id ${ps(a)}`,
      `New-AzPolicyExemption -Name ${ps(name)} -PolicyAssignment $assignment -ExemptionCategory Mitigated -Scope ${ps(t.scope)} -DisplayName ${ps(`KMS activation: ${t.subnetName}`)} -Description ${ps(description)}${refs ? ` -PolicyDefinitionReferenceId ${ps(refs)}` : ""}`,
    ].join("\n"),
    bicep: [
      `// For the policy team: deploy at the scope ${comment(t.scope)} (an extension resource).`,
      `resource kmsExemption 'Microsoft.Authorization/policyExemptions@2022-07-01-preview' = {\n  name: ${bicepString(name)}\n  properties: {\n    policyAssignmentId: ${bicepString(a)}\n    exemptionCategory: 'Mitigated'\n    displayName: ${bicepString(`KMS activation: ${t.subnetName}`)}\n    description: ${bicepString(description)}${refs ? `\n    policyDefinitionReferenceIds: [ ${bicepString(refs)} ]` : ""}\n  }\n}`,
    ].join("\n"),
  };
}
