import type { ServiceTagIndex } from "../../catalog/service-tags.js";
import type { RouteTable } from "../../inventory/types.js";
import type { EndpointVerdict } from "../../model.js";
import { containsIpv4, parsePrefixCached } from "../../net/ipv4.js";
import type { ReasonCode } from "../../reasons.js";

/** A route that may carry an IP: from the route table, a learned source, or Azure's system routes. */
export interface CandidateRoute {
  network: number;
  length: number;
  source: "UserDefinedRoute" | "ServiceTagRoute" | "LearnedRoute" | "SystemRoute";
  /** Next hop type as the route names it ("Internet", "VirtualAppliance", ...; learned: see `learned`). */
  nextHopType: string;
  /** VirtualAppliance: the next hop IP; learned routes: the next hop IP or resource key. */
  nextHop: string | null;
  /** The prefix as written (a CIDR or a service tag). */
  prefix: string;
  name: string | null;
  /** The route table, or the source (gateway, Route Server peer, hub connection). */
  resourceId: string | null;
  /** VNet and peering system routes: a BGP route never beats them (virtual-networks-udr-overview). */
  protected: boolean;
  learned: LearnedOrigin | null;
}

/** Where a learned route came from, and what it leads to. */
export interface LearnedOrigin {
  kind: "gateway" | "defaultSite" | "routeServer" | "virtualHub";
  /** What the route leads to, when the source says: on-premises, a firewall, an appliance IP. */
  leadsTo:
    | { kind: "onPremises"; gatewayId: string | null }
    | { kind: "firewall"; firewallKey: string }
    | { kind: "applianceIp"; ip: string }
    | { kind: "unknown"; detail: string };
  detail: string;
  reason: ReasonCode;
}

/** A learned source whose routes the audit cannot see. */
export interface UnknownLearned {
  reason: ReasonCode;
  resourceId: string | null;
  detail: string;
  /**
   * Whether some route it may hold could let the IP through. A VNet gateway's learned routes lead
   * on-premises, so they can only fail; a Route Server peer's lead to an appliance, which may pass.
   */
  canSucceed: boolean;
}

export interface LearnedRoutes {
  /** Known learned routes, longest prefix first. */
  known: CandidateRoute[];
  unknown: UnknownLearned[];
}

export const NO_LEARNED: LearnedRoutes = { known: [], unknown: [] };

/** A route table prepared for repeated longest-prefix look-ups. */
export interface CompiledRouteTable {
  table: RouteTable;
  /** IPv4 CIDR routes, longest prefix first; on equal prefixes the non-Internet route first. */
  cidrs: CandidateRoute[];
  /** Service-tag routes whose prefixes are known from a service-tag file, as CIDR routes. */
  tagged: CandidateRoute[];
  /** Names of service-tag routes whose prefixes are unknown. */
  unresolvedTags: string[];
  /** The table's own 0.0.0.0/0 route, if any. */
  defaultRoute: CandidateRoute | null;
}

function byPreference(a: CandidateRoute, b: CandidateRoute): number {
  // Azure forbids two routes with one prefix in a table; if an export has them anyway, assume
  // the one that does not reach the Internet, so a doubtful subnet is never called compliant.
  return b.length - a.length || Number(isInternet(a)) - Number(isInternet(b));
}

export function isInternet(route: { nextHopType: string | null }): boolean {
  return route.nextHopType?.toLowerCase() === "internet";
}

export function compileRouteTable(
  table: RouteTable,
  serviceTags?: ServiceTagIndex,
): CompiledRouteTable {
  const compiled: CompiledRouteTable = {
    table,
    cidrs: [],
    tagged: [],
    unresolvedTags: [],
    defaultRoute: null,
  };
  for (const route of table.routes) {
    const prefix = parsePrefixCached(route.addressPrefix);
    const base = {
      nextHopType: route.nextHopType ?? "(none)",
      nextHop: route.nextHopIpAddress?.trim() ?? null,
      prefix: typeof route.addressPrefix === "string" ? route.addressPrefix.trim() : "",
      name: route.name || null,
      resourceId: table.id,
      protected: false,
      learned: null,
    };
    switch (prefix.kind) {
      case "ipv4": {
        const candidate: CandidateRoute = {
          ...base,
          network: prefix.network,
          length: prefix.length,
          source: "UserDefinedRoute",
        };
        compiled.cidrs.push(candidate);
        if (prefix.length === 0) compiled.defaultRoute ??= candidate;
        break;
      }
      case "ipv6":
        break; // The endpoints are IPv4.
      case "serviceTag": {
        const prefixes = serviceTags?.get(prefix.tag.toLowerCase());
        if (!prefixes) compiled.unresolvedTags.push(route.name);
        else
          for (const p of prefixes)
            compiled.tagged.push({ ...base, ...p, source: "ServiceTagRoute" });
        break;
      }
      case "invalid":
        break; // Reported as the table's malformed routes; the table is then unknown.
    }
  }
  compiled.cidrs.sort(byPreference);
  compiled.tagged.sort(byPreference);
  return compiled;
}

/** Azure's default route: 0.0.0.0/0 to the Internet, where nothing else covers an IP. */
export const SYSTEM_DEFAULT: CandidateRoute = {
  network: 0,
  length: 0,
  source: "SystemRoute",
  nextHopType: "Internet",
  nextHop: null,
  prefix: "0.0.0.0/0",
  name: null,
  resourceId: null,
  protected: false,
  learned: null,
};

/** The routes that can decide an IP for one place packets leave from (a subnet). */
export interface RouteContext {
  table: CompiledRouteTable | null;
  /** The table is named but cannot be read (not found, no routes, malformed, conflicting). */
  tableUnknown: { reason: ReasonCode; detail: string } | null;
  learned: LearnedRoutes;
  /** VNet and peered address spaces (VnetLocal, VNetPeering), longest first. */
  system: CandidateRoute[];
  /**
   * AzureFirewallSubnet: a 0.0.0.0/0 route to the Internet there keeps the firewall's egress
   * direct even when BGP offers a default (firewall/firewall-faq), so learned routes cannot
   * contend with it.
   */
  firewallSubnet: boolean;
}

export type RouteChoice =
  | { kind: "unknown"; reason: ReasonCode; detail: string; resourceId: string | null }
  | { kind: "route"; route: CandidateRoute; contenders: UnknownLearned[] };

function first(routes: readonly CandidateRoute[], ip: number): CandidateRoute | undefined {
  for (const r of routes) if (containsIpv4(r, ip)) return r;
  return undefined;
}

/**
 * DESIGN.md section 3, rule 1: the longest prefix over route-table routes (a CIDR beats a service
 * tag's prefix of equal length), learned routes and system routes; on equal prefixes UDR, then
 * learned, then system. A learned route never beats a VNet or peering system route. Learned
 * sources whose routes are unknown are returned as contenders when a route they may hold could
 * beat the chosen one: a /32 route-table route leaves them none.
 */
export function chooseRoute(ctx: RouteContext, ip: number): RouteChoice {
  if (ctx.tableUnknown)
    return { kind: "unknown", ...ctx.tableUnknown, resourceId: ctx.table?.table.id ?? null };
  const table = ctx.table;
  const cidr = table ? first(table.cidrs, ip) : undefined;
  if (cidr && cidr.length === 32) return { kind: "route", route: cidr, contenders: [] };
  if (table && table.unresolvedTags.length > 0)
    return {
      kind: "unknown",
      reason: "SERVICE_TAG_ROUTE_UNRESOLVED",
      detail: `service-tag route${table.unresolvedTags.length > 1 ? "s" : ""} ${table.unresolvedTags.map((n) => `'${n}'`).join(", ")} of ${table.table.name} may cover the IP`,
      resourceId: table.table.id,
    };
  const tagged = table ? first(table.tagged, ip) : undefined;
  const udr = cidr && (!tagged || cidr.length >= tagged.length) ? cidr : tagged;
  const system = first(ctx.system, ip);
  // The IP is in the VNet's or a peer's address space: no BGP route beats that system route,
  // however specific (virtual-networks-udr-overview, route-server-faq); only a UDR does.
  const shielded = system !== undefined;
  const learned = shielded ? undefined : first(ctx.learned.known, ip);
  let best: CandidateRoute = system ?? SYSTEM_DEFAULT;
  // Longest prefix; on equal prefixes UDR, then learned (BGP), then system.
  if (learned && learned.length >= best.length) best = learned;
  if (udr && udr.length >= best.length) best = udr;
  let contenders = ctx.learned.unknown;
  if (contenders.length > 0) {
    const decisive =
      shielded ||
      (best.source !== "LearnedRoute" && best.source !== "SystemRoute" && best.length === 32) ||
      (ctx.firewallSubnet &&
        best.source === "UserDefinedRoute" &&
        best.length === 0 &&
        isInternet(best));
    if (decisive) contenders = [];
  }
  return { kind: "route", route: best, contenders };
}

/** How a chosen route is reported in the endpoint's `decidedBy`. */
export function decidedByOf(route: CandidateRoute): EndpointVerdict["decidedBy"] {
  if (route.learned) return route.learned.kind === "gateway" ? "GatewayRoute" : "LearnedRoute";
  return route.source === "LearnedRoute" ? "LearnedRoute" : route.source;
}
