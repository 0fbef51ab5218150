import { flattenEndpoints, endpointSetsFor } from "../../src/catalog/endpoints.js";
import type { ServiceTagIndex } from "../../src/catalog/service-tags.js";
import { auditInventory } from "../../src/audit/audit.js";
import type { ArmRow } from "../../src/inventory/arm-row.js";
import { buildInventory } from "../../src/inventory/inventory.js";
import type { CloudName, Finding } from "../../src/model.js";

export const SUB = "0f1e2d3c-4b5a-4969-8877-665544332211";
export const HUB_SUB = "a1b2c3d4-e5f6-4a5b-9c8d-7e6f5a4b3c2d";
export const KMS = ["20.118.99.224", "40.83.235.53", "23.102.135.246"] as const;

/** [addressPrefix, nextHopType, name?] */
export type RouteSpec = [prefix: unknown, nextHopType: string | null, name?: string];

export interface SubnetSpec {
  name: string;
  routeTable?: string;
}

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
        routes: routes.map(([prefix, hop, routeName], i) => ({
          name: routeName ?? `route-${i}`,
          properties: { addressPrefix: prefix, ...(hop === null ? {} : { nextHopType: hop }) },
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
        subnets: allSubnets.map((s) => ({
          id: `${id}/subnets/${s.name}`,
          name: s.name,
          properties: s.routeTable ? { routeTable: { id: s.routeTable } } : {},
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
          gatewayType: "ExpressRoute",
          ipConfigurations: [
            { name: "default", properties: { subnet: { id: `${id}/subnets/GatewaySubnet` } } },
          ],
        },
      });
    }
    return id;
  }

  add(...rows: ArmRow[]): this {
    this.rows.push(...rows);
    return this;
  }
}

export function audit(
  rows: ArmRow[],
  options: { cloud?: CloudName; serviceTags?: ServiceTagIndex } = {},
): Finding[] {
  const endpoints = flattenEndpoints(endpointSetsFor(options.cloud ?? "AzureCloud"));
  return auditInventory(buildInventory(rows), { endpoints, serviceTags: options.serviceTags });
}

export function findingFor(findings: Finding[], subnetName: string): Finding {
  const matches = findings.filter((f) => f.subnetName === subnetName);
  if (matches.length !== 1)
    throw new Error(`expected one finding for ${subnetName}, got ${matches.length}`);
  return matches[0]!;
}

/** A one-subnet estate: the subnet "snet" with a route table of the given routes. */
export function singleSubnet(
  routes: RouteSpec[] | null,
  options: {
    gatewayInVnet?: boolean;
    disableBgpRoutePropagation?: boolean;
    tags?: Record<string, string>;
  } = {},
): ArmRow[] {
  const b = new EstateBuilder();
  const rt = routes ? b.routeTable("rt", routes, options) : undefined;
  b.vnet("vnet", [{ name: "snet", ...(rt ? { routeTable: rt } : {}) }], {
    gateway: options.gatewayInVnet ?? false,
  });
  return b.rows;
}
