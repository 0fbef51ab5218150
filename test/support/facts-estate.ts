/**
 * Hub-and-spoke estates for the facts tests (learned and effective routes), and the facts rows an
 * offline estate carries for what the facts stage reads live (src/inventory/records/facts.ts).
 */
import type { ArmRow } from "../../src/inventory/arm-row.js";
import { FACT_TYPES } from "../../src/inventory/records/facts.js";
import { EstateBuilder, SUB, type RouteSpec } from "./estate-builder.js";

/** The ExpressRoute gateway of the facts tests' hub VNet (EstateBuilder, gateway: true). */
export const HUB_GW = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworkGateways/hub-gw`;

/**
 * Hub VNet "hub" with an ExpressRoute gateway (HUB_GW); spokes "spoke1" and "spoke2" (subnets
 * snet-spoke1, snet-spoke2) use it through useRemoteGateways peerings.
 * - hubSubnet: the hub also has a workload subnet "snet-hub" (default: only its GatewaySubnet).
 * - spokeRoutes: both spoke subnets use one route table "rt-spoke" with these routes (default: no
 *   route table).
 * - disableBgpRoutePropagation: on rt-spoke.
 */
export function hubAndSpokes(
  options: {
    hubSubnet?: boolean;
    spokeRoutes?: RouteSpec[] | null;
    disableBgpRoutePropagation?: boolean;
  } = {},
): ArmRow[] {
  const b = new EstateBuilder();
  const hub = b.vnet("hub", options.hubSubnet ? [{ name: "snet-hub" }] : [], { gateway: true });
  const rt = options.spokeRoutes
    ? b.routeTable("rt-spoke", options.spokeRoutes, {
        disableBgpRoutePropagation: options.disableBgpRoutePropagation ?? false,
      })
    : undefined;
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

/** One GatewayRoute as `az network vnet-gateway list-learned-routes` prints it. */
export interface GatewayRoute {
  network: string;
  nextHop?: string;
  sourcePeer?: string;
  origin?: string;
  asPath?: string;
  weight?: number;
  localAddress?: string;
}

/**
 * A gateway's learned routes as a facts row (id `<gateway id>/learnedRoutes`); `{ error }` says
 * the read failed (the gateway's routes stay unknown).
 */
export function learnedRoutesRow(
  gatewayId: string,
  routes: GatewayRoute[] | { error: string },
): ArmRow {
  return {
    id: `${gatewayId}/learnedRoutes`,
    type: FACT_TYPES.gatewayLearnedRoutes,
    properties: Array.isArray(routes) ? { value: routes } : { error: routes.error },
  };
}

/** One EffectiveRoute as `az network nic show-effective-route-table` prints it. */
export interface EffectiveRoute {
  name?: string | null;
  source: string;
  state: string;
  addressPrefix: string[];
  nextHopType: string;
  nextHopIpAddress?: string[];
}

/** A NIC's effective route table as a facts row (id `<nic id>/effectiveRouteTable`). */
export function effectiveRoutesRow(
  nicId: string,
  routes: EffectiveRoute[] | { error: string },
): ArmRow {
  return {
    id: `${nicId}/effectiveRouteTable`,
    type: FACT_TYPES.nicEffectiveRoutes,
    properties: Array.isArray(routes) ? { value: routes } : { error: routes.error },
  };
}

/**
 * A spoke NIC's effective routes where the gateway's learned 0.0.0.0/0 overrides the system
 * default (Invalid) and the VNet's own prefix stays VnetLocal.
 */
export const TUNNELLED_EFFECTIVE_ROUTES: EffectiveRoute[] = [
  {
    source: "Default",
    state: "Invalid",
    addressPrefix: ["0.0.0.0/0"],
    nextHopType: "Internet",
    nextHopIpAddress: [],
  },
  {
    source: "VirtualNetworkGateway",
    state: "Active",
    addressPrefix: ["0.0.0.0/0"],
    nextHopType: "VirtualNetworkGateway",
    nextHopIpAddress: ["10.0.0.12"],
  },
  {
    source: "Default",
    state: "Active",
    addressPrefix: ["10.1.0.0/16"],
    nextHopType: "VnetLocal",
    nextHopIpAddress: [],
  },
];
