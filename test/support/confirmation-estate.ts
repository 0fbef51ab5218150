/** What the confirmation tests (learned and effective routes) add to their hub-and-spoke estates. */
import type { ArmRow } from "../../src/inventory/arm-row.js";
import { EstateBuilder, SUB, type RouteSpec } from "./estate-builder.js";

/** The ExpressRoute gateway of the confirmation tests' hub VNet (EstateBuilder, gateway: true). */
export const HUB_GW = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworkGateways/hub-gw`;

/**
 * Hub VNet "hub" with an ExpressRoute gateway (HUB_GW); spokes "spoke1" and "spoke2" (subnets
 * snet-spoke1, snet-spoke2) use it through useRemoteGateways peerings.
 * - hubSubnet: the hub also has a workload subnet "snet-hub" (default: only its GatewaySubnet).
 * - spokeRoutes: both spoke subnets use one route table "rt-spoke" with these routes (default: no
 *   route table).
 */
export function hubAndSpokes(
  options: { hubSubnet?: boolean; spokeRoutes?: RouteSpec[] | null } = {},
): ArmRow[] {
  const b = new EstateBuilder();
  const hub = b.vnet("hub", options.hubSubnet ? [{ name: "snet-hub" }] : [], { gateway: true });
  const rt = options.spokeRoutes ? b.routeTable("rt-spoke", options.spokeRoutes) : undefined;
  for (const name of ["spoke1", "spoke2"]) {
    b.vnet(name, [{ name: `snet-${name}`, ...(rt ? { routeTable: rt } : {}) }], {
      peerings: [{ remote: hub, useRemoteGateways: true }],
    });
  }
  return b.rows;
}

/** Adds a VM's NIC in snet-spoke1 (what effective routes are read from) to the rows. */
export function withVmNic(rows: ArmRow[]): { rows: ArmRow[]; nic: string; subnet: string } {
  const subnet = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/spoke1/subnets/snet-spoke1`;
  const nic = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Network/networkInterfaces/vm1-nic`;
  rows.push({
    id: nic,
    type: "microsoft.network/networkinterfaces",
    properties: {
      virtualMachine: {
        id: `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1`,
      },
      ipConfigurations: [{ properties: { subnet: { id: subnet } } }],
    },
  });
  return { rows, nic, subnet };
}
