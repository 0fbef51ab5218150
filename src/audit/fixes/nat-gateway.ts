import type { Fix } from "../../model.js";
import type { ReasonCode } from "../../reasons.js";
import { bicepString, comment, ps, resourceName, sh } from "./quote.js";

export interface NatFixTarget {
  subnetName: string;
  virtualNetworkName: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string | null;
}

const API_VERSION = "2024-05-01";

/**
 * A private subnet's explicit outbound method (ip-services/default-outbound-access): a NAT gateway
 * with a Standard public IP, associated with the subnet. Routes to the Internet alone never work
 * there.
 */
export function natGatewayFix(t: NatFixTarget, causes: ReasonCode[]): Fix {
  const nat = resourceName("ng", t.virtualNetworkName, t.subnetName);
  const pip = resourceName("pip", nat);
  const location = t.location ?? "<vnet-location>";
  const rg = t.resourceGroup;
  return {
    kind: "natGateway",
    causes,
    summary: `Give private subnet ${t.subnetName} an outbound method: NAT gateway ${nat} with public IP ${pip}.`,
    azureCli: [
      `az account set --subscription ${sh(t.subscriptionId)}`,
      `az network public-ip create --resource-group ${sh(rg)} --name ${sh(pip)} --location ${sh(location)} --sku Standard --allocation-method Static`,
      `az network nat gateway create --resource-group ${sh(rg)} --name ${sh(nat)} --location ${sh(location)} --public-ip-addresses ${sh(pip)}`,
      `az network vnet subnet update --resource-group ${sh(rg)} --vnet-name ${sh(t.virtualNetworkName)} --name ${sh(t.subnetName)} --nat-gateway ${sh(nat)}`,
    ].join("\n"),
    powershell: [
      `Set-AzContext -Subscription ${ps(t.subscriptionId)} | Out-Null`,
      `$pip = New-AzPublicIpAddress -ResourceGroupName ${ps(rg)} -Name ${ps(pip)} -Location ${ps(location)} -Sku Standard -AllocationMethod Static`,
      `$nat = New-AzNatGateway -ResourceGroupName ${ps(rg)} -Name ${ps(nat)} -Location ${ps(location)} -Sku Standard -PublicIpAddress $pip`,
      `$vnet = Get-AzVirtualNetwork -ResourceGroupName ${ps(rg)} -Name ${ps(t.virtualNetworkName)}`,
      `($vnet.Subnets | Where-Object Name -eq ${ps(t.subnetName)}).NatGateway = $nat`,
      "$vnet | Set-AzVirtualNetwork | Out-Null",
    ].join("\n"),
    bicep: [
      `// Deploy to resource group ${comment(rg)} in subscription ${comment(t.subscriptionId)}.`,
      `resource natPublicIp 'Microsoft.Network/publicIPAddresses@${API_VERSION}' = {\n  name: ${bicepString(pip)}\n  location: ${bicepString(location)}\n  sku: { name: 'Standard' }\n  properties: { publicIPAllocationMethod: 'Static' }\n}`,
      `resource natGateway 'Microsoft.Network/natGateways@${API_VERSION}' = {\n  name: ${bicepString(nat)}\n  location: ${bicepString(location)}\n  sku: { name: 'Standard' }\n  properties: { publicIpAddresses: [ { id: natPublicIp.id } ] }\n}`,
      `// Then associate it with subnet ${comment(t.subnetName)} of ${comment(t.virtualNetworkName)} in the template that owns the VNet:\n//   natGateway: { id: natGateway.id }`,
    ].join("\n"),
  };
}
