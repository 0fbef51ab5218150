import { callSignal } from "../call-signal.js";
import type { ArmRow } from "../inventory/arm-row.js";
import type {
  EffectiveRoutesRead,
  LearnedRouteFact,
  LearnedRoutesRead,
} from "../inventory/types.js";
import { keyOf, nameOf, parentOfChild, parseResourceId } from "../inventory/resource-id.js";
import type { Logger } from "../logging/logger.js";
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_REQUEST_TIMEOUT_IN_MS,
  describeArmError,
  mapWithConcurrency,
  type ArmNetworkOptions,
  type NetworkClients,
} from "../azure/network-client.js";

/**
 * The facts the audit reads through ARM with the real NetworkManagementClient: learned routes
 * (VNet gateways, Route Server peers), effective routes (Virtual WAN hub connections, NICs), and
 * what Resource Graph does not hold (hub connections, routing intents, rule collection groups).
 * A few calls in flight at once, each within the per-call timeout (long-running polling included);
 * a fact that cannot be read is returned as { ok: false, message }, never thrown (a caller's abort
 * is).
 */
export interface ReadContext {
  clients: NetworkClients;
  options: ArmNetworkOptions;
  logger: Logger;
  signal?: AbortSignal;
}

export type Read<T> = { ok: true; value: T } | { ok: false; message: string };

function scopeOf(id: string) {
  const { subscriptionId, resourceGroup } = parseResourceId(id);
  if (!subscriptionId || !resourceGroup) throw new Error(`"${id}" is not a resource ID`);
  return { subscriptionId, resourceGroup, name: nameOf(id) };
}

const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);

/** Each item read once, a few at a time, each within the timeout; keyed by the item's key. */
async function readEach<T, R>(
  items: readonly T[],
  ctx: ReadContext,
  what: string,
  keyOfItem: (item: T) => string,
  read: (item: T, call: { abortSignal: AbortSignal; updateIntervalInMs?: number }) => Promise<R>,
): Promise<Map<string, Read<R>>> {
  const timeoutInMs = ctx.options.requestTimeoutInMs ?? DEFAULT_REQUEST_TIMEOUT_IN_MS;
  const reads = await mapWithConcurrency(
    items,
    ctx.options.concurrency ?? DEFAULT_CONCURRENCY,
    async (item): Promise<[string, Read<R>]> => {
      const { timeout, abortSignal } = callSignal(timeoutInMs, ctx.signal);
      const key = keyOfItem(item);
      try {
        const value = await read(item, {
          abortSignal,
          updateIntervalInMs: ctx.options.pollIntervalInMs,
        });
        ctx.logger.debug({ fact: what, target: key }, "fact read");
        return [key, { ok: true, value }];
      } catch (error) {
        if (ctx.signal?.aborted) throw error;
        const message = describeArmError(error, timeout.aborted, timeoutInMs);
        ctx.logger.warn({ fact: what, target: key, message }, "fact not readable");
        return [key, { ok: false, message }];
      }
    },
  );
  return new Map(reads);
}

function asLearned(read: Read<LearnedRouteFact[]>): LearnedRoutesRead {
  return read.ok ? { ok: true, routes: read.value } : read;
}

/** virtualNetworkGateways.getLearnedRoutes per gateway. Keyed by lower-cased gateway ID. */
export async function readLearnedRoutes(
  gatewayIds: readonly string[],
  ctx: ReadContext,
): Promise<Map<string, LearnedRoutesRead>> {
  const reads = await readEach(
    gatewayIds,
    ctx,
    "gateway learned routes",
    keyOf,
    async (id, call) => {
      const { subscriptionId, resourceGroup, name } = scopeOf(id);
      const result = await ctx
        .clients(subscriptionId)
        .virtualNetworkGateways.getLearnedRoutes(resourceGroup, name, call);
      return (result.value ?? []).flatMap((r): LearnedRouteFact[] =>
        typeof r.network === "string"
          ? [
              {
                addressPrefix: r.network,
                nextHop: text(r.nextHop),
                nextHopType: null,
                sourcePeer: text(r.sourcePeer),
                origin: text(r.origin),
                asPath: text(r.asPath),
              },
            ]
          : [],
      );
    },
  );
  return new Map([...reads].map(([k, r]) => [k, asLearned(r)]));
}

/**
 * virtualHubBgpConnections.listLearnedRoutes per Route Server peer: what the peer advertised to
 * each Route Server instance (RouteServiceRole_IN_0/1). Keyed by lower-cased BGP connection ID.
 */
export async function readPeerRoutes(
  connectionIds: readonly string[],
  ctx: ReadContext,
): Promise<Map<string, LearnedRoutesRead>> {
  const reads = await readEach(
    connectionIds,
    ctx,
    "Route Server peer learned routes",
    keyOf,
    async (id, call) => {
      const hubId = parentOfChild(id, "bgpConnections");
      if (!hubId) throw new Error(`"${id}" is not a virtual hub BGP connection ID`);
      const { subscriptionId, resourceGroup, name: hub } = scopeOf(hubId);
      const result = await ctx
        .clients(subscriptionId)
        .virtualHubBgpConnections.listLearnedRoutes(resourceGroup, hub, nameOf(id), call);
      const seen = new Set<string>();
      const routes: LearnedRouteFact[] = [];
      for (const list of Object.values(result))
        for (const r of list ?? []) {
          const network = text(r.network);
          if (!network || seen.has(`${network}|${r.nextHop}`)) continue;
          seen.add(`${network}|${r.nextHop}`);
          routes.push({
            addressPrefix: network,
            nextHop: text(r.nextHop),
            nextHopType: null,
            sourcePeer: text(r.sourcePeer),
            origin: text(r.origin),
            asPath: text(r.asPath),
          });
        }
      return routes;
    },
  );
  return new Map([...reads].map(([k, r]) => [k, asLearned(r)]));
}

/**
 * virtualHubs.getEffectiveVirtualHubRoutes for each hub virtual network connection: the routes the
 * hub programs on it (effective-routes-virtual-hub). Keyed by lower-cased connection ID.
 */
export async function readConnectionRoutes(
  connectionIds: readonly string[],
  ctx: ReadContext,
): Promise<Map<string, LearnedRoutesRead>> {
  const reads = await readEach(
    connectionIds,
    ctx,
    "hub connection effective routes",
    keyOf,
    async (id, call) => {
      const hubId = parentOfChild(id, "hubVirtualNetworkConnections");
      if (!hubId) throw new Error(`"${id}" is not a hub virtual network connection ID`);
      const { subscriptionId, resourceGroup, name: hub } = scopeOf(hubId);
      const result = await ctx
        .clients(subscriptionId)
        .virtualHubs.getEffectiveVirtualHubRoutes(resourceGroup, hub, {
          ...call,
          effectiveRoutesParameters: {
            resourceId: id,
            virtualWanResourceType: "HubVirtualNetworkConnection",
          },
        });
      return (result.value ?? []).flatMap((r): LearnedRouteFact[] =>
        (r.addressPrefixes ?? []).map((prefix) => ({
          addressPrefix: prefix,
          nextHop: r.nextHops?.[0] ?? null,
          nextHopType: text(r.nextHopType),
          origin: text(r.routeOrigin),
          asPath: text(r.asPath),
          sourcePeer: null,
        })),
      );
    },
  );
  return new Map([...reads].map(([k, r]) => [k, asLearned(r)]));
}

/**
 * networkInterfaces.getEffectiveRouteTable of one NIC per subnet (the VM must be running). Keyed
 * by lower-cased subnet ID.
 */
export async function readEffectiveRoutes(
  targets: readonly { subnetId: string; networkInterfaceId: string }[],
  ctx: ReadContext,
): Promise<Map<string, EffectiveRoutesRead>> {
  const reads = await readEach(
    targets,
    ctx,
    "NIC effective routes",
    (t) => keyOf(t.subnetId),
    async (t, call) => {
      const { subscriptionId, resourceGroup, name } = scopeOf(t.networkInterfaceId);
      const result = await ctx
        .clients(subscriptionId)
        .networkInterfaces.getEffectiveRouteTable(resourceGroup, name, call);
      return (result.value ?? []).map((r) => ({
        name: text(r.name),
        source: text(r.source),
        state: text(r.state),
        addressPrefixes: (r.addressPrefix ?? []).filter((p): p is string => typeof p === "string"),
        nextHopType: text(r.nextHopType),
        nextHopIp:
          (r.nextHopIpAddress ?? []).find((p): p is string => typeof p === "string" && p !== "") ??
          null,
      }));
    },
  );
  const out = new Map<string, EffectiveRoutesRead>();
  for (const t of targets) {
    const read = reads.get(keyOf(t.subnetId));
    if (!read) continue;
    out.set(
      keyOf(t.subnetId),
      read.ok
        ? { ok: true, networkInterfaceId: t.networkInterfaceId, routes: read.value }
        : { ok: false, networkInterfaceId: t.networkInterfaceId, message: read.message },
    );
  }
  return out;
}

/** SDK models flatten `properties`; estate rows keep ARM's nesting. */
function toRow(
  model: { id?: string; name?: string },
  type: string,
  properties: object,
): ArmRow | null {
  return model.id ? { id: model.id, name: model.name, type, properties } : null;
}

type ChildList =
  "hubVirtualNetworkConnections" | "routingIntent" | "bgpConnections" | "ruleCollectionGroups";

/**
 * What Resource Graph does not hold, listed through ARM as estate rows (the shapes an export
 * carries): a virtual hub's connections, routing intents and BGP peers; a firewall policy's rule
 * collection groups. Keyed by lower-cased parent ID and list.
 */
export async function readChildren(
  parents: readonly { id: string; list: ChildList }[],
  ctx: ReadContext,
): Promise<Map<string, Read<ArmRow[]>>> {
  return readEach(
    parents,
    ctx,
    "child resources",
    (p) => `${keyOf(p.id)}|${p.list}`,
    async ({ id, list }, { abortSignal }) => {
      const { subscriptionId, resourceGroup, name } = scopeOf(id);
      const client = ctx.clients(subscriptionId);
      const rows: ArmRow[] = [];
      const push = (row: ArmRow | null) => row && rows.push(row);
      switch (list) {
        case "hubVirtualNetworkConnections":
          for await (const c of client.hubVirtualNetworkConnections.list(resourceGroup, name, {
            abortSignal,
          }))
            push(
              toRow(c, "microsoft.network/virtualhubs/hubvirtualnetworkconnections", {
                remoteVirtualNetwork: c.remoteVirtualNetwork,
                enableInternetSecurity: c.enableInternetSecurity,
              }),
            );
          break;
        case "routingIntent":
          for await (const r of client.routingIntentOperations.list(resourceGroup, name, {
            abortSignal,
          }))
            push(
              toRow(r, "microsoft.network/virtualhubs/routingintent", {
                routingPolicies: r.routingPolicies,
              }),
            );
          break;
        case "bgpConnections":
          for await (const b of client.virtualHubBgpConnections.list(resourceGroup, name, {
            abortSignal,
          }))
            push(
              toRow(b, "microsoft.network/virtualhubs/bgpconnections", {
                peerIp: b.peerIp,
                peerAsn: b.peerAsn,
              }),
            );
          break;
        case "ruleCollectionGroups":
          for await (const g of client.firewallPolicyRuleCollectionGroups.list(
            resourceGroup,
            name,
            { abortSignal },
          ))
            push(
              toRow(g, "microsoft.network/firewallpolicies/rulecollectiongroups", {
                priority: g.priority,
                ruleCollections: g.ruleCollections,
              }),
            );
          break;
      }
      return rows;
    },
  );
}
