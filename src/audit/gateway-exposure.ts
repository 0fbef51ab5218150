import type { Inventory } from "../inventory/inventory.js";

/**
 * Whether the subnets of a VNet may learn routes from a virtual network gateway (DESIGN.md
 * section 2): the VNet has a gateway, or peers with useRemoteGateways to a VNet that has one. A
 * subnet's route table that disables BGP route propagation shuts them out; the audit checks that.
 * When the data cannot rule it out (the VNet, or the remote VNet of a useRemoteGateways peering,
 * is not in the inventory) the answer is yes: Azure only accepts useRemoteGateways towards a VNet
 * with a gateway, and an unread subnet is never assumed safe.
 */
export function virtualNetworkLearnsGatewayRoutes(inventory: Inventory, vnetKey: string): boolean {
  if (inventory.gatewayVirtualNetworks.has(vnetKey)) return true;
  const vnet = inventory.virtualNetworks.get(vnetKey);
  if (!vnet) return true;
  return vnet.peerings.some(
    (p) =>
      p.useRemoteGateways &&
      (p.remoteVirtualNetworkKey === null ||
        inventory.gatewayVirtualNetworks.has(p.remoteVirtualNetworkKey) ||
        !inventory.virtualNetworks.has(p.remoteVirtualNetworkKey)),
  );
}
