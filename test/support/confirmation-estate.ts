/** What the confirmation tests (learned and effective routes) add to their hub-and-spoke estates. */
import type { ArmRow } from "../../src/inventory/arm-row.js";
import { SUB } from "./estate-builder.js";

/** The ExpressRoute gateway of the confirmation tests' hub VNet (EstateBuilder, gateway: true). */
export const HUB_GW = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworkGateways/hub-gw`;

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
