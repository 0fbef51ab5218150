import { createRandom } from "../random.js";
import type { ArmRow } from "../../src/inventory/arm-row.js";

/**
 * A deterministic synthetic hub-and-spoke estate of any size, shaped like Resource Graph rows
 * (the projected columns: id, name, type, location, subscriptionId, resourceGroup, tags, sku,
 * properties). Same options, same rows, byte for byte.
 *
 * - A hub subscription: VNet with GatewaySubnet, AzureFirewallSubnet and a shared-services subnet,
 *   an ExpressRoute gateway, and a peering (allowGatewayTransit) to every spoke VNet.
 * - Spoke subscriptions with VNets of `subnetsPerVnet` subnets. Every second spoke VNet peers back
 *   with useRemoteGateways (it may learn a BGP default route); the others do not.
 * - Per subnet one of the route-table variants below (no table, default route to an appliance or
 *   the gateway or None, all/legacy/wrong-hop KMS bypasses, split defaults, service tags, an
 *   exemption tag, a table missing from the estate, BGP propagation off), in a seeded mix.
 * - NICs and VMs (Windows or Linux) in most subnets, and a few Windows scale sets.
 * IDs mix case the way ARM does (resourceGroups vs resourcegroups, RG names upper/lower case).
 */
export interface SyntheticEstateOptions {
  /** Spoke subnets to generate (the hub's three come on top). */
  subnets: number;
  subnetsPerVnet?: number;
  spokeSubscriptions?: number;
  /** Share of spoke subnets with a NIC and VM, 0..1; default 0.9. */
  vmShare?: number;
  seed?: number;
}

export const SYNTHETIC_HUB_SUBSCRIPTION = "5a1b0000-0000-4000-8000-00000000a0b0";

/** Spoke subscription IDs: 5a1b0000-0000-4000-8000-0000000000NN (1-based). */
export function syntheticSubscription(n: number): string {
  return `5a1b0000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

const KMS = ["20.118.99.224", "40.83.235.53", "23.102.135.246"] as const;
const LEGACY = "23.102.135.246";

const VARIANTS = [
  "none",
  "appliance-no-bypass",
  "appliance-all-bypassed",
  "gateway-legacy-only",
  "split-default-wrong-hop",
  "blackhole",
  "service-tag",
  "exempt",
  "missing-table",
  "bgp-off-no-default",
  "gateway-partial",
] as const;
type Variant = (typeof VARIANTS)[number];

type RouteSpec = [prefix: string, hop: string, ip?: string];

function routesFor(variant: Variant): RouteSpec[] {
  const fw = "10.0.1.4";
  const kms = (hop: string, ips: readonly string[] = KMS): RouteSpec[] =>
    ips.map((ip) => [`${ip}/32`, hop, hop === "VirtualAppliance" ? fw : undefined]);
  switch (variant) {
    case "appliance-no-bypass":
    case "exempt":
      return [["0.0.0.0/0", "VirtualAppliance", fw]];
    case "appliance-all-bypassed":
      return [["0.0.0.0/0", "VirtualAppliance", fw], ...kms("Internet")];
    case "gateway-legacy-only":
      return [["0.0.0.0/0", "VirtualNetworkGateway"], ...kms("Internet", [LEGACY])];
    case "gateway-partial":
      return [["0.0.0.0/0", "VirtualNetworkGateway"], ...kms("Internet", KMS.slice(0, 2))];
    case "split-default-wrong-hop":
      return [
        ["0.0.0.0/1", "VirtualAppliance", fw],
        ["128.0.0.0/1", "VirtualAppliance", fw],
        ...kms("VirtualAppliance"),
      ];
    case "blackhole":
      return [["0.0.0.0/0", "None"]];
    case "service-tag":
      return [
        ["0.0.0.0/0", "VirtualAppliance", fw],
        ["AzureCloud", "Internet"],
      ];
    case "bgp-off-no-default":
      return [["10.0.0.0/8", "VirtualAppliance", fw]];
    case "none":
    case "missing-table":
      return [];
  }
}

export function syntheticEstate(options: SyntheticEstateOptions): ArmRow[] {
  const perVnet = options.subnetsPerVnet ?? 5;
  const spokes = options.spokeSubscriptions ?? 4;
  const vmShare = options.vmShare ?? 0.9;
  const random = createRandom(options.seed ?? 20260501);
  const rows: ArmRow[] = [];
  const location = "westeurope";

  const hubSub = SYNTHETIC_HUB_SUBSCRIPTION;
  const hubRg = `/subscriptions/${hubSub}/resourceGroups/rg-hub`;
  const hubVnetId = `${hubRg}/providers/Microsoft.Network/virtualNetworks/vnet-hub`;
  rows.push({
    id: `/subscriptions/${hubSub}`,
    name: "Synthetic hub",
    type: "microsoft.resources/subscriptions",
    subscriptionId: hubSub,
    properties: { state: "Enabled" },
  });
  for (let s = 1; s <= spokes; s++) {
    const sub = syntheticSubscription(s);
    rows.push({
      id: `/subscriptions/${sub}`,
      name: `Synthetic spoke ${s}`,
      type: "microsoft.resources/subscriptions",
      subscriptionId: sub,
      properties: { state: "Enabled" },
    });
  }

  const hubBase = { location, subscriptionId: hubSub, resourceGroup: "rg-hub" };
  const sharedRt = `${hubRg}/providers/Microsoft.Network/routeTables/rt-hub-shared`;
  rows.push(
    {
      ...hubBase,
      id: sharedRt,
      name: "rt-hub-shared",
      type: "microsoft.network/routetables",
      properties: {
        disableBgpRoutePropagation: false,
        routes: toRoutes(routesFor("gateway-legacy-only")),
      },
    },
    {
      ...hubBase,
      id: `${hubRg}/providers/Microsoft.Network/virtualNetworkGateways/vgw-er-hub`,
      name: "vgw-er-hub",
      type: "microsoft.network/virtualnetworkgateways",
      properties: {
        gatewayType: "ExpressRoute",
        ipConfigurations: [
          {
            id: `${hubRg}/providers/Microsoft.Network/virtualNetworkGateways/vgw-er-hub/ipConfigurations/default`,
            name: "default",
            properties: { subnet: { id: `${hubVnetId}/subnets/GatewaySubnet` } },
          },
        ],
      },
    },
  );

  const spokeVnets: { id: string; useRemoteGateways: boolean }[] = [];
  let subnetIndex = 0;
  let vnetIndex = 0;
  while (subnetIndex < options.subnets) {
    const s = (vnetIndex % spokes) + 1;
    const sub = syntheticSubscription(s);
    // ARM spells resource groups both ways; the audit must not care.
    const rgName = `rg-spoke-${vnetIndex % 7}`;
    const rgSegment = vnetIndex % 3 === 0 ? "resourcegroups" : "resourceGroups";
    const rgCase = vnetIndex % 5 === 0 ? rgName.toUpperCase() : rgName;
    const rg = `/subscriptions/${sub}/${rgSegment}/${rgCase}`;
    const net = `${rg}/providers/Microsoft.Network`;
    const vnetName = `vnet-${String(vnetIndex).padStart(5, "0")}`;
    const vnetId = `${net}/virtualNetworks/${vnetName}`;
    const base = { location, subscriptionId: sub, resourceGroup: rgName };
    const useRemoteGateways = vnetIndex % 2 === 0;
    spokeVnets.push({ id: vnetId, useRemoteGateways });
    const subnets: Record<string, unknown>[] = [];
    const count = Math.min(perVnet, options.subnets - subnetIndex);
    for (let k = 0; k < count; k++, subnetIndex++) {
      const variant = VARIANTS[Math.floor(random() * VARIANTS.length)] ?? "none";
      const subnetName = `snet-${k}`;
      const subnetId = `${vnetId}/subnets/${subnetName}`;
      const rtName = `rt-${vnetName}-${k}`;
      // A referencing ID in another case than the table's own, now and then.
      const rtId = `${net}/routeTables/${rtName}`;
      const rtRef = k % 4 === 1 ? rtId.toLowerCase() : rtId;
      const prefix = `10.${64 + (vnetIndex % 128)}.${k}.0/24`;
      subnets.push({
        id: subnetId,
        name: subnetName,
        properties: {
          addressPrefix: prefix,
          ...(variant === "none" ? {} : { routeTable: { id: rtRef } }),
        },
      });
      if (variant !== "none" && variant !== "missing-table") {
        rows.push({
          ...base,
          id: rtId,
          name: rtName,
          type: "microsoft.network/routetables",
          ...(variant === "exempt"
            ? { tags: { "kms-route-audit-exempt": "lab, no Windows (synthetic)" } }
            : {}),
          properties: {
            disableBgpRoutePropagation: variant === "bgp-off-no-default",
            routes: toRoutes(routesFor(variant)),
            subnets: [{ id: subnetId }],
          },
        });
      }
      if (random() < vmShare) {
        const vmName = `vm-${vnetName}-${k}`;
        const nicId = `${net}/networkInterfaces/nic-${vmName}`;
        const vmId = `${rg}/providers/Microsoft.Compute/virtualMachines/${vmName}`;
        const windows = random() < 0.6;
        rows.push(
          {
            ...base,
            id: nicId,
            name: `nic-${vmName}`,
            type: "microsoft.network/networkinterfaces",
            properties: {
              ipConfigurations: [{ name: "ipconfig1", properties: { subnet: { id: subnetId } } }],
              // As Resource Graph reports every NIC: IP forwarding stated, off.
              enableIPForwarding: false,
              virtualMachine: { id: vmId },
            },
          },
          {
            ...base,
            id: vmId,
            name: vmName,
            type: "microsoft.compute/virtualmachines",
            properties: {
              storageProfile: { osDisk: { osType: windows ? "Windows" : "Linux" } },
              networkProfile: { networkInterfaces: [{ id: nicId }] },
            },
          },
        );
      }
      if (subnetIndex % 97 === 0) {
        rows.push({
          ...base,
          id: `${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-${vnetName}-${k}`,
          name: `vmss-${vnetName}-${k}`,
          type: "microsoft.compute/virtualmachinescalesets",
          sku: { name: "Standard_D2s_v5", capacity: 2 + (subnetIndex % 3) },
          properties: {
            orchestrationMode: "Uniform",
            virtualMachineProfile: {
              storageProfile: { osDisk: { osType: "Windows" } },
              networkProfile: {
                networkInterfaceConfigurations: [
                  {
                    name: "nic",
                    properties: {
                      ipConfigurations: [{ name: "ip", properties: { subnet: { id: subnetId } } }],
                    },
                  },
                ],
              },
            },
          },
        });
      }
    }
    rows.push({
      ...base,
      id: vnetId,
      name: vnetName,
      type: "microsoft.network/virtualnetworks",
      properties: {
        addressSpace: { addressPrefixes: [`10.${64 + (vnetIndex % 128)}.0.0/16`] },
        subnets,
        virtualNetworkPeerings: [
          {
            name: `${vnetName}-to-hub`,
            properties: {
              remoteVirtualNetwork: { id: hubVnetId },
              useRemoteGateways,
              allowGatewayTransit: false,
              peeringState: "Connected",
            },
          },
        ],
      },
    });
    vnetIndex++;
  }

  rows.push({
    ...hubBase,
    id: hubVnetId,
    name: "vnet-hub",
    type: "microsoft.network/virtualnetworks",
    properties: {
      addressSpace: { addressPrefixes: ["10.0.0.0/16"] },
      subnets: [
        { id: `${hubVnetId}/subnets/GatewaySubnet`, name: "GatewaySubnet", properties: {} },
        {
          id: `${hubVnetId}/subnets/AzureFirewallSubnet`,
          name: "AzureFirewallSubnet",
          properties: {},
        },
        {
          id: `${hubVnetId}/subnets/snet-shared`,
          name: "snet-shared",
          properties: { routeTable: { id: sharedRt } },
        },
      ],
      virtualNetworkPeerings: spokeVnets.map((v, i) => ({
        name: `hub-to-spoke-${i}`,
        properties: {
          remoteVirtualNetwork: { id: v.id },
          useRemoteGateways: false,
          allowGatewayTransit: true,
          peeringState: "Connected",
        },
      })),
    },
  });
  return rows;
}

function toRoutes(specs: RouteSpec[]) {
  return specs.map(([prefix, hop, ip], i) => ({
    name: `route-${i}-${prefix.replace(/[./]/g, "-")}`,
    properties: {
      addressPrefix: prefix,
      nextHopType: hop,
      ...(ip ? { nextHopIpAddress: ip } : {}),
    },
  }));
}
