import type { Inventory, RouteTable, Subnet } from "../inventory/inventory.js";
import { keyOf } from "../inventory/resource-id.js";

/**
 * Whether a subnet may learn routes from a virtual network gateway (DESIGN.md section 2): its VNet
 * has a gateway, or peers with useRemoteGateways to a VNet that has one, and its route table does
 * not disable BGP route propagation. When the data cannot rule it out (the VNet, or the remote VNet
 * of a useRemoteGateways peering, is not in the inventory) the answer is yes: Azure only accepts
 * useRemoteGateways towards a VNet with a gateway, and an unread subnet is never assumed safe.
 */
export function gatewayRoutesPossible(
  inventory: Inventory,
  subnet: Subnet,
  table: RouteTable | null,
): boolean {
  if (table?.disableBgpRoutePropagation) return false;
  return virtualNetworkLearnsGatewayRoutes(inventory, keyOf(subnet.virtualNetworkId));
}

/** The VNet half of gatewayRoutesPossible: the same for every subnet of the VNet. */
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
