import type { ServiceTagIndex } from "../catalog/service-tags.js";
import type { Route, RouteTable } from "../inventory/inventory.js";
import type { EndpointVerdict } from "../model.js";
import { containsIpv4, parsePrefix, type ParsedPrefix } from "./prefix.js";

/** Why an endpoint's outcome is unknown. */
export type UnknownCause =
  | "BGP_DEFAULT_ROUTE_POSSIBLE"
  | "SERVICE_TAG_ROUTE_UNRESOLVED"
  | "ROUTE_TABLE_NOT_FOUND"
  | "ROUTE_TABLE_UNREADABLE"
  | "GATEWAY_ROUTES_UNREADABLE";

export interface RouteDecision {
  bypassed: boolean | null;
  nextHopType: string | null;
  addressPrefix: string | null;
  routeName: string | null;
  decidedBy: EndpointVerdict["decidedBy"];
  /** The deciding route is a /32 for exactly this IP. */
  hostRoute: boolean;
  unknownCause: UnknownCause | null;
}

interface CidrRoute {
  network: number;
  length: number;
  route: Route;
  internet: boolean;
}

/** A route table prepared for repeated longest-prefix look-ups. */
export interface CompiledRouteTable {
  /** IPv4 CIDR routes, longest prefix first; on equal prefixes the non-Internet route first. */
  cidrs: CidrRoute[];
  /** Service-tag routes whose prefixes are known from a service-tag file, as CIDR routes. */
  taggedCidrs: CidrRoute[];
  /** Names of service-tag routes whose prefixes are unknown. */
  unresolvedTags: string[];
  invalidRoutes: Route[];
}

/**
 * Why a subnet's route table leaves every endpoint unknown: the subnet names a table the inventory
 * does not hold, or the table's routes could not be read. Null when its routes can decide.
 */
export function routeTableUnknownCause(
  routeTableId: string | null,
  table: RouteTable | null,
): "ROUTE_TABLE_NOT_FOUND" | "ROUTE_TABLE_UNREADABLE" | null {
  if (routeTableId !== null && table === null) return "ROUTE_TABLE_NOT_FOUND";
  return table?.routesUnreadable ? "ROUTE_TABLE_UNREADABLE" : null;
}

export function isInternet(nextHopType: string | null): boolean {
  return nextHopType?.toLowerCase() === "internet";
}

function byPreference(a: CidrRoute, b: CidrRoute): number {
  // Azure forbids two routes with one prefix in a table; if an export has them anyway, assume
  // the one that does not reach the Internet, so a doubtful subnet is never called compliant.
  return b.length - a.length || Number(a.internet) - Number(b.internet);
}

export function compileRouteTable(
  table: RouteTable,
  serviceTags?: ServiceTagIndex,
  parse: (prefix: unknown) => ParsedPrefix = parsePrefix,
): CompiledRouteTable {
  const compiled: CompiledRouteTable = {
    cidrs: [],
    taggedCidrs: [],
    unresolvedTags: [],
    invalidRoutes: [],
  };
  for (const route of table.routes) {
    const prefix = parse(route.addressPrefix);
    const internet = isInternet(route.nextHopType);
    switch (prefix.kind) {
      case "ipv4":
        compiled.cidrs.push({ network: prefix.network, length: prefix.length, route, internet });
        break;
      case "ipv6":
        break; // KMS is IPv4-only.
      case "serviceTag": {
        const prefixes = serviceTags?.get(prefix.tag.toLowerCase());
        if (!prefixes) compiled.unresolvedTags.push(route.name);
        else for (const p of prefixes) compiled.taggedCidrs.push({ ...p, route, internet });
        break;
      }
      case "invalid":
        compiled.invalidRoutes.push(route);
        break;
    }
  }
  compiled.cidrs.sort(byPreference);
  compiled.taggedCidrs.sort(byPreference);
  return compiled;
}

function firstContaining(routes: CidrRoute[], ip: number): CidrRoute | undefined {
  return routes.find((r) => containsIpv4(r, ip));
}

function fromRoute(
  match: CidrRoute,
  ip: number,
  decidedBy: RouteDecision["decidedBy"],
): RouteDecision {
  const prefix = match.route.addressPrefix;
  return {
    bypassed: match.internet,
    nextHopType: match.route.nextHopType,
    addressPrefix: typeof prefix === "string" ? prefix : null,
    routeName: match.route.name || null,
    decidedBy,
    hostRoute: decidedBy === "UserDefinedRoute" && match.length === 32 && match.network === ip,
    unknownCause: null,
  };
}

export function unknownDecision(cause: UnknownCause): RouteDecision {
  return {
    bypassed: null,
    nextHopType: null,
    addressPrefix: null,
    routeName: null,
    decidedBy: "Unknown",
    hostRoute: false,
    unknownCause: cause,
  };
}

/** The system default route: 0.0.0.0/0 to the Internet, where no other route covers an IP. */
export const SYSTEM_DEFAULT: RouteDecision = {
  bypassed: true,
  nextHopType: "Internet",
  addressPrefix: "0.0.0.0/0",
  routeName: null,
  decidedBy: "SystemRoute",
  hostRoute: false,
  unknownCause: null,
};

/**
 * DESIGN.md section 3 for one IP: a /32 route-table route decides outright; otherwise a service
 * tag of unknown extent makes it unknown; otherwise the longest CIDR (explicit CIDR over a tag's
 * prefix of equal length, as Azure does) decides; with no covering route, gateway-learned routes
 * make it unknown and the system default route sends it to the Internet.
 */
export function decideEndpoint(
  table: CompiledRouteTable | null,
  ip: number,
  gatewayRoutesPossible: boolean,
): RouteDecision {
  const cidr = table ? firstContaining(table.cidrs, ip) : undefined;
  if (cidr && cidr.length === 32) return fromRoute(cidr, ip, "UserDefinedRoute");
  if (table && table.unresolvedTags.length > 0)
    return unknownDecision("SERVICE_TAG_ROUTE_UNRESOLVED");
  const tagged = table ? firstContaining(table.taggedCidrs, ip) : undefined;
  if (cidr && (!tagged || cidr.length >= tagged.length))
    return fromRoute(cidr, ip, "UserDefinedRoute");
  if (tagged) return fromRoute(tagged, ip, "ServiceTagRoute");
  if (gatewayRoutesPossible) return unknownDecision("BGP_DEFAULT_ROUTE_POSSIBLE");
  return SYSTEM_DEFAULT;
}

/** True when some route of the table would send the IP anywhere but the Internet. */
export function isTunneledByAnyRoute(table: CompiledRouteTable | null, ip: number): boolean {
  if (!table) return false;
  return [...table.cidrs, ...table.taggedCidrs].some((r) => !r.internet && containsIpv4(r, ip));
}
