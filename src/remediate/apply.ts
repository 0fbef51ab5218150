import { callSignal } from "../call-signal.js";
import type { Route as ArmRoute } from "@azure/arm-network";
import type { Route } from "../inventory/inventory.js";
import { nameOf, parseResourceId } from "../inventory/resource-id.js";
import type { Logger } from "../logging/logger.js";
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_REQUEST_TIMEOUT_IN_MS,
  describeArmError,
  mapWithConcurrency,
  statusOf,
  type ArmNetworkOptions,
  type NetworkClients,
} from "../azure/network-client.js";
import { planRoute, planTable, type RouteChange, type TablePlanInput } from "./plan.js";

export interface ApplyContext {
  clients: NetworkClients;
  options: ArmNetworkOptions;
  logger: Logger;
  replaceConflicting: boolean;
  now?: () => Date;
  signal?: AbortSignal;
}

interface TableState {
  etag: string | null;
  routes: Route[];
}

function toRoutes(routes: ArmRoute[] | undefined): Route[] {
  return (routes ?? []).map((r) => ({
    name: r.name ?? "",
    addressPrefix: r.addressPrefix,
    nextHopType: r.nextHopType ?? null,
    nextHopIpAddress: r.nextHopIpAddress ?? null,
  }));
}

/**
 * Adds the missing KMS routes, table by table (tables a few at a time, one write at a time within
 * a table). Each table is read with routeTables.get for its etag and current routes, and every
 * route is planned against that read and written with routes.createOrUpdate conditional on it
 * (If-Match). Nothing else is ever deleted or changed; a route with the KMS prefix and another
 * next hop is only changed with replaceConflicting. On 412 (someone else changed the table) the
 * table is read again and the route re-planned once; a second 412 gives up on the table. A second
 * apply finds every route present and writes nothing.
 */
export async function applyPlan(
  tables: TablePlanInput[],
  ctx: ApplyContext,
): Promise<RouteChange[]> {
  const perTable = await mapWithConcurrency(
    tables,
    ctx.options.concurrency ?? DEFAULT_CONCURRENCY,
    (t) => applyTable(t, ctx),
  );
  return perTable.flat();
}

async function applyTable(input: TablePlanInput, ctx: ApplyContext): Promise<RouteChange[]> {
  const now = ctx.now ?? (() => new Date());
  const timeoutInMs = ctx.options.requestTimeoutInMs ?? DEFAULT_REQUEST_TIMEOUT_IN_MS;
  const { subscriptionId, resourceGroup } = parseResourceId(input.routeTableId);
  const tableName = nameOf(input.routeTableId);
  const log = ctx.logger.child({ routeTableId: input.routeTableId });
  const changes: RouteChange[] = [];
  const base = {
    routeTableId: input.routeTableId,
    nextHopType: "Internet" as const,
    subnetIds: input.subnetIds,
  };

  const client = ctx.clients(subscriptionId ?? "");
  const read = async (): Promise<TableState> => {
    const { abortSignal } = callSignal(timeoutInMs, ctx.signal);
    const table = await client.routeTables.get(resourceGroup ?? "", tableName, { abortSignal });
    return { etag: table.etag ?? null, routes: toRoutes(table.routes) };
  };

  // Every write is conditional on the version it was planned against: a read that comes back
  // without an etag is repeated once, and a table still without one is not written at all.
  const readGuarded = async (): Promise<TableState> => {
    const first = await read();
    if (first.etag) return first;
    log.warn("remediation: route table read without an etag; reading it again");
    return read();
  };

  let state: TableState;
  try {
    state = await readGuarded();
  } catch (error) {
    const message = `route table could not be read: ${describeArmError(error, false, timeoutInMs)}`;
    log.warn({ message }, "remediation: table skipped");
    return planTable(input, [], { replaceConflicting: ctx.replaceConflicting }).map((c) => ({
      ...c,
      status: "failed" as const,
      error: message,
      at: now().toISOString(),
    }));
  }

  let replanned = false;
  let givenUp: string | null = null;
  // Routes after a give-up: skipped, or failed when the table could not be read to plan them.
  let laterStatus: "skipped" | "failed" = "skipped";
  for (const wanted of input.desired) {
    if (givenUp !== null) {
      const planned = planRoute(state.routes, wanted, ctx);
      changes.push({
        ...base,
        ...planned,
        status: laterStatus,
        error: givenUp,
        at: now().toISOString(),
      });
      continue;
    }
    for (;;) {
      const planned = planRoute(state.routes, wanted, ctx);
      if (planned.action === "present" || planned.action === "conflict") {
        changes.push({
          ...base,
          ...planned,
          status: planned.action === "present" ? "unchanged" : "skipped",
          etag: state.etag,
          at: now().toISOString(),
          ...(planned.action === "conflict"
            ? {
                error: `route '${planned.routeName}' sends ${planned.addressPrefix} to ${planned.previousNextHopType}; left alone (--replace-conflicting changes it)`,
              }
            : {}),
        });
        break;
      }
      if (!state.etag) {
        givenUp =
          "the route table was read twice without an etag: nothing is written to it without an If-Match precondition";
        changes.push({
          ...base,
          ...planned,
          status: "failed",
          etag: null,
          error: givenUp,
          at: now().toISOString(),
        });
        log.warn({ route: planned.routeName, error: givenUp }, "remediation: route not written");
        break;
      }
      const etag = state.etag;
      const { timeout, abortSignal } = callSignal(timeoutInMs, ctx.signal);
      let written = false;
      try {
        await client.routes.createOrUpdate(
          resourceGroup ?? "",
          tableName,
          planned.routeName,
          { addressPrefix: planned.addressPrefix, nextHopType: "Internet" },
          {
            abortSignal,
            updateIntervalInMs: ctx.options.pollIntervalInMs,
            // Only if nobody changed the table since we read it (the Network RP gives a table's
            // routes the table's etag).
            requestOptions: { headers: { "If-Match": etag } },
          },
        );
        written = true;
        changes.push({
          ...base,
          ...planned,
          status: "applied",
          etag,
          at: now().toISOString(),
        });
        log.info(
          { route: planned.routeName, prefix: planned.addressPrefix, action: planned.action },
          "remediation: route written",
        );
        state = await readGuarded(); // our own write changed the etag
        break;
      } catch (error) {
        if (written) {
          // The write is done and recorded; only the read after it failed.
          if (ctx.signal?.aborted) throw error;
          const gone = statusOf(error) === 404;
          givenUp = gone
            ? "the route table was deleted after a route was written to it (404 when read again); nothing more was written"
            : `the route table could not be read again after a write: ${describeArmError(error, false, timeoutInMs)}`;
          laterStatus = gone ? "skipped" : "failed";
          log.warn({ route: planned.routeName, error: givenUp }, "remediation: table given up");
          break;
        }
        if (ctx.signal?.aborted) throw error;
        const stale = statusOf(error) === 412;
        if (stale && !replanned) {
          replanned = true;
          log.warn(
            { route: planned.routeName },
            "remediation: table changed meanwhile (412); re-reading and re-planning once",
          );
          try {
            state = await readGuarded();
            continue;
          } catch (readError) {
            givenUp = `route table could not be re-read: ${describeArmError(readError, false, timeoutInMs)}`;
          }
        } else {
          givenUp = stale
            ? "the route table kept changing (412 Precondition Failed twice); nothing more was written to it"
            : describeArmError(error, timeout.aborted, timeoutInMs);
        }
        changes.push({
          ...base,
          ...planned,
          status: "failed",
          etag: state.etag,
          error: givenUp,
          at: now().toISOString(),
        });
        log.warn({ route: planned.routeName, error: givenUp }, "remediation: route not written");
        break;
      }
    }
  }
  return changes;
}
