/**
 * The one row shape every source produces: an ARM resource, whether it came from Resource Graph
 * (projected) or from a file a user exported.
 */
export interface ArmRow {
  id: string;
  type: string;
  name?: string;
  location?: string;
  subscriptionId?: string;
  resourceGroup?: string;
  sku?: unknown;
  properties?: unknown;
  [extra: string]: unknown;
}

/** Resource types the audit reads, lower-cased as Resource Graph reports them. */
export const AUDITED_TYPES = {
  routeTable: "microsoft.network/routetables",
  route: "microsoft.network/routetables/routes",
  virtualNetwork: "microsoft.network/virtualnetworks",
  subnet: "microsoft.network/virtualnetworks/subnets",
  peering: "microsoft.network/virtualnetworks/virtualnetworkpeerings",
  gateway: "microsoft.network/virtualnetworkgateways",
  networkInterface: "microsoft.network/networkinterfaces",
  virtualMachine: "microsoft.compute/virtualmachines",
  scaleSet: "microsoft.compute/virtualmachinescalesets",
  subscription: "microsoft.resources/subscriptions",
} as const;
