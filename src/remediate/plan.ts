import { freeRouteName, hostRouteFor } from "../audit/fixes/routes.js";
import { isInternet } from "../audit/path/routes.js";
import type { Inventory, Route } from "../inventory/inventory.js";
import { keyOf } from "../inventory/resource-id.js";
import type { Finding, Status } from "../model.js";

/** A KMS route a route table needs: next hop Internet for one endpoint IP. */
export interface DesiredRoute {
  /** Endpoint set, for the route name ("kms" → kms-20-118-99-224). */
  set: string;
  ip: string;
}

export type ChangeAction =
  /** Add a new route. */
  | "create"
  /** Change an existing route with the KMS prefix to next hop Internet (--replace-conflicting). */
  | "replace"
  /** A route with the KMS prefix and another next hop exists; left alone. */
  | "conflict"
  /** The route is already there with next hop Internet. */
  | "present";

export type ChangeStatus = "planned" | "applied" | "failed" | "skipped" | "unchanged";

/** One record of the plan / audit trail. */
export interface RouteChange {
  routeTableId: string;
  routeName: string;
  addressPrefix: string;
  nextHopType: "Internet";
  action: ChangeAction;
  /** Next hop of the route before the change (replace, conflict, present). */
  previousNextHopType: string | null;
  status: ChangeStatus;
  /** Subnets that use the table and need the route. */
  subnetIds: string[];
  /** The table's etag the write was conditional on (apply only). */
  etag?: string | null;
  /** When it was applied or failed (apply only). */
  at?: string;
  error?: string;
}

export interface TablePlanInput {
  routeTableId: string;
  desired: DesiredRoute[];
  subnetIds: string[];
}

/** Statuses whose subnets get their missing KMS routes. */
const REMEDIATED_STATUSES: readonly Status[] = ["NonCompliant", "Unverified"];

/**
 * What each route table needs, from the findings: the union of its subnets' missing KMS IPs.
 * Subnets without a route table are returned apart (creating and associating a table is left to
 * the remediation scripts of the finding).
 */
export function desiredByTable(findings: Finding[]): {
  tables: TablePlanInput[];
  withoutTable: Finding[];
} {
  const byKey = new Map<string, TablePlanInput>();
  const withoutTable: Finding[] = [];
  for (const f of findings) {
    if (!REMEDIATED_STATUSES.includes(f.status) || f.missingRoutes.length === 0) continue;
    // A deny policy would reject the routes (RequestDisallowedByPolicy): the finding's
    // remediation offers what passes instead; apply never sends what is known to be refused.
    if (f.policyConflicts?.some((c) => c.fix === "routes" && c.denies === true)) continue;
    if (!f.routeTableId) {
      withoutTable.push(f);
      continue;
    }
    const key = keyOf(f.routeTableId);
    let entry = byKey.get(key);
    if (!entry)
      byKey.set(key, (entry = { routeTableId: f.routeTableId, desired: [], subnetIds: [] }));
    entry.subnetIds.push(f.subnetId);
    // The route fix's IPs (missingRoutes): only where routing is the cause (DESIGN.md rule 7).
    for (const cidr of f.missingRoutes) {
      const ip = cidr.replace(/\/32$/, "");
      const set = f.endpoints.find((e) => e.ip === ip)?.set ?? "kms";
      if (!entry.desired.some((d) => d.ip === ip)) entry.desired.push({ set, ip });
    }
  }
  const tables = [...byKey.values()].sort((a, b) =>
    keyOf(a.routeTableId) < keyOf(b.routeTableId) ? -1 : 1,
  );
  return { tables, withoutTable };
}

/**
 * The change one KMS IP needs on a table in its current state. Pure; apply calls it again against
 * every fresh read of the table, so each write is planned against the version its If-Match names.
 */
export function planRoute(
  routes: Route[],
  wanted: DesiredRoute,
  options: { replaceConflicting: boolean },
): Pick<RouteChange, "routeName" | "addressPrefix" | "action" | "previousNextHopType"> {
  const addressPrefix = `${wanted.ip}/32`;
  const same = hostRouteFor(routes, wanted.ip);
  if (same && isInternet(same))
    return {
      routeName: same.name,
      addressPrefix,
      action: "present",
      previousNextHopType: same.nextHopType,
    };
  if (same)
    return {
      routeName: same.name,
      addressPrefix,
      action: options.replaceConflicting ? "replace" : "conflict",
      previousNextHopType: same.nextHopType,
    };
  return {
    routeName: freeRouteName(
      new Set(routes.map((r) => r.name.toLowerCase())),
      wanted.set,
      wanted.ip,
    ),
    addressPrefix,
    action: "create",
    previousNextHopType: null,
  };
}

/** The plan for one table: every desired route planned in turn (names stay distinct). */
export function planTable(
  input: TablePlanInput,
  routes: Route[],
  options: { replaceConflicting: boolean },
): RouteChange[] {
  const working = [...routes];
  return input.desired.map((wanted) => {
    const planned = planRoute(working, wanted, options);
    if (planned.action === "create" || planned.action === "replace")
      working.push({
        name: planned.routeName,
        addressPrefix: planned.addressPrefix,
        nextHopType: "Internet",
        nextHopIpAddress: null,
      });
    return {
      routeTableId: input.routeTableId,
      nextHopType: "Internet",
      ...planned,
      status:
        planned.action === "create" || planned.action === "replace"
          ? "planned"
          : planned.action === "present"
            ? "unchanged"
            : "skipped",
      subnetIds: input.subnetIds,
    };
  });
}

/** The plan for every table, against the routes the inventory holds. */
export function planFromInventory(
  inventory: Inventory,
  tables: TablePlanInput[],
  options: { replaceConflicting: boolean },
): RouteChange[] {
  return tables.flatMap((t) => {
    const table = inventory.routeTables.get(keyOf(t.routeTableId));
    const changes = planTable(t, table?.routes ?? [], options);
    return table
      ? changes
      : changes.map((c) => ({
          ...c,
          error:
            "route table not in the inventory: planned against no routes; --apply reads it first",
        }));
  });
}
