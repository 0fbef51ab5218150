import type { ArmRow } from "../src/inventory/arm-row.js";
import { createRandom } from "../kit/random.js";

/**
 * A seeded, deterministic synthetic estate of ARM rows shaped like `samples/demo-estate.json`:
 * subscriptions of hub and spoke VNets (4–8 subnets each), a route table per spoke VNet with a mix
 * of forced-tunnel default routes and KMS bypass states, ExpressRoute gateways in the hubs, spoke
 * peerings (some with useRemoteGateways), and NICs and VMs (Windows and Linux) in part of the
 * subnets. Rows are produced one by one (a generator), so 1M subnets never sit in memory at once.
 */
export interface EstateGeneratorOptions {
  /** Subnets to produce (exactly). */
  subnets: number;
  seed?: number;
  /** Spoke VNets per hub; default 20. */
  spokesPerHub?: number;
  /** VNets per subscription; default 40. */
  vnetsPerSubscription?: number;
}

const LOCATIONS = ["westeurope", "northeurope", "eastus2", "swedencentral", "japaneast"];
const KMS_IPS = ["20.118.99.224", "40.83.235.53", "23.102.135.246"];
const LEGACY_KMS_IP = "23.102.135.246";
const WORKLOADS = ["app", "web", "data", "sap", "aks", "batch", "mgmt", "int", "dmz", "ci"];

type DefaultRoute = "appliance" | "gateway" | "split" | "none" | "blackhole";
type Bypass = "all" | "legacy" | "none" | "wrongHop";

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Picks by weight: [[value, weight], ...]. */
function weighted<T>(random: () => number, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let r = random() * total;
  for (const [value, w] of choices) {
    r -= w;
    if (r < 0) return value;
  }
  return choices[choices.length - 1]![0];
}

function guid(random: () => number): string {
  const hex = () =>
    Math.floor(random() * 0x10000)
      .toString(16)
      .padStart(4, "0");
  return `${hex()}${hex()}-${hex()}-4${hex().slice(1)}-a${hex().slice(1)}-${hex()}${hex()}${hex()}`;
}

function route(name: string, prefix: string, nextHopType: string, nextHopIp?: string) {
  return {
    name,
    properties: {
      addressPrefix: prefix,
      nextHopType,
      ...(nextHopIp ? { nextHopIpAddress: nextHopIp } : {}),
      provisioningState: "Succeeded",
    },
  };
}

function routesFor(defaultRoute: DefaultRoute, bypass: Bypass, extra: number) {
  const routes = [];
  switch (defaultRoute) {
    case "appliance":
      routes.push(route("default-to-firewall", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4"));
      break;
    case "gateway":
      routes.push(route("default-to-onprem", "0.0.0.0/0", "VirtualNetworkGateway"));
      break;
    case "split":
      routes.push(route("default-low", "0.0.0.0/1", "VirtualAppliance", "10.0.1.4"));
      routes.push(route("default-high", "128.0.0.0/1", "VirtualAppliance", "10.0.1.4"));
      break;
    case "blackhole":
      routes.push(route("default-drop", "0.0.0.0/0", "None"));
      break;
    case "none":
      break;
  }
  switch (bypass) {
    case "all":
      for (const ip of KMS_IPS)
        routes.push(route(`kms-${ip.replace(/\./g, "-")}`, `${ip}/32`, "Internet"));
      break;
    case "legacy":
      routes.push(route("kms-legacy", `${LEGACY_KMS_IP}/32`, "Internet"));
      break;
    case "wrongHop":
      for (const ip of KMS_IPS)
        routes.push(
          route(`kms-${ip.replace(/\./g, "-")}`, `${ip}/32`, "VirtualAppliance", "10.0.1.4"),
        );
      break;
    case "none":
      break;
  }
  // On-premises ranges: most tables carry a few, which the engine must skip past.
  for (let i = 0; i < extra; i++)
    routes.push(route(`onprem-${i}`, `172.${16 + i}.0.0/16`, "VirtualNetworkGateway"));
  return routes;
}

/** Every row of the estate, in a stable order, for `options.subnets` subnets. */
export function* generateEstate(options: EstateGeneratorOptions): Generator<ArmRow> {
  const random = createRandom(options.seed ?? 1);
  const spokesPerHub = options.spokesPerHub ?? 20;
  const vnetsPerSubscription = options.vnetsPerSubscription ?? 40;
  let subnetsLeft = options.subnets;
  let vnetIndex = 0;
  let subscriptionId = "";
  let hubId: string | null = null;
  let hubLocation = LOCATIONS[0]!;

  while (subnetsLeft > 0) {
    if (vnetIndex % vnetsPerSubscription === 0) {
      subscriptionId = guid(random);
      const n = vnetIndex / vnetsPerSubscription;
      yield {
        id: `/subscriptions/${subscriptionId}`,
        name: `Landing zone ${n}`,
        type: "microsoft.resources/subscriptions",
        subscriptionId,
        properties: { state: "Enabled" },
      };
    }
    const isHub = vnetIndex % (spokesPerHub + 1) === 0;
    const location = isHub ? pick(random, LOCATIONS) : hubLocation;
    const rg = isHub ? `rg-hub-${vnetIndex}` : `rg-spoke-${vnetIndex}`;
    const vnetName = isHub ? `vnet-hub-${vnetIndex}` : `vnet-spoke-${vnetIndex}`;
    const vnetId = `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/${vnetName}`;
    const count = Math.min(subnetsLeft, 4 + Math.floor(random() * 5));
    subnetsLeft -= count;
    const octet2 = vnetIndex % 256;
    const octet1 = 10 + (Math.floor(vnetIndex / 256) % 100);

    // Subnet names: a hub starts with its platform subnets.
    const names: string[] = [];
    if (isHub) names.push("GatewaySubnet", "AzureFirewallSubnet", "AzureBastionSubnet");
    while (names.length < count) names.push(`snet-${pick(random, WORKLOADS)}-${names.length}`);
    names.length = count;

    const gatewayId = `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworkGateways/vgw-er-${vnetIndex}`;
    const hasGateway = isHub && names.includes("GatewaySubnet");

    // A route table for the workload subnets of most VNets.
    const hasTable = random() < (isHub ? 0.5 : 0.9);
    const tableName = `rt-${vnetName}`;
    const tableId = `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/routeTables/${tableName}`;
    const tableSubnets: string[] = [];
    const subnetIds = names.map((n) => `${vnetId}/subnets/${n}`);
    const platform = (n: string) =>
      /^(GatewaySubnet|AzureFirewallSubnet|AzureBastionSubnet)$/.test(n);
    if (hasTable) {
      names.forEach((n, i) => {
        if (!platform(n) && random() < 0.95) tableSubnets.push(subnetIds[i]!);
      });
      const defaultRoute = weighted<DefaultRoute>(random, [
        ["appliance", 45],
        ["gateway", 20],
        ["split", 10],
        ["none", 20],
        ["blackhole", 5],
      ]);
      const bypass = weighted<Bypass>(random, [
        ["all", 35],
        ["legacy", 30],
        ["none", 30],
        ["wrongHop", 5],
      ]);
      yield {
        id: tableId,
        name: tableName,
        type: "microsoft.network/routetables",
        location,
        subscriptionId,
        resourceGroup: rg,
        ...(random() < 0.03
          ? { tags: { "kms-route-audit-exempt": "CHG0042 firewall NATs 1688" } }
          : {}),
        properties: {
          provisioningState: "Succeeded",
          disableBgpRoutePropagation: random() < 0.3,
          routes: routesFor(defaultRoute, bypass, Math.floor(random() * 4)),
          // Back-references in another case, as real exports have them.
          subnets: tableSubnets.map((id) => ({ id: random() < 0.5 ? id.toLowerCase() : id })),
        },
      };
    }

    const peerings = [];
    if (!isHub && hubId) {
      peerings.push({
        name: `peer-to-hub`,
        properties: {
          remoteVirtualNetwork: { id: hubId },
          allowVirtualNetworkAccess: true,
          allowForwardedTraffic: true,
          useRemoteGateways: random() < 0.6,
          peeringState: "Connected",
        },
      });
    }
    yield {
      id: vnetId,
      name: vnetName,
      type: "microsoft.network/virtualnetworks",
      location,
      subscriptionId,
      resourceGroup: rg,
      properties: {
        provisioningState: "Succeeded",
        addressSpace: { addressPrefixes: [`${octet1}.${octet2}.0.0/16`] },
        subnets: names.map((n, i) => ({
          id: subnetIds[i],
          name: n,
          properties: {
            provisioningState: "Succeeded",
            addressPrefix: `${octet1}.${octet2}.${i}.0/24`,
            ...(tableSubnets.includes(subnetIds[i]!) ? { routeTable: { id: tableId } } : {}),
            ...(n === "GatewaySubnet" && hasGateway
              ? { ipConfigurations: [{ id: `${gatewayId}/ipConfigurations/default` }] }
              : {}),
          },
        })),
        virtualNetworkPeerings: peerings,
      },
    };
    if (hasGateway) {
      yield {
        id: gatewayId,
        name: `vgw-er-${vnetIndex}`,
        type: "microsoft.network/virtualnetworkgateways",
        location,
        subscriptionId,
        resourceGroup: rg,
        properties: {
          gatewayType: "ExpressRoute",
          sku: { name: "ErGw1AZ", tier: "ErGw1AZ" },
          ipConfigurations: [
            {
              id: `${gatewayId}/ipConfigurations/default`,
              name: "default",
              properties: { subnet: { id: `${vnetId}/subnets/GatewaySubnet` } },
            },
          ],
        },
      };
      hubId = vnetId;
      hubLocation = location;
    }

    // NICs and VMs in part of the workload subnets.
    for (let i = 0; i < names.length; i++) {
      if (platform(names[i]!) || random() >= 0.35) continue;
      const vms = 1 + Math.floor(random() * 3);
      for (let v = 0; v < vms; v++) {
        const vmName = `vm-${vnetIndex}-${i}-${v}`;
        const vmId = `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${vmName}`;
        const nicId = `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/networkInterfaces/${vmName}-nic`;
        const windows = random() < 0.6;
        yield {
          id: nicId,
          name: `${vmName}-nic`,
          type: "microsoft.network/networkinterfaces",
          location,
          subscriptionId,
          resourceGroup: rg,
          properties: {
            ipConfigurations: [
              {
                name: "ipconfig1",
                properties: {
                  subnet: { id: subnetIds[i] },
                  privateIPAddress: `${octet1}.${octet2}.${i}.${4 + v}`,
                  privateIPAllocationMethod: "Dynamic",
                },
              },
            ],
            virtualMachine: { id: vmId },
          },
        };
        yield {
          id: vmId,
          name: vmName,
          type: "microsoft.compute/virtualmachines",
          location,
          subscriptionId,
          resourceGroup: rg,
          properties: {
            hardwareProfile: { vmSize: "Standard_D2s_v5" },
            storageProfile: windows
              ? {
                  imageReference: {
                    publisher: "MicrosoftWindowsServer",
                    offer: "WindowsServer",
                    sku: "2022-datacenter-azure-edition",
                  },
                  osDisk: { osType: "Windows" },
                }
              : {
                  imageReference: {
                    publisher: "Canonical",
                    offer: "ubuntu-24_04-lts",
                    sku: "server",
                  },
                  osDisk: { osType: "Linux" },
                },
            networkProfile: { networkInterfaces: [{ id: nicId }] },
          },
        };
      }
    }
    vnetIndex += 1;
  }
}
