import type { ArmRow } from "../inventory/arm-row.js";
import { FACT_TYPES } from "../inventory/records/facts.js";
import { keyOf } from "../inventory/resource-id.js";
import type { LearnedRoutesRead } from "../inventory/types.js";
import {
  createNetworkClients,
  type ArmNetworkOptions,
  type NetworkClients,
} from "../azure/network-client.js";
import {
  readChildren,
  readConnectionRoutes,
  readEffectiveRoutes,
  readLearnedRoutes,
  readPeerRoutes,
  type ReadContext,
} from "./read-routes.js";
import {
  learnedSourcesInDoubt,
  listsToRead,
  networkInterfaceFor,
  type FactFailure,
  type FactsStage,
} from "./fact-needs.js";

export type { FactFailure, FactsContext, FactsStage } from "./fact-needs.js";

/**
 * The facts stage (DESIGN.md section 4): what Resource Graph cannot show and that can change a
 * verdict, read through ARM before the audit and added to the inventory, so the audit judges once.
 * It asks the inventory (and a preliminary, pure audit) which facts could decide a subnet, reads
 * only those, a few at a time within per-run budgets, and returns what it could not read. A fact
 * that could not be read stays unknown: the subnets that depend on it stay Unverified, and the run
 * is incomplete only where a verdict depended on it (factErrors).
 */
export interface FactsOptions {
  /**
   * Read what Resource Graph does not hold: hub virtual network connections, routing intents and
   * Route Server peers of the hubs in scope, rule collection groups a policy names but Resource
   * Graph did not return (Reader can). Default true.
   */
  resources?: boolean;
  /**
   * Read learned routes where a subnet's verdict depends on them: VNet gateways, Route Server BGP
   * peers, Virtual WAN hub connections' effective routes (--confirm-gateway-routes; needs the
   * actions of infra/roles/kms-route-audit-confirm.json).
   */
  learnedRoutes: boolean;
  /** Read one VM NIC's effective routes per subnet still Unverified (opt-in, budgeted). */
  effectiveRoutes: boolean;
  budgets?: Partial<FactBudgets>;
  network: ArmNetworkOptions;
  /** Injectable for tests; default: createNetworkClients(network). */
  clients?: NetworkClients;
}

export interface FactBudgets {
  /** Lists (hub connections, routing intents, peers, rule collection groups). */
  lists: number;
  gateways: number;
  peers: number;
  connections: number;
  networkInterfaces: number;
}

const DEFAULT_BUDGETS: FactBudgets = {
  lists: 200,
  gateways: 100,
  peers: 100,
  connections: 200,
  networkInterfaces: 50,
};

/** A facts stage that reads through the real NetworkManagementClient. */
export function createFactsStage(options: FactsOptions): FactsStage {
  return async (inventory, context) => {
    const resources = options.resources ?? true;
    if (!resources && !options.learnedRoutes && !options.effectiveRoutes) return [];
    const budgets = { ...DEFAULT_BUDGETS, ...options.budgets };
    const clients = options.clients ?? createNetworkClients(options.network);
    const ctx: ReadContext = {
      clients,
      options: options.network,
      logger: context.logger,
      signal: context.signal,
    };
    const failures: FactFailure[] = [];
    const budgeted = <T>(
      items: T[],
      [budget, noun]: [number, string],
      label: string,
      targetOf: (t: T) => string,
      code: string,
      kind: FactFailure["kind"],
    ) => {
      const read = items.slice(0, budget);
      if (items.length > read.length) {
        context.logger.warn(
          { budget, skipped: items.length - read.length },
          `${label}: budget reached`,
        );
        for (const t of items.slice(budget))
          failures.push({
            code,
            kind,
            target: targetOf(t),
            message: `${label} of ${targetOf(t)} not read: the run's budget of ${budget} ${noun} was reached`,
          });
      }
      return read;
    };

    if (resources) {
      const lists = budgeted(
        listsToRead(inventory),
        [budgets.lists, "lists"],
        "child resources",
        (l) => l.id,
        "FACT_NOT_READABLE",
        "list",
      );
      if (lists.length > 0) {
        context.logger.info({ lists: lists.length }, "reading what Resource Graph does not hold");
        const reads = await readChildren(lists, ctx);
        const rows: ArmRow[] = [];
        for (const list of lists) {
          const read = reads.get(`${keyOf(list.id)}|${list.list}`);
          if (!read) continue;
          if (read.ok) rows.push(...read.value);
          else
            failures.push({
              code: "FACT_NOT_READABLE",
              kind: "list",
              target: list.id,
              message: `${list.list} of ${list.id} could not be read: ${read.message}`,
            });
        }
        context.addFacts(rows);
      }
    }

    if (options.learnedRoutes) {
      const sources = learnedSourcesInDoubt(inventory, context.audit(inventory));
      const gateways = budgeted(
        sources.gateways,
        [budgets.gateways, "gateways"],
        "gateway learned routes",
        (id) => id,
        "GATEWAY_ROUTES_UNREADABLE",
        "learned",
      );
      const peers = budgeted(
        sources.peers,
        [budgets.peers, "Route Server peers"],
        "Route Server peer routes",
        (id) => id,
        "ROUTE_SERVER_ROUTES_UNREADABLE",
        "learned",
      );
      const connections = budgeted(
        sources.connections,
        [budgets.connections, "hub connections"],
        "hub connection effective routes",
        (id) => id,
        "VIRTUAL_HUB_ROUTES_UNREADABLE",
        "learned",
      );
      context.logger.info(
        { gateways: gateways.length, peers: peers.length, connections: connections.length },
        "reading learned routes",
      );
      const [g, p, c] = await Promise.all([
        readLearnedRoutes(gateways, ctx),
        readPeerRoutes(peers, ctx),
        readConnectionRoutes(connections, ctx),
      ]);
      const rows: ArmRow[] = [];
      const add = (
        reads: Map<string, LearnedRoutesRead>,
        ids: string[],
        type: string,
        suffix: string,
        code: string,
        what: string,
      ) => {
        for (const id of ids) {
          const read = reads.get(keyOf(id));
          if (!read) continue;
          rows.push(factRow(id, type, suffix, read));
          if (!read.ok)
            failures.push({
              code,
              kind: "learned",
              target: id,
              message: `${what} of ${id} could not be read: ${read.message}`,
            });
        }
      };
      add(
        g,
        gateways,
        FACT_TYPES.gatewayLearnedRoutes,
        "learnedRoutes",
        "GATEWAY_ROUTES_UNREADABLE",
        "learned routes of gateway",
      );
      add(
        p,
        peers,
        FACT_TYPES.bgpLearnedRoutes,
        "learnedRoutes",
        "ROUTE_SERVER_ROUTES_UNREADABLE",
        "learned routes of Route Server peer",
      );
      add(
        c,
        connections,
        FACT_TYPES.connectionEffectiveRoutes,
        "effectiveRoutes",
        "VIRTUAL_HUB_ROUTES_UNREADABLE",
        "effective routes of hub connection",
      );
      context.addFacts(rows);
    }

    if (options.effectiveRoutes) {
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
      const targets = candidates.slice(0, budgets.networkInterfaces);
      if (candidates.length > targets.length)
        context.logger.warn(
          { budget: budgets.networkInterfaces, skipped: candidates.length - targets.length },
          "effective routes: NIC budget reached; the remaining subnets stay Unverified",
        );
      const reads = await readEffectiveRoutes(targets, ctx);
      for (const [subnetKey, read] of reads) {
        inventory.effectiveRoutes.set(subnetKey, read);
        if (!read.ok)
          failures.push({
            code: "EFFECTIVE_ROUTES_UNREADABLE",
            kind: "effective",
            target: read.networkInterfaceId,
            message: `effective routes of ${read.networkInterfaceId} could not be read: ${read.message}`,
          });
      }
    }
    return failures;
  };
}

/** A fact as the estate row an export would carry (src/inventory/records/facts.ts). */
function factRow(ownerId: string, type: string, suffix: string, read: LearnedRoutesRead): ArmRow {
  return {
    id: `${ownerId}/${suffix}`,
    type,
    properties: read.ok
      ? {
          value: read.routes.map((r) =>
            type === FACT_TYPES.connectionEffectiveRoutes
              ? {
                  addressPrefixes: [r.addressPrefix],
                  nextHops: r.nextHop ? [r.nextHop] : [],
                  nextHopType: r.nextHopType,
                  routeOrigin: r.origin,
                  asPath: r.asPath,
                }
              : {
                  network: r.addressPrefix,
                  nextHop: r.nextHop,
                  sourcePeer: r.sourcePeer,
                  origin: r.origin,
                  asPath: r.asPath,
                },
          ),
        }
      : { error: read.message },
  };
}
