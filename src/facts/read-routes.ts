import { callSignal } from "../call-signal.js";
import type {
  EffectiveRoutesRead,
  LearnedRouteFact,
  LearnedRoutesRead,
} from "../inventory/types.js";
import { keyOf, nameOf, parseResourceId } from "../inventory/resource-id.js";
import type { Logger } from "../logging/logger.js";
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_REQUEST_TIMEOUT_IN_MS,
  describeArmError,
  mapWithConcurrency,
  type ArmNetworkOptions,
  type NetworkClients,
} from "../confirm/network-client.js";

export interface ReadContext {
  clients: NetworkClients;
  options: ArmNetworkOptions;
  logger: Logger;
  signal?: AbortSignal;
}

function scopeOf(id: string) {
  const { subscriptionId, resourceGroup } = parseResourceId(id);
  if (!subscriptionId || !resourceGroup) throw new Error(`"${id}" is not a resource ID`);
  return { subscriptionId, resourceGroup, name: nameOf(id) };
}

const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);

/**
 * Reads the learned routes of each gateway once (virtualNetworkGateways.getLearnedRoutes, a
 * long-running POST polled through Location / Azure-AsyncOperation), a few at a time, each within
 * the per-call timeout. A gateway that cannot be read is returned as { ok: false }, never thrown.
 * Keyed by lower-cased gateway ID.
 */
export async function readLearnedRoutes(
  gatewayIds: readonly string[],
  ctx: ReadContext,
): Promise<Map<string, LearnedRoutesRead>> {
  const timeoutInMs = ctx.options.requestTimeoutInMs ?? DEFAULT_REQUEST_TIMEOUT_IN_MS;
  const reads = await mapWithConcurrency(
    gatewayIds,
    ctx.options.concurrency ?? DEFAULT_CONCURRENCY,
    async (id) => {
      const started = Date.now();
      const { timeout, abortSignal } = callSignal(timeoutInMs, ctx.signal);
      try {
        const { subscriptionId, resourceGroup, name } = scopeOf(id);
        const result = await ctx
          .clients(subscriptionId)
          .virtualNetworkGateways.getLearnedRoutes(resourceGroup, name, {
            abortSignal,
            updateIntervalInMs: ctx.options.pollIntervalInMs,
          });
        const routes: LearnedRouteFact[] = (result.value ?? []).flatMap((r) =>
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
        ctx.logger.info(
          { gatewayId: id, routes: routes.length, durationMs: Date.now() - started },
          "gateway learned routes read",
        );
        return [keyOf(id), { ok: true, routes }] as const;
      } catch (error) {
        if (ctx.signal?.aborted) throw error;
        const message = describeArmError(error, timeout.aborted, timeoutInMs);
        ctx.logger.warn({ gatewayId: id, message }, "gateway learned routes not readable");
        return [keyOf(id), { ok: false, message }] as const;
      }
    },
  );
  return new Map<string, LearnedRoutesRead>(reads);
}

/**
 * Reads the effective route table of one NIC per subnet (networkInterfaces.getEffectiveRouteTable,
 * long-running; the VM must be running), a few at a time. Keyed by lower-cased subnet ID.
 */
export async function readEffectiveRoutes(
  targets: readonly { subnetId: string; networkInterfaceId: string }[],
  ctx: ReadContext,
): Promise<Map<string, EffectiveRoutesRead>> {
  const timeoutInMs = ctx.options.requestTimeoutInMs ?? DEFAULT_REQUEST_TIMEOUT_IN_MS;
  const reads = await mapWithConcurrency(
    targets,
    ctx.options.concurrency ?? DEFAULT_CONCURRENCY,
    async (t) => {
      const { timeout, abortSignal } = callSignal(timeoutInMs, ctx.signal);
      try {
        const { subscriptionId, resourceGroup, name } = scopeOf(t.networkInterfaceId);
        const result = await ctx
          .clients(subscriptionId)
          .networkInterfaces.getEffectiveRouteTable(resourceGroup, name, {
            abortSignal,
            updateIntervalInMs: ctx.options.pollIntervalInMs,
          });
        const routes = (result.value ?? []).map((r) => ({
          name: text(r.name),
          source: text(r.source),
          state: text(r.state),
          addressPrefixes: (r.addressPrefix ?? []).filter(
            (p): p is string => typeof p === "string",
          ),
          nextHopType: text(r.nextHopType),
          nextHopIp:
            (r.nextHopIpAddress ?? []).find(
              (p): p is string => typeof p === "string" && p !== "",
            ) ?? null,
        }));
        return [
          keyOf(t.subnetId),
          { ok: true, networkInterfaceId: t.networkInterfaceId, routes },
        ] as const;
      } catch (error) {
        if (ctx.signal?.aborted) throw error;
        const message = describeArmError(error, timeout.aborted, timeoutInMs);
        ctx.logger.warn(
          { networkInterfaceId: t.networkInterfaceId, message },
          "effective routes not readable",
        );
        return [
          keyOf(t.subnetId),
          { ok: false, networkInterfaceId: t.networkInterfaceId, message },
        ] as const;
      }
    },
  );
  return new Map<string, EffectiveRoutesRead>(reads);
}
