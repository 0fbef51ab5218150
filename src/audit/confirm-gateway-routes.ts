import type { Endpoint } from "../catalog/endpoints.js";
import type { ServiceTagIndex } from "../catalog/service-tags.js";
import type { Inventory, RouteTable, Subnet } from "../inventory/inventory.js";
import { keyOf, nameOf } from "../inventory/resource-id.js";
import type { Finding, RouteEvidence } from "../model.js";
import { remediationFor, toEndpointVerdict } from "./audit.js";
import { containsIpv4, ipv4ToNumber, parsePrefix } from "./prefix.js";
import type { ReasonCode } from "./reasons.js";
import {
  compileRouteTable,
  decideEndpoint,
  isInternet,
  isTunneledByAnyRoute,
  routeTableUnknownCause,
  unknownDecision,
  type CompiledRouteTable,
  type RouteDecision,
  type UnknownCause,
  SYSTEM_DEFAULT,
} from "./route-decision.js";
import { judge, type EndpointOutcome } from "./verdict.js";

/**
 * Re-judging subnets with what ARM says about gateway (BGP) routes. Pure: the caller reads the
 * learned routes (virtualNetworkGateways.getLearnedRoutes) or a NIC's effective routes and hands
 * them in; nothing here does I/O.
 */

/** One route a virtual network gateway learned (GatewayRoute of @azure/arm-network). */
export interface LearnedRoute {
  /** The route's prefix, e.g. "0.0.0.0/0". */
  network: string;
  nextHop: string | null;
  sourcePeer: string | null;
  /** EBgp, IBgp, Network, ... */
  origin: string | null;
  asPath: string | null;
  weight: number | null;
}

export type GatewayRoutesRead =
  { ok: true; routes: LearnedRoute[] } | { ok: false; message: string };

export interface ConfirmOptions {
  endpoints: Endpoint[];
  serviceTags?: ServiceTagIndex;
}

/** Subnets worth confirming: in doubt only because gateway routes may apply. */
function needsGatewayConfirmation(finding: Finding): boolean {
  return finding.status === "Unverified" && finding.reasons.includes("BGP_DEFAULT_ROUTE_POSSIBLE");
}

interface SubnetGateways {
  /** Gateways the subnet learns routes from (its VNet's, and remote VNets' via useRemoteGateways). */
  gatewayIds: string[];
  /** Why the list may be short: a VNet or a remote gateway the inventory does not know. */
  unknown: string[];
}

/** The gateways whose learned routes reach a subnet (DESIGN.md section 2). */
function gatewaysOfSubnet(inventory: Inventory, subnet: Subnet): SubnetGateways {
  const ids: string[] = [];
  const unknown: string[] = [];
  const add = (list: string[]) => {
    for (const id of list) if (!ids.some((x) => keyOf(x) === keyOf(id))) ids.push(id);
  };
  const vnetKey = keyOf(subnet.virtualNetworkId);
  add(inventory.gatewaysByVirtualNetwork.get(vnetKey) ?? []);
  if (
    inventory.gatewayVirtualNetworks.has(vnetKey) &&
    !inventory.gatewaysByVirtualNetwork.has(vnetKey)
  )
    unknown.push(`the gateway of ${subnet.virtualNetworkId} is not in the inventory`);
  const vnet = inventory.virtualNetworks.get(vnetKey);
  if (!vnet) {
    unknown.push(`VNet ${subnet.virtualNetworkId} is not in the inventory`);
    return { gatewayIds: ids, unknown };
  }
  for (const peering of vnet.peerings) {
    if (!peering.useRemoteGateways) continue;
    const remote = peering.remoteVirtualNetworkKey;
    const gateways = remote ? inventory.gatewaysByVirtualNetwork.get(remote) : undefined;
    if (gateways && gateways.length > 0) add(gateways);
    else
      unknown.push(`the gateway of remote VNet ${remote ?? "(unnamed)"} is not in the inventory`);
  }
  return { gatewayIds: ids, unknown };
}

/** Every gateway the subnets in doubt depend on, each once (first spelling wins), sorted. */
export function gatewaysToRead(inventory: Inventory, findings: Finding[]): string[] {
  const byKey = new Map<string, string>();
  for (const finding of findings) {
    if (!needsGatewayConfirmation(finding)) continue;
    const subnet = inventory.subnets.get(keyOf(finding.subnetId));
    if (!subnet) continue;
    for (const id of gatewaysOfSubnet(inventory, subnet).gatewayIds)
      if (!byKey.has(keyOf(id))) byKey.set(keyOf(id), id);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, id]) => id);
}

interface LearnedCidr {
  network: number;
  length: number;
  route: LearnedRoute;
  gatewayId: string;
}

function learnedCidrs(gatewayId: string, routes: LearnedRoute[]): LearnedCidr[] {
  const out: LearnedCidr[] = [];
  for (const route of routes) {
    const prefix = parsePrefix(route.network);
    if (prefix.kind === "ipv4")
      out.push({ network: prefix.network, length: prefix.length, route, gatewayId });
  }
  return out;
}

/** Length of the longest route-table route (CIDR or resolved service tag) that covers the IP. */
function longestUserRouteLength(table: CompiledRouteTable | null, ip: number): number | null {
  if (!table) return null;
  let best: number | null = null;
  for (const routes of [table.cidrs, table.taggedCidrs])
    for (const r of routes)
      if (containsIpv4(r, ip) && (best === null || r.length > best)) best = r.length;
  return best;
}

interface SubnetContext {
  subnet: Subnet;
  table: RouteTable | null;
  tableCause: ReturnType<typeof routeTableUnknownCause>;
  compiled: CompiledRouteTable | null;
}

/** The subnet of each finding with its route table, each table compiled once per call. */
function subnetContexts(
  inventory: Inventory,
  serviceTags: ServiceTagIndex | undefined,
): (finding: Finding) => SubnetContext | null {
  const compiled = new Map<RouteTable, CompiledRouteTable>();
  return (finding) => {
    const subnet = inventory.subnets.get(keyOf(finding.subnetId));
    if (!subnet) return null;
    const table = subnet.routeTableId
      ? (inventory.routeTables.get(keyOf(subnet.routeTableId)) ?? null)
      : null;
    let prepared: CompiledRouteTable | null = null;
    if (table) {
      prepared = compiled.get(table) ?? compileRouteTable(table, serviceTags);
      compiled.set(table, prepared);
    }
    return {
      subnet,
      table,
      tableCause: routeTableUnknownCause(subnet.routeTableId, table),
      compiled: prepared,
    };
  };
}

function gatewayDecision(best: LearnedCidr): RouteDecision {
  return {
    bypassed: false,
    nextHopType: "VirtualNetworkGateway",
    addressPrefix: best.route.network,
    routeName: null,
    decidedBy: "GatewayRoute",
    hostRoute: false,
    unknownCause: null,
  };
}

function learnedEvidence(best: LearnedCidr): RouteEvidence {
  return {
    kind: "GatewayLearnedRoute",
    gatewayId: best.gatewayId,
    addressPrefix: best.route.network,
    origin: best.route.origin,
    sourcePeer: best.route.sourcePeer,
    nextHop: best.route.nextHop,
    asPath: best.route.asPath,
    weight: best.route.weight,
  };
}

function rebuild(
  finding: Finding,
  ctx: SubnetContext,
  outcomes: EndpointOutcome[],
  evidence: (RouteEvidence | undefined)[],
  extraReasons: (verdictReasons: ReasonCode[], status: Finding["status"]) => ReasonCode[],
  summarySuffix: string,
): Finding {
  const verdict = judge({
    subnetName: finding.subnetName,
    notApplicable: false,
    outcomes,
    hasInvalidRoutes: (ctx.compiled?.invalidRoutes.length ?? 0) > 0,
    // Only Unverified subnets are confirmed, and an exempt subnet is never Unverified.
    exemption: null,
  });
  const reasons = extraReasons(verdict.reasons, verdict.status);
  return {
    ...finding,
    status: verdict.status,
    severity: verdict.severity,
    reasons,
    summary: summarySuffix ? `${verdict.summary} ${summarySuffix}` : verdict.summary,
    missingRoutes: verdict.missingRoutes,
    endpoints: outcomes.map((o, i) => toEndpointVerdict(o, evidence[i])),
    remediation: remediationFor(ctx.subnet, ctx.table, outcomes),
  };
}

function withReasons(base: ReasonCode[], add: ReasonCode[], remove: ReasonCode[] = []) {
  const out = base.filter((r) => !remove.includes(r));
  for (const r of add) if (!out.includes(r)) out.push(r);
  return out;
}

/**
 * Re-judges the subnets in doubt because of BGP (needsGatewayConfirmation) with the learned routes
 * of their gateways, exactly as Azure chooses a route: the longest prefix across route-table
 * routes, gateway routes and the system default route; on equal prefixes the route-table route
 * wins. A learned route that wins for a KMS IP makes it refused (BGP_DEFAULT_ROUTE_LEARNED, with
 * evidence); gateways that were all read and learn no covering route leave it to the system route
 * (BGP_NO_DEFAULT_ROUTE). A gateway that could not be read keeps the IP unknown
 * (GATEWAY_ROUTES_UNREADABLE) unless a readable gateway's route already refuses it. Other findings
 * are returned unchanged.
 *
 * @param learned learned routes per gateway, keyed by lower-cased gateway ID
 */
export function confirmWithGatewayRoutes(
  inventory: Inventory,
  findings: Finding[],
  learned: ReadonlyMap<string, GatewayRoutesRead>,
  options: ConfirmOptions,
): Finding[] {
  const contextOf = subnetContexts(inventory, options.serviceTags);
  const ips = options.endpoints.map((endpoint) => ipv4ToNumber(endpoint.ip));
  // Many spokes share their hub's gateways: parse and sort each gateway set's routes once.
  const routesOfGateways = new Map<string, { routes: LearnedCidr[]; unreadable: string[] }>();
  const learnedFor = (gatewayIds: string[]) => {
    const key = gatewayIds.join("\n");
    let found = routesOfGateways.get(key);
    if (!found) {
      const routes: LearnedCidr[] = [];
      const unreadable: string[] = [];
      for (const id of gatewayIds) {
        const read = learned.get(keyOf(id));
        if (!read) unreadable.push(`gateway ${id} was not read`);
        else if (!read.ok) unreadable.push(`gateway ${nameOf(id)}: ${read.message}`);
        else routes.push(...learnedCidrs(id, read.routes));
      }
      // Longest first; on equal prefixes the first gateway read (IDs are sorted) for stable output.
      routes.sort((a, b) => b.length - a.length);
      routesOfGateways.set(key, (found = { routes, unreadable }));
    }
    return found;
  };
  return findings.map((finding) => {
    if (!needsGatewayConfirmation(finding)) return finding;
    const ctx = contextOf(finding);
    if (!ctx) return finding;
    const { gatewayIds, unknown } = gatewaysOfSubnet(inventory, ctx.subnet);
    const gateways = learnedFor(gatewayIds);
    const routes = gateways.routes;
    const unreadable = [...unknown, ...gateways.unreadable];

    let learnedAnyCovering = false;
    const evidence: (RouteEvidence | undefined)[] = [];
    const outcomes: EndpointOutcome[] = options.endpoints.map((endpoint, i) => {
      const ip = ips[i]!;
      const best = routes.find((r) => containsIpv4(r, ip));
      if (best) learnedAnyCovering = true;
      const tunneledByAnyRoute = isTunneledByAnyRoute(ctx.compiled, ip) || best !== undefined;
      const original = ctx.tableCause
        ? unknownDecision(ctx.tableCause)
        : decideEndpoint(ctx.compiled, ip, true);
      const keep = (decision: RouteDecision, ev?: RouteEvidence): EndpointOutcome => {
        evidence.push(ev);
        return { endpoint, decision, tunneledByAnyRoute };
      };
      // Gateway routes cannot tell what a service tag or an unread route table holds.
      if (
        original.unknownCause === "SERVICE_TAG_ROUTE_UNRESOLVED" ||
        original.unknownCause === "ROUTE_TABLE_NOT_FOUND" ||
        original.unknownCause === "ROUTE_TABLE_UNREADABLE"
      )
        return keep(original);
      const userLength = longestUserRouteLength(ctx.compiled, ip);
      if (best && (userLength === null || best.length > userLength))
        return keep(gatewayDecision(best), learnedEvidence(best));
      if (original.unknownCause !== "BGP_DEFAULT_ROUTE_POSSIBLE") return keep(original);
      if (unreadable.length > 0) return keep(unknownDecision("GATEWAY_ROUTES_UNREADABLE"));
      return keep(SYSTEM_DEFAULT, { kind: "NoGatewayRoute", gatewayIds: [...gatewayIds] });
    });

    const decidingGateway = outcomes.findIndex((o) => o.decision.decidedBy === "GatewayRoute");
    const first = decidingGateway >= 0 ? evidence[decidingGateway] : undefined;
    const suffix =
      first?.kind === "GatewayLearnedRoute"
        ? `Route ${first.addressPrefix} learned by gateway ${nameOf(first.gatewayId)}${first.sourcePeer ? ` from peer ${first.sourcePeer}` : ""}${first.origin ? ` (${first.origin}${first.asPath ? `, AS path ${first.asPath}` : ""})` : ""}.`
        : unreadable.length > 0
          ? `Gateway routes could not be confirmed: ${unreadable.join("; ")}.`
          : "";
    return rebuild(
      finding,
      ctx,
      outcomes,
      evidence,
      (reasons, status) => {
        const add: ReasonCode[] = [];
        if (decidingGateway >= 0) add.push("BGP_DEFAULT_ROUTE_LEARNED");
        if (status === "Compliant" && !learnedAnyCovering) add.push("BGP_NO_DEFAULT_ROUTE");
        // Dashboards that count BGP_DEFAULT_ROUTE_POSSIBLE keep counting what is still in doubt.
        if (reasons.includes("GATEWAY_ROUTES_UNREADABLE")) add.push("BGP_DEFAULT_ROUTE_POSSIBLE");
        return withReasons(
          reasons,
          add,
          add.includes("BGP_NO_DEFAULT_ROUTE") ? ["NO_FORCED_TUNNEL"] : [],
        );
      },
      suffix,
    );
  });
}

/** One entry of a NIC's effective route table (EffectiveRoute of @azure/arm-network). */
export interface EffectiveRouteEntry {
  name: string | null;
  /** User, VirtualNetworkGateway, Default, ... */
  source: string | null;
  /** Active or Invalid (overridden by a more preferred route). */
  state: string | null;
  addressPrefix: string[];
  nextHopType: string | null;
  nextHopIpAddress: string[];
}

export type EffectiveRoutesRead =
  | { ok: true; networkInterfaceId: string; routes: EffectiveRouteEntry[] }
  | { ok: false; networkInterfaceId: string | null; message: string };

const UNKNOWN_CAUSES: UnknownCause[] = [
  "GATEWAY_ROUTES_UNREADABLE",
  "SERVICE_TAG_ROUTE_UNRESOLVED",
  "ROUTE_TABLE_NOT_FOUND",
  "ROUTE_TABLE_UNREADABLE",
  "BGP_DEFAULT_ROUTE_POSSIBLE",
];
function causeOf(finding: Finding): UnknownCause {
  return UNKNOWN_CAUSES.find((c) => finding.reasons.includes(c)) ?? "BGP_DEFAULT_ROUTE_POSSIBLE";
}

/** Subnets still in doubt after gateway confirmation: any Unverified subnet. */
export function needsEffectiveRoutes(finding: Finding): boolean {
  return finding.status === "Unverified";
}

const SOURCE_RANK: Record<string, number> = { user: 0, virtualnetworkgateway: 1, default: 2 };

/**
 * Re-judges Unverified subnets with the effective routes of one NIC in each: among Active routes
 * with an IPv4 prefix covering the IP, the longest decides (on equal prefixes User, then
 * VirtualNetworkGateway, then Default — Azure marks the loser Invalid anyway). Effective routes
 * already expand service tags and include BGP routes, so they settle every cause of doubt. An IP
 * no active route covers keeps its earlier outcome. A NIC that could not be read leaves the subnet
 * as it was, with EFFECTIVE_ROUTES_UNREADABLE.
 *
 * @param reads effective routes per subnet, keyed by lower-cased subnet ID
 */
export function confirmWithEffectiveRoutes(
  inventory: Inventory,
  findings: Finding[],
  reads: ReadonlyMap<string, EffectiveRoutesRead>,
  options: ConfirmOptions,
): Finding[] {
  const contextOf = subnetContexts(inventory, options.serviceTags);
  return findings.map((finding) => {
    if (!needsEffectiveRoutes(finding)) return finding;
    const read = reads.get(keyOf(finding.subnetId));
    if (!read) return finding;
    if (!read.ok) {
      return {
        ...finding,
        reasons: withReasons(finding.reasons, ["EFFECTIVE_ROUTES_UNREADABLE"]),
        summary: `${finding.summary} Effective routes of ${read.networkInterfaceId ? nameOf(read.networkInterfaceId) : "a NIC"} could not be read: ${read.message}.`,
      };
    }
    const ctx = contextOf(finding);
    if (!ctx) return finding;
    const active: {
      network: number;
      length: number;
      prefix: string;
      route: EffectiveRouteEntry;
    }[] = [];
    const all: typeof active = [];
    for (const route of read.routes) {
      for (const prefix of route.addressPrefix) {
        const parsed = parsePrefix(prefix);
        if (parsed.kind !== "ipv4") continue;
        const entry = { network: parsed.network, length: parsed.length, prefix, route };
        all.push(entry);
        if ((route.state ?? "Active").toLowerCase() === "active") active.push(entry);
      }
    }
    const rank = (r: EffectiveRouteEntry) => SOURCE_RANK[(r.source ?? "").toLowerCase()] ?? 3;
    active.sort((a, b) => b.length - a.length || rank(a.route) - rank(b.route));

    const previous = new Map(finding.endpoints.map((e) => [`${e.set}|${e.ip}`, e]));
    const evidence: (RouteEvidence | undefined)[] = [];
    let viaGateway = false;
    const outcomes: EndpointOutcome[] = options.endpoints.map((endpoint) => {
      const ip = ipv4ToNumber(endpoint.ip);
      const best = active.find((r) => containsIpv4(r, ip));
      const tunneledByAnyRoute = all.some(
        (r) => containsIpv4(r, ip) && !isInternet(r.route.nextHopType),
      );
      if (!best) {
        const before = previous.get(`${endpoint.set}|${endpoint.ip}`);
        evidence.push(before?.evidence);
        return {
          endpoint,
          decision: before
            ? {
                bypassed: before.bypassed,
                nextHopType: before.nextHopType,
                addressPrefix: before.addressPrefix,
                routeName: before.routeName,
                decidedBy: before.decidedBy,
                hostRoute: false,
                unknownCause: before.bypassed === null ? causeOf(finding) : null,
              }
            : unknownDecision("BGP_DEFAULT_ROUTE_POSSIBLE"),
          tunneledByAnyRoute,
        };
      }
      const hop = best.route.nextHopType ?? null;
      const internet = isInternet(hop);
      const user = (best.route.source ?? "").toLowerCase() === "user";
      if (!internet && (best.route.source ?? "").toLowerCase() === "virtualnetworkgateway")
        viaGateway = true;
      evidence.push({
        kind: "EffectiveRoute",
        networkInterfaceId: read.networkInterfaceId,
        source: best.route.source,
        addressPrefix: best.prefix,
        nextHopType: hop,
        nextHopIpAddress: best.route.nextHopIpAddress,
      });
      return {
        endpoint,
        decision: {
          bypassed: internet,
          nextHopType: hop,
          addressPrefix: best.prefix,
          routeName: user ? best.route.name : null,
          decidedBy: "EffectiveRoute",
          hostRoute: user && best.length === 32 && best.network === ip,
          unknownCause: null,
        },
        tunneledByAnyRoute,
      };
    });
    return rebuild(
      finding,
      ctx,
      outcomes,
      evidence,
      (reasons) =>
        withReasons(reasons, [
          "EFFECTIVE_ROUTES_CHECKED",
          ...(viaGateway ? (["BGP_DEFAULT_ROUTE_LEARNED"] as const) : []),
        ]),
      `Checked against the effective routes of NIC ${nameOf(read.networkInterfaceId)}.`,
    );
  });
}

/** The NIC whose effective routes stand for a subnet: the first VM-attached one, by ID. */
export function networkInterfaceFor(inventory: Inventory, subnetId: string): string | null {
  const nics = inventory.vmNicsBySubnet.get(keyOf(subnetId)) ?? [];
  return [...nics].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))[0] ?? null;
}
