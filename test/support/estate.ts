import type { ArmRow } from "../../src/inventory/arm-row.js";

/** Deterministic subscription IDs: 00000000-0000-4000-8000-<12 hex digits of n>. */
export function subscriptionId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

/**
 * A synthetic estate: per subscription, `perSubscription` groups of a route table, a VNet with a
 * subnet and a peering, a gateway, a NIC, a VM and a scale set, plus rows the source must not
 * return (a storage account) and the subscription row itself. IDs use mixed case like ARM does.
 */
export function buildEstate(subscriptions: number, perSubscription: number): ArmRow[] {
  const rows: ArmRow[] = [];
  for (let s = 1; s <= subscriptions; s++) {
    const sub = subscriptionId(s);
    rows.push({
      id: `/subscriptions/${sub}`,
      type: "microsoft.resources/subscriptions",
      name: `Subscription ${s}`,
      subscriptionId: sub,
      properties: { state: "Enabled" },
    });
    for (let i = 0; i < perSubscription; i++) {
      const rg = `/subscriptions/${sub}/resourceGroups/RG-${i}`;
      const net = `${rg}/providers/Microsoft.Network`;
      const base = { location: "westeurope", subscriptionId: sub, resourceGroup: `rg-${i}` };
      rows.push(
        {
          ...base,
          id: `${net}/routeTables/rt-${i}`,
          name: `rt-${i}`,
          type: "microsoft.network/routetables",
          tags: { owner: "net" },
          properties: {
            disableBgpRoutePropagation: i % 2 === 0,
            routes: [
              {
                name: "default",
                properties: {
                  addressPrefix: "0.0.0.0/0",
                  nextHopType: "VirtualAppliance",
                  nextHopIpAddress: "10.0.0.4",
                },
              },
            ],
            subnets: [{ id: `${net}/virtualNetworks/vnet-${i}/subnets/app` }],
          },
        },
        {
          ...base,
          id: `${net}/virtualNetworks/vnet-${i}`,
          name: `vnet-${i}`,
          type: "microsoft.network/virtualnetworks",
          properties: {
            subnets: [
              {
                id: `${net}/virtualNetworks/vnet-${i}/subnets/app`,
                name: "app",
                properties: {
                  addressPrefix: "10.1.0.0/24",
                  routeTable: { id: `${net}/routeTables/rt-${i}` },
                },
              },
            ],
            virtualNetworkPeerings: [
              {
                name: "to-hub",
                properties: {
                  remoteVirtualNetwork: { id: `${net}/virtualNetworks/hub` },
                  useRemoteGateways: true,
                  peeringState: "Connected",
                },
              },
            ],
          },
        },
        {
          ...base,
          id: `${net}/virtualNetworkGateways/gw-${i}`,
          name: `gw-${i}`,
          type: "microsoft.network/virtualnetworkgateways",
          properties: { gatewayType: "ExpressRoute", ipConfigurations: [] },
        },
        {
          ...base,
          id: `${net}/networkInterfaces/nic-${i}`,
          name: `nic-${i}`,
          type: "microsoft.network/networkinterfaces",
          properties: {
            ipConfigurations: [
              { properties: { subnet: { id: `${net}/virtualNetworks/vnet-${i}/subnets/app` } } },
            ],
            virtualMachine: { id: `${rg}/providers/Microsoft.Compute/virtualMachines/vm-${i}` },
          },
        },
        {
          ...base,
          id: `${rg}/providers/Microsoft.Compute/virtualMachines/vm-${i}`,
          name: `vm-${i}`,
          type: "microsoft.compute/virtualmachines",
          properties: {
            storageProfile: { osDisk: { osType: "Windows" } },
            networkProfile: { networkInterfaces: [{ id: `${net}/networkInterfaces/nic-${i}` }] },
          },
        },
        {
          ...base,
          id: `${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-${i}`,
          name: `vmss-${i}`,
          type: "microsoft.compute/virtualmachinescalesets",
          sku: { name: "Standard_D2s_v5", capacity: 3 },
          properties: { orchestrationMode: "Uniform" },
        },
        {
          ...base,
          id: `${rg}/providers/Microsoft.Storage/storageAccounts/st${i}`,
          name: `st${i}`,
          type: "microsoft.storage/storageaccounts",
          properties: {},
        },
      );
    }
  }
  return rows;
}

/** Lower-cased IDs of the rows the live source should return for the given subscriptions. */
export function expectedIds(rows: ArmRow[], subscriptions?: readonly string[]): string[] {
  const wanted = subscriptions ? new Set(subscriptions.map((s) => s.toLowerCase())) : null;
  return rows
    .filter((r) => r.type !== "microsoft.storage/storageaccounts")
    .filter((r) => !wanted || wanted.has(String(r.subscriptionId).toLowerCase()))
    .map((r) => r.id.toLowerCase())
    .sort();
}
