import { flattenEndpoints, endpointSetsFor } from "../../src/catalog/endpoints.js";
import type { ServiceTagIndex } from "../../src/catalog/service-tags.js";
import { auditInventory, type AuditResult } from "../../src/audit/audit.js";
import type { ArmRow } from "../../src/inventory/arm-row.js";
import { buildInventory } from "../../src/inventory/inventory.js";
import type { CloudName, Finding } from "../../src/model.js";

export const SUB = "0f1e2d3c-4b5a-4969-8877-665544332211";
export const HUB_SUB = "a1b2c3d4-e5f6-4a5b-9c8d-7e6f5a4b3c2d";
export const KMS = ["20.118.99.224", "40.83.235.53", "23.102.135.246"] as const;

/** [addressPrefix, nextHopType, name?, nextHopIpAddress?] */
export type RouteSpec = [
  prefix: unknown,
  nextHopType: string | null,
  name?: string,
  nextHopIpAddress?: string,
];

export interface SubnetSpec {
  name: string;
  routeTable?: string;
  addressPrefix?: string;
  networkSecurityGroup?: string;
  natGateway?: string;
  /** false: a private subnet (ip-services/default-outbound-access). */
  defaultOutboundAccess?: boolean;
}

/** A network rule of an Azure Firewall's classic rule collection (firewall/rule-processing). */
export interface FirewallRuleSpec {
  name: string;
  protocols?: string[];
  sourceAddresses?: string[];
  destinationAddresses?: string[];
  destinationFqdns?: string[];
  destinationPorts: string[];
}

/** The private IP of the hub firewall that hubFirewall() builds. */
export const HUB_FIREWALL_IP = "10.100.1.4";

/** Builds ARM-shaped rows the way Resource Graph returns them, for short readable tests. */
export class EstateBuilder {
  readonly rows: ArmRow[] = [];
  constructor(readonly subscriptionId = SUB) {}

  private rid(rg: string, type: string, name: string, sub = this.subscriptionId): string {
    return `/subscriptions/${sub}/resourceGroups/${rg}/providers/${type}/${name}`;
  }

  routeTable(
    name: string,
    routes: RouteSpec[],
    options: {
      disableBgpRoutePropagation?: boolean;
      tags?: Record<string, string>;
      subnets?: string[];
    } = {},
  ): string {
    const id = this.rid("rg-net", "Microsoft.Network/routeTables", name);
    this.rows.push({
      id,
      name,
      type: "microsoft.network/routetables",
      location: "westeurope",
      ...(options.tags ? { tags: options.tags } : {}),
      properties: {
        disableBgpRoutePropagation: options.disableBgpRoutePropagation ?? false,
        routes: routes.map(([prefix, hop, routeName, nextHopIp], i) => ({
          name: routeName ?? `route-${i}`,
          properties: {
            addressPrefix: prefix,
            ...(hop === null ? {} : { nextHopType: hop }),
            ...(nextHopIp === undefined ? {} : { nextHopIpAddress: nextHopIp }),
          },
        })),
        subnets: (options.subnets ?? []).map((s) => ({ id: s })),
      },
    });
    return id;
  }

  vnet(
    name: string,
    subnets: SubnetSpec[],
    options: {
      peerings?: { remote: string; useRemoteGateways: boolean }[];
      gateway?: boolean;
      /** The gateway's type: ExpressRoute (default) or Vpn. */
      gatewayType?: "ExpressRoute" | "Vpn";
      addressPrefixes?: string[];
      sub?: string;
    } = {},
  ): string {
    const id = this.rid("rg-net", "Microsoft.Network/virtualNetworks", name, options.sub);
    const allSubnets = options.gateway ? [...subnets, { name: "GatewaySubnet" }] : subnets;
    this.rows.push({
      id,
      name,
      type: "microsoft.network/virtualnetworks",
      location: "westeurope",
      properties: {
        ...(options.addressPrefixes
          ? { addressSpace: { addressPrefixes: options.addressPrefixes } }
          : {}),
        subnets: allSubnets.map((s: SubnetSpec) => ({
          id: `${id}/subnets/${s.name}`,
          name: s.name,
          properties: {
            ...(s.addressPrefix ? { addressPrefix: s.addressPrefix } : {}),
            ...(s.routeTable ? { routeTable: { id: s.routeTable } } : {}),
            ...(s.networkSecurityGroup
              ? { networkSecurityGroup: { id: s.networkSecurityGroup } }
              : {}),
            ...(s.natGateway ? { natGateway: { id: s.natGateway } } : {}),
            ...(s.defaultOutboundAccess === undefined
              ? {}
              : { defaultOutboundAccess: s.defaultOutboundAccess }),
          },
        })),
        virtualNetworkPeerings: (options.peerings ?? []).map((p, i) => ({
          name: `peering-${i}`,
          properties: {
            remoteVirtualNetwork: { id: p.remote },
            useRemoteGateways: p.useRemoteGateways,
          },
        })),
      },
    });
    if (options.gateway) {
      const gw = this.rid(
        "rg-net",
        "Microsoft.Network/virtualNetworkGateways",
        `${name}-gw`,
        options.sub,
      );
      this.rows.push({
        id: gw,
        name: `${name}-gw`,
        type: "microsoft.network/virtualNetworkGateways",
        properties: {
          gatewayType: options.gatewayType ?? "ExpressRoute",
          ipConfigurations: [
            { name: "default", properties: { subnet: { id: `${id}/subnets/GatewaySubnet` } } },
          ],
        },
      });
    }
    return id;
  }

  /**
   * An Azure Firewall (VNet SKU) in `subnetId` (an AzureFirewallSubnet) with one public IP on its
   * data path and classic network rules in one Allow collection (firewall/rule-processing: a flow
   * no rule allows is denied). forcedTunnel adds the management IP configuration of forced-tunnel
   * mode (firewall/forced-tunneling).
   */
  firewall(
    name: string,
    subnetId: string,
    privateIp: string,
    options: { allow?: FirewallRuleSpec[]; forcedTunnel?: boolean } = {},
  ): string {
    const id = this.rid("rg-net", "Microsoft.Network/azureFirewalls", name);
    const pip = this.rid("rg-net", "Microsoft.Network/publicIPAddresses", `${name}-pip`);
    const rules = options.allow ?? [];
    this.rows.push({
      id,
      name,
      type: "microsoft.network/azurefirewalls",
      location: "westeurope",
      properties: {
        sku: { name: "AZFW_VNet", tier: "Standard" },
        ipConfigurations: [
          {
            name: "ipconfig",
            properties: {
              privateIPAddress: privateIp,
              subnet: { id: subnetId },
              publicIPAddress: { id: pip },
            },
          },
        ],
        ...(options.forcedTunnel
          ? {
              managementIpConfiguration: {
                name: "mgmt",
                properties: {
                  subnet: {
                    id: subnetId.replace(/AzureFirewallSubnet$/i, "AzureFirewallManagementSubnet"),
                  },
                  publicIPAddress: { id: `${pip}-mgmt` },
                },
              },
            }
          : {}),
        networkRuleCollections:
          rules.length === 0
            ? []
            : [
                {
                  name: "allow-activation",
                  properties: {
                    priority: 200,
                    action: { type: "Allow" },
                    rules: rules.map((r) => ({
                      name: r.name,
                      protocols: r.protocols ?? ["TCP"],
                      sourceAddresses: r.sourceAddresses ?? ["*"],
                      destinationAddresses: r.destinationAddresses ?? [],
                      destinationFqdns: r.destinationFqdns ?? [],
                      destinationPorts: r.destinationPorts,
                    })),
                  },
                },
              ],
        applicationRuleCollections: [],
      },
    });
    this.rows.push({
      id: pip,
      name: `${name}-pip`,
      type: "microsoft.network/publicipaddresses",
      location: "westeurope",
      properties: { ipAddress: "20.50.1.9", publicIPAllocationMethod: "Static" },
    });
    return id;
  }

  /**
   * A hub VNet "vnet-fw-hub" whose Azure Firewall (HUB_FIREWALL_IP) allows TCP 1688 and 443 to
   * anywhere. forcedTunnel: the firewall is in forced-tunnel mode and AzureFirewallSubnet's route
   * table sends 0.0.0.0/0 to the hub's VPN gateway, so what the firewall lets through goes
   * on-premises (firewall/forced-tunneling). Otherwise it egresses directly with its public IP.
   * Spokes reach HUB_FIREWALL_IP through a peering to the returned VNet ID (useRemoteGateways
   * false, so they learn no gateway routes).
   */
  hubFirewall(options: { forcedTunnel?: boolean } = {}): string {
    const name = "vnet-fw-hub";
    const rt = options.forcedTunnel
      ? this.routeTable("rt-fw-forced-tunnel", [
          ["0.0.0.0/0", "VirtualNetworkGateway", "default-to-onprem"],
        ])
      : undefined;
    const subnets: SubnetSpec[] = [
      { name: "AzureFirewallSubnet", addressPrefix: "10.100.1.0/26", routeTable: rt },
    ];
    if (options.forcedTunnel)
      subnets.push({ name: "AzureFirewallManagementSubnet", addressPrefix: "10.100.1.64/26" });
    const vnetId = this.vnet(name, subnets, {
      addressPrefixes: ["10.100.0.0/16"],
      gateway: options.forcedTunnel === true,
      gatewayType: "Vpn",
    });
    this.firewall("azfw-hub", `${vnetId}/subnets/AzureFirewallSubnet`, HUB_FIREWALL_IP, {
      forcedTunnel: options.forcedTunnel === true,
      allow: [
        {
          name: "allow-kms",
          destinationAddresses: ["*"],
          destinationPorts: ["1688"],
        },
        {
          name: "allow-https",
          destinationAddresses: ["*"],
          destinationPorts: ["443"],
        },
      ],
    });
    return vnetId;
  }

  /**
   * A VM with one NIC in `subnetId`. os: "Windows" or "Linux" (osDisk.osType), or an image
   * ("RHEL": publisher RedHat pay-as-you-go; "RHEL-BYOS": a BYOS offer). Returns the NIC's ID.
   */
  vm(
    name: string,
    subnetId: string,
    os: "Windows" | "Linux" | "RHEL" | "RHEL-BYOS",
    options: { privateIp?: string; publicIp?: boolean } = {},
  ): string {
    const nic = this.rid("rg-app", "Microsoft.Network/networkInterfaces", `${name}-nic`);
    const vm = this.rid("rg-app", "Microsoft.Compute/virtualMachines", name);
    this.rows.push({
      id: nic,
      name: `${name}-nic`,
      type: "microsoft.network/networkinterfaces",
      location: "westeurope",
      properties: {
        virtualMachine: { id: vm },
        ipConfigurations: [
          {
            name: "ipconfig1",
            properties: {
              subnet: { id: subnetId },
              ...(options.privateIp ? { privateIPAddress: options.privateIp } : {}),
              ...(options.publicIp
                ? {
                    publicIPAddress: {
                      id: this.rid("rg-app", "Microsoft.Network/publicIPAddresses", `${name}-pip`),
                    },
                  }
                : {}),
            },
          },
        ],
      },
    });
    const rhel = os === "RHEL" || os === "RHEL-BYOS";
    this.rows.push({
      id: vm,
      name,
      type: "microsoft.compute/virtualmachines",
      location: "westeurope",
      properties: {
        storageProfile: {
          osDisk: { osType: os === "Windows" ? "Windows" : "Linux" },
          ...(rhel
            ? {
                imageReference: {
                  publisher: "RedHat",
                  offer: os === "RHEL" ? "RHEL" : "rhel-byos",
                  sku: "9-lvm-gen2",
                  version: "latest",
                },
              }
            : {}),
        },
        networkProfile: { networkInterfaces: [{ id: nic }] },
      },
    });
    return nic;
  }

  add(...rows: ArmRow[]): this {
    this.rows.push(...rows);
    return this;
  }
}

export interface AuditHelperOptions {
  cloud?: CloudName;
  serviceTags?: ServiceTagIndex;
  forcedSets?: readonly string[];
}

/** The findings and run warnings of the pure audit over `rows`, with the cloud's endpoints. */
export function auditResult(rows: ArmRow[], options: AuditHelperOptions = {}): AuditResult {
  const endpoints = flattenEndpoints(endpointSetsFor(options.cloud ?? "AzureCloud"));
  return auditInventory(buildInventory(rows), {
    endpoints,
    serviceTags: options.serviceTags,
    forcedSets: options.forcedSets,
  });
}

/** The findings of the pure audit over `rows` (auditResult without the warnings). */
export function audit(rows: ArmRow[], options: AuditHelperOptions = {}): Finding[] {
  return auditResult(rows, options).findings;
}

export function findingFor(findings: Finding[], subnetName: string): Finding {
  const matches = findings.filter((f) => f.subnetName === subnetName);
  if (matches.length !== 1)
    throw new Error(`expected one finding for ${subnetName}, got ${matches.length}`);
  return matches[0]!;
}

/**
 * A one-subnet estate: the subnet "snet" with a route table of the given routes. hubFirewall adds
 * EstateBuilder.hubFirewall() (its subnets are NotApplicable) and peers "vnet" with it, so routes
 * to HUB_FIREWALL_IP reach that firewall.
 */
export function singleSubnet(
  routes: RouteSpec[] | null,
  options: {
    gatewayInVnet?: boolean;
    disableBgpRoutePropagation?: boolean;
    tags?: Record<string, string>;
    hubFirewall?: "forcedTunnel" | "directEgress";
  } = {},
): ArmRow[] {
  const b = new EstateBuilder();
  const hub = options.hubFirewall
    ? b.hubFirewall({ forcedTunnel: options.hubFirewall === "forcedTunnel" })
    : undefined;
  const rt = routes ? b.routeTable("rt", routes, options) : undefined;
  b.vnet("vnet", [{ name: "snet", ...(rt ? { routeTable: rt } : {}) }], {
    gateway: options.gatewayInVnet ?? false,
    peerings: hub ? [{ remote: hub, useRemoteGateways: false }] : [],
  });
  return b.rows;
}
