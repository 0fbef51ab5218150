import type { Inventory } from "../inventory/types.js";
import { keyOf } from "../inventory/resource-id.js";
import { isPlatformSubnet } from "../audit/not-applicable.js";
import type { Logger } from "../logging/logger.js";
import type { Finding, RunError } from "../model.js";
import {
  createNetworkClients,
  type ArmNetworkOptions,
  type NetworkClients,
} from "../confirm/network-client.js";
import { readEffectiveRoutes, readLearnedRoutes } from "./read-routes.js";

/**
 * The facts stage (DESIGN.md section 4): what Resource Graph cannot show and that can change a
 * verdict, read through ARM before the audit and added to the inventory, so the audit judges once.
 * Anything that cannot be read stays unknown (the subnets that depend on it stay Unverified) and is
 * a run error: the user asked for the fact and did not get it.
 */
export interface FactsOptions {
  /** Read the learned routes of the VNet gateways that subnets learn routes from. */
  gatewayRoutes: boolean;
  /** Read one VM NIC's effective routes per subnet still Unverified (opt-in, budgeted). */
  effectiveRoutes: boolean;
  /** Most gateways one run reads; default 100. */
  maxGateways?: number;
  /** Most NICs whose effective routes one run reads; default 50. */
  maxNetworkInterfaces?: number;
  network: ArmNetworkOptions;
  /** Injectable for tests; default: createNetworkClients(network). */
  clients?: NetworkClients;
}

export interface FactsContext {
  logger: Logger;
  signal?: AbortSignal;
  /** The pure audit, to find the subnets still in doubt (effective routes are read only for them). */
  audit(inventory: Inventory): Finding[];
}

export type FactsStage = (inventory: Inventory, context: FactsContext) => Promise<RunError[]>;

const DEFAULT_MAX_GATEWAYS = 100;
const DEFAULT_MAX_NETWORK_INTERFACES = 50;

/** A facts stage that reads through the real NetworkManagementClient. */
export function createFactsStage(options: FactsOptions): FactsStage {
  return async (inventory, context) => {
    if (!options.gatewayRoutes && !options.effectiveRoutes) return [];
    const clients = options.clients ?? createNetworkClients(options.network);
    const ctx = {
      clients,
      options: options.network,
      logger: context.logger,
      signal: context.signal,
    };
    const errors: RunError[] = [];
    if (options.gatewayRoutes) {
      const all = gatewaysToRead(inventory);
      const budget = options.maxGateways ?? DEFAULT_MAX_GATEWAYS;
      const ids = all.slice(0, budget);
      if (all.length > ids.length) {
        context.logger.warn(
          { budget, skipped: all.length - ids.length },
          "gateway routes: budget reached",
        );
        for (const id of all.slice(budget))
          errors.push({
            code: "GATEWAY_ROUTES_UNREADABLE",
            target: id,
            message: `learned routes of gateway ${id} were not read: the run's budget of ${budget} gateways was reached`,
          });
      }
      context.logger.info({ gateways: ids.length }, "reading gateway learned routes");
      const reads = await readLearnedRoutes(ids, ctx);
      for (const id of ids) {
        const read = reads.get(keyOf(id));
        if (!read) continue;
        inventory.learnedRoutes.set(keyOf(id), read);
        if (!read.ok)
          errors.push({
            code: "GATEWAY_ROUTES_UNREADABLE",
            message: `learned routes of gateway ${id} could not be read: ${read.message}`,
            target: id,
          });
      }
    }
    if (options.effectiveRoutes) {
      const budget = options.maxNetworkInterfaces ?? DEFAULT_MAX_NETWORK_INTERFACES;
      const doubtful = context.audit(inventory).filter((f) => f.status === "Unverified");
      const candidates = doubtful
        .filter((f) => !inventory.effectiveRoutes.has(keyOf(f.subnetId)))
        .map((f) => ({
          subnetId: f.subnetId,
          networkInterfaceId: networkInterfaceFor(inventory, f.subnetId),
        }))
        .filter(
          (t): t is { subnetId: string; networkInterfaceId: string } =>
            t.networkInterfaceId !== null,
        );
      const targets = candidates.slice(0, budget);
      if (candidates.length > targets.length)
        context.logger.warn(
          { budget, skipped: candidates.length - targets.length },
          "effective routes: NIC budget reached; the remaining subnets stay Unverified",
        );
      const reads = await readEffectiveRoutes(targets, ctx);
      for (const [subnetKey, read] of reads) {
        inventory.effectiveRoutes.set(subnetKey, read);
        if (!read.ok)
          errors.push({
            code: "EFFECTIVE_ROUTES_UNREADABLE",
            message: `effective routes of ${read.networkInterfaceId} could not be read: ${read.message}`,
            target: read.networkInterfaceId,
          });
      }
    }
    return errors;
  };
}

/**
 * The gateways whose learned routes can change a verdict: those of every VNet with a subnet that
 * can host VMs and learns routes (its route table does not disable propagation), directly or
 * through a useRemoteGateways peering. Each once (first spelling), sorted.
 */
export function gatewaysToRead(inventory: Inventory): string[] {
  const byKey = new Map<string, string>();
  const vnets = new Set<string>();
  for (const subnet of inventory.subnets.values()) {
    if (isPlatformSubnet(subnet.name) && subnet.name.toLowerCase() !== "azurefirewallsubnet")
      continue;
    const table = subnet.routeTableId
      ? inventory.routeTables.get(keyOf(subnet.routeTableId))
      : undefined;
    if (table?.disableBgpRoutePropagation) continue;
    vnets.add(keyOf(subnet.virtualNetworkId));
  }
  const add = (vnetKey: string) => {
    for (const id of inventory.gatewaysByVirtualNetwork.get(vnetKey) ?? [])
      if (!byKey.has(keyOf(id))) byKey.set(keyOf(id), id);
  };
  for (const vnetKey of vnets) {
    add(vnetKey);
    for (const p of inventory.virtualNetworks.get(vnetKey)?.peerings ?? [])
      if (p.useRemoteGateways && p.remoteVirtualNetworkKey) add(p.remoteVirtualNetworkKey);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, id]) => id);
}

/** The NIC whose effective routes stand for a subnet: the first VM-attached one, by ID. */
export function networkInterfaceFor(inventory: Inventory, subnetId: string): string | null {
  const nics = inventory.vmNicsBySubnet.get(keyOf(subnetId)) ?? [];
  return [...nics].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))[0] ?? null;
}
