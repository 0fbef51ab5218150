import type { ArmRow } from "../arm-row.js";
import { bag, isObject, list, text, type Bag } from "../fields.js";
import { keyOf } from "../resource-id.js";
import type {
  EffectiveRouteFact,
  EffectiveRoutesRead,
  LearnedRouteFact,
  LearnedRoutesRead,
} from "../types.js";

/**
 * Facts rows: what the facts stage reads live through ARM, in a row an offline estate can carry too
 * (README "Facts in an estate file"). Each is keyed by the resource it belongs to:
 *
 * - `microsoft.network/virtualnetworkgateways/learnedroutes`, id `<gateway id>/learnedRoutes`:
 *   `properties.value` as `az network vnet-gateway list-learned-routes` prints it (GatewayRoute).
 * - `microsoft.network/virtualhubs/bgpconnections/learnedroutes`, id `<bgp connection id>/learnedRoutes`:
 *   `properties.value` (PeerRoute), or the `RouteServiceRole_IN_*` lists of
 *   `az network routeserver peering list-learned-routes`.
 * - `microsoft.network/virtualhubs/hubvirtualnetworkconnections/effectiveroutes`, id
 *   `<connection id>/effectiveRoutes`: `properties.value` as virtualHubs getEffectiveVirtualHubRoutes
 *   returns it (addressPrefixes, nextHops, nextHopType, asPath, routeOrigin).
 *
 * - `microsoft.network/networkinterfaces/effectiveroutetable`, id `<nic id>/effectiveRouteTable`:
 *   `properties.value` as `az network nic show-effective-route-table` prints it; it stands for the
 *   NIC's subnet.
 *
 * `properties.error` (a string) instead of routes says the read failed: the source stays unknown.
 */
export const FACT_TYPES = {
  nicEffectiveRoutes: "microsoft.network/networkinterfaces/effectiveroutetable",
  gatewayLearnedRoutes: "microsoft.network/virtualnetworkgateways/learnedroutes",
  bgpLearnedRoutes: "microsoft.network/virtualhubs/bgpconnections/learnedroutes",
  connectionEffectiveRoutes:
    "microsoft.network/virtualhubs/hubvirtualnetworkconnections/effectiveroutes",
} as const;

const SUFFIX: Record<string, string> = {
  [FACT_TYPES.nicEffectiveRoutes]: "effectiveRouteTable",
  [FACT_TYPES.gatewayLearnedRoutes]: "learnedRoutes",
  [FACT_TYPES.bgpLearnedRoutes]: "learnedRoutes",
  [FACT_TYPES.connectionEffectiveRoutes]: "effectiveRoutes",
};

/** The owner's key and what was read, or null when the row's ID does not name an owner. */
export function learnedRoutesOf(
  row: ArmRow,
  type: string,
): { ownerKey: string; read: LearnedRoutesRead } | null {
  const suffix = SUFFIX[type];
  const key = keyOf(row.id);
  if (!suffix || !key.endsWith(`/${suffix.toLowerCase()}`)) return null;
  const owner = row.id.trim().slice(0, row.id.trim().length - suffix.length - 1);
  const props = bag(row.properties);
  const error = text(props.error);
  if (error) return { ownerKey: keyOf(owner), read: { ok: false, message: error } };
  let entries: unknown[];
  if (Array.isArray(props.value)) entries = props.value;
  else if (Array.isArray(row.value)) entries = row.value;
  else {
    entries = [];
    let found = false;
    for (const name in props)
      if (/^RouteServiceRole_IN_\d+$/i.test(name) && Array.isArray(props[name])) {
        found = true;
        entries.push(...(props[name] as unknown[]));
      }
    if (!found)
      return {
        ownerKey: keyOf(owner),
        read: { ok: false, message: `${row.id}: no properties.value list of routes` },
      };
  }
  const routes: LearnedRouteFact[] = [];
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    routes.push(...factsOf(entry));
  }
  return { ownerKey: keyOf(owner), read: { ok: true, routes } };
}

function factsOf(e: Bag): LearnedRouteFact[] {
  // GatewayRoute / PeerRoute: one prefix (network), one next hop.
  const network = text(e.network);
  if (network)
    return [
      {
        addressPrefix: network,
        nextHop: text(e.nextHop),
        nextHopType: null,
        origin: text(e.origin),
        asPath: text(e.asPath),
        sourcePeer: text(e.sourcePeer),
      },
    ];
  // Virtual hub effective route: several prefixes and next hops.
  const nextHops = list(e.nextHops).filter((h): h is string => typeof h === "string");
  return list(e.addressPrefixes)
    .filter((p): p is string => typeof p === "string")
    .map((prefix) => ({
      addressPrefix: prefix,
      nextHop: nextHops[0] ?? null,
      nextHopType: text(e.nextHopType),
      origin: text(e.routeOrigin),
      asPath: text(e.asPath),
      sourcePeer: null,
    }));
}

/** A NIC's effective route table row: the NIC's key and the routes. */
export function effectiveRoutesOf(
  row: ArmRow,
): { nicKey: string; nicId: string; read: EffectiveRoutesRead } | null {
  const suffix = "/effectiveroutetable";
  const id = row.id.trim();
  if (!id.toLowerCase().endsWith(suffix)) return null;
  const nicId = id.slice(0, id.length - suffix.length);
  const props = bag(row.properties);
  const error = text(props.error);
  if (error)
    return {
      nicKey: keyOf(nicId),
      nicId,
      read: { ok: false, networkInterfaceId: nicId, message: error },
    };
  const entries = Array.isArray(props.value)
    ? props.value
    : Array.isArray(row.value)
      ? row.value
      : null;
  if (!entries)
    return {
      nicKey: keyOf(nicId),
      nicId,
      read: {
        ok: false,
        networkInterfaceId: nicId,
        message: `${row.id}: no properties.value list of routes`,
      },
    };
  const routes: EffectiveRouteFact[] = entries.filter(isObject).map((e) => {
    const prefixes = Array.isArray(e.addressPrefix) ? e.addressPrefix : [e.addressPrefix];
    const hops = Array.isArray(e.nextHopIpAddress) ? e.nextHopIpAddress : [e.nextHopIpAddress];
    return {
      name: text(e.name),
      source: text(e.source),
      state: text(e.state),
      addressPrefixes: prefixes.filter((p): p is string => typeof p === "string"),
      nextHopType: text(e.nextHopType),
      nextHopIp: hops.find((h): h is string => typeof h === "string" && h !== "") ?? null,
    };
  });
  return { nicKey: keyOf(nicId), nicId, read: { ok: true, networkInterfaceId: nicId, routes } };
}
