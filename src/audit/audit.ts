import type { Endpoint } from "../catalog/endpoints.js";
import type { ServiceTagIndex } from "../catalog/service-tags.js";
import type {
  ApplianceNic,
  AzureFirewall,
  EffectiveRoutesRead,
  Inventory,
  NetworkSecurityGroup,
  Problem,
  RouteTable,
  Subnet,
} from "../inventory/types.js";
import { keyOf, nameOf } from "../inventory/resource-id.js";
import type {
  EndpointVerdict,
  Finding,
  Fix,
  Hop,
  Impact,
  Remediation,
  RunError,
} from "../model.js";
import { NO_DECLARATIONS, type Declarations } from "./declarations.js";
import { firewallRuleFix } from "./fixes/firewall-rule.js";
import { natGatewayFix } from "./fixes/nat-gateway.js";
import { nsgRuleFix } from "./fixes/nsg-rule.js";
import { lazyRemediation } from "./fixes/remediation.js";
import { routeFix } from "./fixes/routes.js";
import { isPlatformSubnet } from "./not-applicable.js";
import type { FirewallDecision } from "./path/firewall-rules.js";
import { PathFollower, unique, type Blocker, type Origin, type Walk } from "./path/follow.js";
import { learnedRoutesOf } from "./path/learned-routes.js";
import { and, type Flow, type MatchContext, type Tri } from "./path/match.js";
import { evaluateNsg } from "./path/nsg-rules.js";
import { subnetOutbound, type OutboundAccess } from "./path/outbound.js";
import {
  compileRouteTable,
  decidedByOf,
  NO_LEARNED,
  type CandidateRoute,
  type CompiledRouteTable,
  type LearnedRoutes,
  type RouteContext,
} from "./path/routes.js";
import { containsIpv4, ipv4ToNumber, parsePrefixCached, rangesOfPrefixes } from "./prefix.js";
import type { ReasonCode } from "./reasons.js";
import { judge, severityOf, type EndpointOutcome, type Verdict } from "./verdict.js";

export interface AuditOptions {
  endpoints: Endpoint[];
  /** Azure's published service-tag file, when the user supplied it. */
  serviceTags?: ServiceTagIndex;
  /** Declared appliance behaviour (--declarations), besides the kms-route-audit-egress tags. */
  declarations?: Declarations;
  /** Endpoint sets judged for every subnet, whatever its VMs (--endpoint-set). */
  forcedSets?: readonly string[];
}

export interface AuditResult {
  /** One per subnet, sorted by subnet ID (case-insensitively) so output is reproducible. */
  findings: Finding[];
  /** Malformed resources and declarations: what depends on them is Unverified. */
  warnings: RunError[];
}

/** Judges every subnet of the inventory (DESIGN.md section 3). Pure: no I/O, no clock. */
export function auditInventory(inventory: Inventory, options: AuditOptions): AuditResult {
  const engine = new AuditEngine(inventory, options);
  const subnets = [...inventory.subnets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const findings: Finding[] = [];
  for (const [key, subnet] of subnets) findings.push(engine.judgeSubnet(key, subnet));
  return { findings, warnings: engine.warnings() };
}

/** What the subnets in one situation share: their endpoints' outcomes and what follows. */
interface Shared {
  outcomes: EndpointOutcome[];
  /** The subnets' outbound access (part of the situation). */
  outbound: OutboundAccess;
  endpoints: EndpointVerdict[];
  verdicts: Map<string, Verdict>;
  sets: string[];
}

interface Situation {
  /** The outcomes depend on the subnet's prefixes (a firewall or NSG rule matched sources). */
  prefixDependent: boolean;
  byPrefix: Map<string, Shared>;
  any: Shared | null;
}

/**
 * Large estates have few distinct situations: many subnets share a route table, a VNet, an outbound
 * method and their filters. Each situation is judged once; its subnets share one outcomes array,
 * one endpoints array and one verdict (findings are never mutated). Only when a rule on the path
 * matched source addresses does a situation split by the subnet's prefixes.
 */
class AuditEngine {
  private readonly follower: PathFollower;
  private readonly ips: number[];
  private readonly compiled = new Map<RouteTable, CompiledRouteTable>();
  private readonly learned = new Map<string, LearnedRoutes>();
  private readonly system = new Map<string, CandidateRoute[]>();
  private readonly contexts = new Map<string, RouteContext>();
  private readonly contextIds = new Map<RouteContext, number>();
  private readonly situations = new Map<string, Situation>();
  private readonly impacts = new Map<string, Impact>();
  private readonly remediations = new Map<string, Fixes>();
  private readonly subscriptionNames = new Map<string, string | null>();
  private readonly problems = new Map<string, Problem>();

  constructor(
    private readonly inventory: Inventory,
    private readonly options: AuditOptions,
  ) {
    this.ips = options.endpoints.map((e) => ipv4ToNumber(e.ip));
    this.follower = new PathFollower({
      inventory,
      serviceTags: options.serviceTags,
      declarations: options.declarations ?? NO_DECLARATIONS,
      matchContext: (origin, ip) => this.matchContext(origin.vnetKey, origin.routes, ip),
      subnetOrigin: (subnetKey, o) => this.applianceOrigin(subnetKey, o.firewallSubnet, o.nic),
      warn: (p) => this.problems.set(`${keyOf(p.resourceId)}|${p.field}`, p),
    });
  }

  warnings(): RunError[] {
    const all = [...this.inventory.problems, ...this.problems.values()];
    const seen = new Set<string>();
    const out: RunError[] = [];
    for (const p of all) {
      const key = `${keyOf(p.resourceId)}|${p.field}|${p.issue}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        code: "RESOURCE_MALFORMED",
        target: p.resourceId,
        message: `${p.resourceId}: ${p.field} ${p.issue}`,
      });
    }
    return out;
  }

  judgeSubnet(subnetKey: string, subnet: Subnet): Finding {
    const inventory = this.inventory;
    const table = subnet.routeTableId
      ? (inventory.routeTables.get(keyOf(subnet.routeTableId)) ?? null)
      : null;
    const impact = this.impactOf(subnetKey);
    const notApplicable = isPlatformSubnet(subnet.name);
    const exemption =
      table?.exemption ??
      inventory.virtualNetworks.get(keyOf(subnet.virtualNetworkId))?.exemption ??
      null;
    const routes = this.routeContextOf(subnet, table, false);
    let shared: Shared;
    if (notApplicable) shared = this.notApplicable();
    else shared = this.sharedFor(subnetKey, subnet, routes, impact);
    const verdictKey = `${notApplicable ? subnet.name : ""}\u0000${exemption ?? ""}`;
    let verdict = shared.verdicts.get(verdictKey);
    if (!verdict) {
      verdict = judge({
        subnetName: subnet.name,
        notApplicable,
        outcomes: shared.outcomes,
        exemption,
      });
      shared.verdicts.set(verdictKey, verdict);
    }
    const fixes = notApplicable ? NO_FIXES : this.remediationFor(subnet, table, shared, verdict);
    return {
      subnetId: subnet.id,
      subnetName: subnet.name,
      virtualNetworkId: subnet.virtualNetworkId,
      virtualNetworkName: subnet.virtualNetworkName,
      subscriptionId: subnet.subscriptionId,
      subscriptionName: this.subscriptionNameOf(subnet.subscriptionId),
      resourceGroup: subnet.resourceGroup,
      location: subnet.location,
      routeTableId: table?.id ?? subnet.routeTableId,
      routeTableName: table?.name ?? (subnet.routeTableId ? nameOf(subnet.routeTableId) : null),
      status: verdict.status,
      severity: severityOf(verdict.status, shared.outcomes, impact),
      reasons: verdict.reasons,
      summary: verdict.summary,
      decidingPath: verdict.decidingPath,
      missingRoutes: fixes.missingRoutes,
      gatewayRoutesPossible: routes.learned.known.length > 0 || routes.learned.unknown.length > 0,
      endpointSets: shared.sets,
      endpoints: shared.endpoints,
      impact,
      remediation: fixes.remediation,
    };
  }

  private notApplicableShared: Shared | null = null;
  private notApplicable(): Shared {
    return (this.notApplicableShared ??= {
      outcomes: [],
      outbound: DEFAULT,
      endpoints: [],
      verdicts: new Map(),
      sets: [],
    });
  }

  private sharedFor(
    subnetKey: string,
    subnet: Subnet,
    routes: RouteContext,
    impact: Impact,
  ): Shared {
    const inventory = this.inventory;
    const outbound = subnetOutbound(inventory, subnet);
    const nsgIds = this.nsgIdsOf(subnetKey, subnet);
    const endpoints = this.endpointsFor(impact);
    const malformed =
      subnet.malformed.length > 0 ? "m" : inventory.conflicting.has(subnetKey) ? "c" : "";
    const key = `${this.contextId(routes)}|${outbound === DEFAULT ? "d" : `${outbound.reachable}:${outbound.reason}:${outbound.detail}:${outbound.resourceId}`}|${nsgIds.join(",")}|${endpoints.mask}|${malformed}`;
    let situation = this.situations.get(key);
    if (!situation) {
      situation = { prefixDependent: false, byPrefix: new Map(), any: null };
      this.situations.set(key, situation);
    }
    if (situation.any && !situation.prefixDependent) return situation.any;
    const prefixKey = subnet.addressPrefixes.join(",");
    const known = situation.byPrefix.get(prefixKey);
    if (known) return known;
    const origin: Origin = {
      key: subnetKey,
      subnetKey,
      resourceId: subnet.id,
      name: subnet.name,
      vnetKey: keyOf(subnet.virtualNetworkId),
      routes,
      outbound,
    };
    const source = rangesOfPrefixes(subnet.addressPrefixes);
    let dependsOnPrefix = nsgIds.length > 0;
    const outcomes = endpoints.list.map((endpoint) => {
      const i = this.options.endpoints.indexOf(endpoint);
      const flow: Flow = {
        source,
        ip: this.ips[i]!,
        port: endpoint.port,
        host: endpoint.host,
        azureKms: endpoint.platformNsgAllowance,
      };
      if (malformed)
        return unknownOutcome(
          endpoint,
          malformed === "m" ? "RESOURCE_MALFORMED" : "RESOURCE_CONFLICTING",
          {
            kind: "Unknown",
            resourceId: subnet.id,
            detail:
              malformed === "m"
                ? `subnet ${subnet.name} is malformed in the data (${subnet.malformed.map((p) => p.field).join(", ")})`
                : `subnet ${subnet.name} appears more than once with different contents`,
          },
        );
      const walk = this.follower.follow(origin, { endpoint, flow }, 1, new Set([subnetKey]));
      if (walk.usedSource) dependsOnPrefix = true;
      const nsg =
        nsgIds.length > 0 ? this.nsgOutcome(nsgIds, routes, endpoint, flow, origin.vnetKey) : null;
      return combine(endpoint, walk, nsg, this.isForced(routes, flow.ip));
    });
    const shared: Shared = {
      outcomes,
      outbound,
      endpoints: outcomes.map(toEndpointVerdict),
      verdicts: new Map(),
      sets: endpoints.sets,
    };
    situation.any ??= shared;
    situation.prefixDependent ||= dependsOnPrefix;
    situation.byPrefix.set(prefixKey, shared);
    return shared;
  }

  private readonly endpointChoices = new Map<
    string,
    { list: Endpoint[]; sets: string[]; mask: string }
  >();

  /** The endpoints judged for a subnet: sets for every subnet, and those its VMs need. */
  private endpointsFor(impact: Impact) {
    const forced = this.options.forcedSets ?? [];
    const applies = (e: Endpoint) =>
      forced.includes(e.set) ||
      e.appliesTo === "all" ||
      (e.appliesTo === "windows" &&
        ((impact.windowsVirtualMachines ?? 0) > 0 || (impact.windowsScaleSetInstances ?? 0) > 0)) ||
      (e.appliesTo === "rhelPayGo" && (impact.rhelPayAsYouGoVirtualMachines ?? 0) > 0) ||
      (e.appliesTo === "slesPayGo" && (impact.slesPayAsYouGoVirtualMachines ?? 0) > 0);
    const mask = this.options.endpoints.map((e) => (applies(e) ? "1" : "0")).join("");
    let choice = this.endpointChoices.get(mask);
    if (!choice) {
      const list = this.options.endpoints.filter(applies);
      choice = { list, sets: unique(list.map((e) => e.set)), mask };
      this.endpointChoices.set(mask, choice);
    }
    return choice;
  }

  private nsgIdsOf(subnetKey: string, subnet: Subnet): string[] {
    const nics = this.inventory.nicsBySubnet.get(subnetKey);
    if (!subnet.networkSecurityGroupId && (!nics || nics.nsgIds.length === 0)) return NO_IDS;
    // NIC NSGs first, then the subnet's: both must allow an outbound flow (network-security-group-how-it-works).
    const ids = [...(nics?.nsgIds ?? [])];
    if (subnet.networkSecurityGroupId) ids.push(subnet.networkSecurityGroupId);
    return ids;
  }

  /**
   * NSG outbound rules for the flow. Azure's platform rule lets KMS through NSGs unless the
   * deployment uses a 0.0.0.0/0 default route (network-security-groups-overview); the page does
   * not say whether a 0.0.0.0/0 route to the Internet counts, so there a deny makes it unknown.
   * A deny of the AzurePlatformLKM tag disables the licensing allowance whatever the routes.
   */
  private nsgOutcome(
    nsgIds: string[],
    routes: RouteContext,
    endpoint: Endpoint,
    flow: Flow,
    vnetKey: string | null,
  ): { reachable: Tri; cause: ReasonCode; hop: Hop; blocker: Blocker | null } | null {
    const nsgs = nsgIds.map((id) => ({
      id,
      nsg: this.inventory.networkSecurityGroups.get(keyOf(id)) ?? null,
    }));
    let applies: Tri = true;
    if (endpoint.platformNsgAllowance) {
      const lkm = nsgs.some(({ nsg }) =>
        nsg?.outbound.some(
          (r) =>
            r.access === "Deny" &&
            r.destinationAddresses.some((a) => a.toLowerCase() === "azureplatformlkm"),
        ),
      );
      applies = lkm ? true : defaultRouteDisablesAllowance(routes);
      if (applies === false) return null;
    }
    const ctx = this.matchContext(vnetKey, routes, flow.ip);
    let unknown: Hop | null = null;
    const allows: string[] = [];
    for (const { id, nsg } of nsgs) {
      if (!nsg) {
        unknown ??= {
          kind: "NetworkSecurityGroup",
          resourceId: id,
          detail: `NSG ${nameOf(id)} is not in the inventory`,
        };
        continue;
      }
      const d = evaluateNsg(nsg, flow, ctx);
      if (d.action === "Deny") {
        const hop: Hop = { kind: "NetworkSecurityGroup", resourceId: nsg.id, detail: d.detail };
        if (applies === null)
          return {
            reachable: null,
            cause: "NSG_RULES_UNKNOWN",
            hop: {
              ...hop,
              detail: `${d.detail}, unless Azure's platform KMS allowance still applies (the subnet's 0.0.0.0/0 route may be learned or goes to the Internet)`,
            },
            blocker: { kind: "nsg", nsgId: nsg.id, priority: d.denyingRule?.priority ?? null },
          };
        return {
          reachable: false,
          cause: "NSG_DENIES_PORT",
          hop,
          blocker: { kind: "nsg", nsgId: nsg.id, priority: d.denyingRule?.priority ?? null },
        };
      }
      if (d.action === null)
        unknown ??= { kind: "NetworkSecurityGroup", resourceId: nsg.id, detail: d.detail };
      else allows.push(nsg.name);
    }
    if (unknown)
      return { reachable: null, cause: "NSG_RULES_UNKNOWN", hop: unknown, blocker: null };
    return {
      reachable: true,
      cause: "REACHABLE_DIRECT",
      hop: {
        kind: "NetworkSecurityGroup",
        resourceId: nsgIds[nsgIds.length - 1]!,
        detail: `NSG ${allows.join(", ")} allow${allows.length === 1 ? "s" : ""} TCP ${flow.port}`,
      },
      blocker: null,
    };
  }

  /** Whether some route of the subnet would send the IP elsewhere: a bypass decides it. */
  private isForced(routes: RouteContext, ip: number): boolean {
    const table = routes.table;
    const away = (r: CandidateRoute) =>
      r.nextHopType.toLowerCase() !== "internet" && containsIpv4(r, ip);
    return (
      (table !== null && (table.cidrs.some(away) || table.tagged.some(away))) ||
      routes.learned.known.some(away)
    );
  }

  private matchContext(vnetKey: string | null, routes: RouteContext, ip: number): MatchContext {
    return {
      serviceTags: this.options.serviceTags,
      ipGroups: this.inventory.ipGroups,
      virtualNetworkTagHoldsIp: this.vnetTagHolds(vnetKey, routes, ip),
    };
  }

  /** The NSG VirtualNetwork tag: the VNet and its peers, plus "might" hold a custom default route. */
  private vnetTagHolds(vnetKey: string | null, routes: RouteContext, ip: number): Tri {
    if (vnetKey !== null && this.systemRoutesOf(vnetKey).some((r) => containsIpv4(r, ip)))
      return true;
    const custom =
      routes.table?.defaultRoute !== null && routes.table?.defaultRoute !== undefined
        ? true
        : routes.learned.known.some((r) => r.length === 0 && containsIpv4(r, ip)) ||
          routes.learned.unknown.length > 0;
    return custom ? null : false;
  }

  /** The route context of a subnet, shared by the subnets with the same table and VNet. */
  private routeContextOf(
    subnet: Subnet,
    table: RouteTable | null,
    firewallSubnet: boolean,
  ): RouteContext {
    const effective = this.inventory.effectiveRoutes.get(keyOf(subnet.id));
    if (effective?.ok) return this.effectiveContext(subnet, effective);
    const vnetKey = keyOf(subnet.virtualNetworkId);
    const missing = subnet.routeTableId !== null && table === null;
    const blocked = table?.disableBgpRoutePropagation === true;
    const key = `${missing ? `missing:${keyOf(subnet.routeTableId!)}` : (table?.id.toLowerCase() ?? "")}|${vnetKey}|${blocked}|${firewallSubnet}`;
    let ctx = this.contexts.get(key);
    if (ctx) return ctx;
    let tableUnknown: RouteContext["tableUnknown"] = null;
    if (missing)
      tableUnknown = {
        reason: "ROUTE_TABLE_NOT_FOUND",
        detail: `route table ${nameOf(subnet.routeTableId!)} is not in the inventory`,
      };
    else if (table && this.inventory.conflicting.has(keyOf(table.id)))
      tableUnknown = {
        reason: "RESOURCE_CONFLICTING",
        detail: `route table ${table.name} appears more than once with different contents`,
      };
    else if (table?.routesUnreadable)
      tableUnknown = {
        reason: "ROUTE_TABLE_UNREADABLE",
        detail: `route table ${table.name} came without its list of routes`,
      };
    else if (table && table.malformed.length > 0)
      tableUnknown = {
        reason: "ROUTE_MALFORMED",
        detail: `route table ${table.name} has malformed routes (${table.malformed.map((p) => p.field).join(", ")})`,
      };
    else if (this.inventory.conflicting.has(vnetKey))
      tableUnknown = {
        reason: "RESOURCE_CONFLICTING",
        detail: `VNet ${nameOf(vnetKey)} appears more than once with different contents`,
      };
    ctx = {
      table: table && !missing ? this.compiledOf(table) : null,
      tableUnknown,
      learned: blocked ? NO_LEARNED : this.learnedOf(vnetKey),
      system: this.systemRoutesOf(vnetKey),
      firewallSubnet,
    };
    this.contexts.set(key, ctx);
    return ctx;
  }

  /**
   * A subnet whose NIC's effective routes were read: Azure already chose among route-table,
   * learned and system routes (losers are Invalid), so the active routes are the whole story and no
   * learned route is unknown.
   */
  private effectiveContext(subnet: Subnet, read: EffectiveRoutesRead & { ok: true }): RouteContext {
    const key = `effective|${keyOf(subnet.id)}`;
    const known = this.contexts.get(key);
    if (known) return known;
    const user: CandidateRoute[] = [];
    const learned: CandidateRoute[] = [];
    const system: CandidateRoute[] = [];
    const nic = nameOf(read.networkInterfaceId);
    for (const r of read.routes) {
      if ((r.state ?? "Active").toLowerCase() !== "active") continue;
      const source = (r.source ?? "").toLowerCase();
      const hop = r.nextHopType ?? "(none)";
      for (const prefix of r.addressPrefixes) {
        const parsed = parsePrefixCached(prefix);
        if (parsed.kind !== "ipv4") continue;
        const base = {
          network: parsed.network,
          length: parsed.length,
          nextHopType: hop,
          nextHop: r.nextHopIp,
          prefix,
          name: r.name,
          resourceId: read.networkInterfaceId,
          protected: false,
          learned: null,
        };
        if (source === "user") user.push({ ...base, source: "UserDefinedRoute" });
        else if (source === "default")
          system.push({
            ...base,
            source: "SystemRoute",
            protected: /^vnet(local|peering)$/i.test(hop),
          });
        else
          learned.push({
            ...base,
            source: "LearnedRoute",
            learned: {
              kind: "gateway",
              leadsTo:
                hop.toLowerCase() === "virtualappliance" && r.nextHopIp
                  ? { kind: "applianceIp", ip: r.nextHopIp }
                  : { kind: "onPremises", gatewayId: null },
              detail: `effective route of NIC ${nic} (${r.source ?? "learned"} → ${hop}${r.nextHopIp ? ` ${r.nextHopIp}` : ""})`,
              reason: "BGP_DEFAULT_ROUTE_LEARNED",
            },
          });
      }
    }
    const byLength = (a: CandidateRoute, b: CandidateRoute) => b.length - a.length;
    const table: CompiledRouteTable = {
      table: {
        id: read.networkInterfaceId,
        name: `effective routes of ${nic}`,
        subscriptionId: "",
        resourceGroup: "",
        location: null,
        routes: [],
        disableBgpRoutePropagation: false,
        routesUnreadable: false,
        malformed: [],
        exemption: null,
      },
      cidrs: user.sort(byLength),
      tagged: [],
      unresolvedTags: [],
      defaultRoute: user.find((r) => r.length === 0) ?? null,
    };
    const ctx: RouteContext = {
      table,
      tableUnknown: null,
      learned: { known: learned.sort(byLength), unknown: [] },
      system: system.filter((r) => r.length > 0).sort(byLength),
      firewallSubnet: false,
    };
    this.contexts.set(key, ctx);
    return ctx;
  }

  private contextId(ctx: RouteContext): number {
    let id = this.contextIds.get(ctx);
    if (id === undefined) this.contextIds.set(ctx, (id = this.contextIds.size));
    return id;
  }

  private compiledOf(table: RouteTable): CompiledRouteTable {
    let c = this.compiled.get(table);
    if (!c) this.compiled.set(table, (c = compileRouteTable(table, this.options.serviceTags)));
    return c;
  }

  private learnedOf(vnetKey: string): LearnedRoutes {
    let l = this.learned.get(vnetKey);
    if (!l) this.learned.set(vnetKey, (l = learnedRoutesOf(this.inventory, vnetKey)));
    return l;
  }

  /** VnetLocal for the VNet's address space, VNetPeering for its peers' (udr-overview). */
  private systemRoutesOf(vnetKey: string): CandidateRoute[] {
    let routes = this.system.get(vnetKey);
    if (routes) return routes;
    routes = [];
    const vnet = this.inventory.virtualNetworks.get(vnetKey);
    const add = (prefixes: readonly string[], hop: string, resourceId: string) => {
      for (const p of prefixes) {
        const parsed = parsePrefixCached(p);
        if (parsed.kind !== "ipv4") continue;
        routes!.push({
          network: parsed.network,
          length: parsed.length,
          source: "SystemRoute",
          nextHopType: hop,
          nextHop: null,
          prefix: p,
          name: null,
          resourceId,
          protected: true,
          learned: null,
        });
      }
    };
    if (vnet) {
      add(vnet.addressPrefixes, "VnetLocal", vnet.id);
      for (const peering of vnet.peerings) {
        const remote = peering.remoteVirtualNetworkKey
          ? this.inventory.virtualNetworks.get(peering.remoteVirtualNetworkKey)
          : undefined;
        if (remote) add(remote.addressPrefixes, "VNetPeering", remote.id);
      }
    }
    routes.sort((a, b) => b.length - a.length);
    this.system.set(vnetKey, routes);
    return routes;
  }

  /** A firewall's or an appliance's subnet as the origin of its onward traffic. */
  private applianceOrigin(
    subnetKey: string,
    firewallSubnet: boolean,
    nic?: ApplianceNic,
  ): Origin | null {
    const subnet = this.inventory.subnets.get(subnetKey);
    if (!subnet) return null;
    const table = subnet.routeTableId
      ? (this.inventory.routeTables.get(keyOf(subnet.routeTableId)) ?? null)
      : null;
    const outbound: OutboundAccess =
      nic?.publicIp === true
        ? {
            reachable: true,
            reason: "REACHABLE_DIRECT",
            detail: `the appliance's public IP`,
            resourceId: nic.id,
          }
        : subnetOutbound(this.inventory, subnet);
    return {
      key: subnetKey,
      subnetKey,
      resourceId: subnet.id,
      name: subnet.name,
      vnetKey: keyOf(subnet.virtualNetworkId),
      routes: this.routeContextOf(subnet, table, firewallSubnet),
      outbound,
    };
  }

  private impactOf(subnetKey: string): Impact {
    const inv = this.inventory;
    const count = (m: Map<string, number> | null) => (m ? (m.get(subnetKey) ?? 0) : null);
    const impact: Impact = {
      networkInterfaces: count(inv.nicCountBySubnet),
      windowsVirtualMachines: count(inv.windowsVmCountBySubnet),
      windowsScaleSetInstances: count(inv.windowsScaleSetInstancesBySubnet),
      linuxVirtualMachines: count(inv.linuxVmCountBySubnet),
      rhelPayAsYouGoVirtualMachines: count(inv.rhelPayGoVmCountBySubnet),
      slesPayAsYouGoVirtualMachines: count(inv.slesPayGoVmCountBySubnet),
    };
    // Most subnets have the same few counts: one object each.
    const key = `${impact.networkInterfaces},${impact.windowsVirtualMachines},${impact.windowsScaleSetInstances},${impact.linuxVirtualMachines},${impact.rhelPayAsYouGoVirtualMachines},${impact.slesPayAsYouGoVirtualMachines}`;
    const known = this.impacts.get(key);
    if (known) return known;
    this.impacts.set(key, impact);
    return impact;
  }

  private subscriptionNameOf(id: string): string | null {
    let name = this.subscriptionNames.get(id);
    if (name === undefined)
      this.subscriptionNames.set(
        id,
        (name = this.inventory.subscriptionNames.get(id.toLowerCase()) ?? null),
      );
    return name;
  }

  /**
   * The fixes per cause (DESIGN.md section 3, rule 7), added only where something is missing and
   * never breaking a working path: /32 routes to the Internet for IPs that routing sends away (or
   * leaves unknown) when the subnet has outbound access, and with a NAT gateway when it is private;
   * a NAT gateway alone when only the outbound method is missing; a firewall rule where a firewall
   * denies; an NSG rule above an NSG's deny.
   */
  private remediationFor(
    subnet: Subnet,
    table: RouteTable | null,
    shared: Shared,
    verdict: Verdict,
  ): Fixes {
    if (verdict.status === "Compliant" || verdict.status === "NotApplicable") return NO_FIXES;
    const plan = planFixes(shared.outcomes, shared.outbound);
    if (
      plan.routeIps.length === 0 &&
      !plan.nat &&
      plan.firewalls.size === 0 &&
      plan.nsgs.size === 0
    )
      return NO_FIXES;
    // Route-only fixes depend on the table (or the subnet, without one) and the outcomes: share them.
    const routeOnly = !plan.nat && plan.firewalls.size === 0 && plan.nsgs.size === 0;
    const cacheKey =
      routeOnly && subnet.routeTableId
        ? `${keyOf(subnet.routeTableId)}|${this.outcomeId(shared.outcomes)}`
        : null;
    if (cacheKey) {
      const cached = this.remediations.get(cacheKey);
      if (cached !== undefined) return cached;
    }
    const inventory = this.inventory;
    const build = (): Fix[] => {
      const fixes: Fix[] = [];
      if (plan.routeIps.length > 0)
        fixes.push(
          routeFix(
            {
              subnetName: subnet.name,
              virtualNetworkName: subnet.virtualNetworkName,
              subscriptionId: subnet.subscriptionId,
              resourceGroup: subnet.resourceGroup,
              location: subnet.location,
              routeTableId: table?.id ?? subnet.routeTableId,
              existingRoutes: table?.routes ?? null,
              missing: plan.routeIps,
            },
            plan.routeCauses,
          ),
        );
      if (plan.nat)
        fixes.push(
          natGatewayFix(
            {
              subnetName: subnet.name,
              virtualNetworkName: subnet.virtualNetworkName,
              subscriptionId: subnet.subscriptionId,
              resourceGroup: subnet.resourceGroup,
              location: subnet.location,
            },
            ["PRIVATE_SUBNET_NO_OUTBOUND"],
          ),
        );
      for (const f of plan.firewalls.values())
        fixes.push(
          firewallRuleFix(
            {
              firewall: f.firewall,
              decision: f.decision,
              sourcePrefixes: subnet.addressPrefixes,
              subnetName: subnet.name,
              endpoints: f.endpoints,
            },
            ["FIREWALL_DENIES_PORT"],
          ),
        );
      for (const n of plan.nsgs.values())
        fixes.push(
          nsgRuleFix(
            {
              nsgId: n.nsgId,
              nsg:
                inventory.networkSecurityGroups.get(keyOf(n.nsgId)) ??
                (null as NetworkSecurityGroup | null),
              denyPriority: n.priority,
              endpoints: n.endpoints,
            },
            ["NSG_DENIES_PORT"],
          ),
        );
      return fixes;
    };
    const fixes: Fixes = {
      remediation: lazyRemediation(build),
      missingRoutes: plan.routeIps.map((e) => `${e.ip}/32`),
    };
    if (cacheKey) this.remediations.set(cacheKey, fixes);
    return fixes;
  }

  private readonly outcomeIds = new Map<EndpointOutcome[], number>();
  private outcomeId(outcomes: EndpointOutcome[]): number {
    let id = this.outcomeIds.get(outcomes);
    if (id === undefined) this.outcomeIds.set(outcomes, (id = this.outcomeIds.size));
    return id;
  }
}

const NO_IDS: string[] = [];

interface Fixes {
  remediation: Remediation | null;
  /** The /32s the route fix adds. */
  missingRoutes: string[];
}
const NO_FIXES: Fixes = { remediation: null, missingRoutes: [] };
const DEFAULT = subnetOutbound(
  {
    natGateways: new Map(),
    nicCountBySubnet: null,
    nicsBySubnet: new Map(),
  } as unknown as Inventory,
  { natGatewayId: null, defaultOutboundAccess: null } as Subnet,
);

interface FixPlan {
  routeIps: { set: string; ip: string }[];
  routeCauses: ReasonCode[];
  nat: boolean;
  firewalls: Map<
    string,
    { firewall: AzureFirewall; decision: FirewallDecision; endpoints: FixEndpoint[] }
  >;
  nsgs: Map<string, { nsgId: string; priority: number | null; endpoints: FixEndpoint[] }>;
}

type FixEndpoint = { set: string; ip: string; port: number };

function planFixes(outcomes: EndpointOutcome[], outbound: OutboundAccess): FixPlan {
  const plan: FixPlan = {
    routeIps: [],
    routeCauses: [],
    nat: false,
    firewalls: new Map(),
    nsgs: new Map(),
  };
  const seen = new Set<string>();
  for (const o of outcomes) {
    if (o.reachable === true) continue;
    const definite = o.reachable === false;
    const e = { set: o.endpoint.set, ip: o.endpoint.ip, port: o.endpoint.port };
    let route = false;
    for (const b of o.blockers) {
      switch (b.kind) {
        case "route":
          route = true;
          break;
        case "outbound":
          if (definite) plan.nat = true;
          break;
        case "firewall":
          if (definite) {
            const key = keyOf(b.firewall.id);
            const entry = plan.firewalls.get(key) ?? {
              firewall: b.firewall,
              decision: b.decision,
              endpoints: [],
            };
            entry.endpoints.push(e);
            plan.firewalls.set(key, entry);
          }
          break;
        case "nsg":
          if (definite) {
            const key = keyOf(b.nsgId);
            const entry = plan.nsgs.get(key) ?? {
              nsgId: b.nsgId,
              priority: b.priority,
              endpoints: [],
            };
            entry.endpoints.push(e);
            plan.nsgs.set(key, entry);
          }
          break;
      }
    }
    // Unknown IPs get routes only where the subnet has outbound access: there a /32 to the Internet
    // decides them; in a private subnet it could break a path that works.
    if (route && (definite || outbound.reachable === true) && !seen.has(o.endpoint.ip)) {
      seen.add(o.endpoint.ip);
      plan.routeIps.push({ set: o.endpoint.set, ip: o.endpoint.ip });
      for (const c of o.causes) if (!plan.routeCauses.includes(c)) plan.routeCauses.push(c);
    }
  }
  // Routes with next hop Internet never work from a private subnet without an outbound method.
  if (plan.routeIps.length > 0 && outbound.reachable === false) plan.nat = true;
  return plan;
}

function defaultRouteDisablesAllowance(routes: RouteContext): Tri {
  const own = routes.table?.defaultRoute;
  if (own) return own.nextHopType.toLowerCase() === "internet" ? null : true;
  if (routes.learned.known.some((r) => r.length === 0)) return true;
  return routes.learned.unknown.length > 0 ? null : false;
}

function unknownOutcome(endpoint: Endpoint, cause: ReasonCode, hop: Hop): EndpointOutcome {
  return {
    endpoint,
    reachable: null,
    causes: [cause],
    path: [hop],
    blockers: [],
    firstRoute: null,
    forced: false,
  };
}

function combine(
  endpoint: Endpoint,
  walk: Walk,
  nsg: { reachable: Tri; cause: ReasonCode; hop: Hop; blocker: Blocker | null } | null,
  forced: boolean,
): EndpointOutcome {
  if (!nsg)
    return {
      endpoint,
      reachable: walk.reachable,
      causes: walk.causes,
      path: walk.hops,
      blockers: walk.blockers,
      firstRoute: walk.firstRoute,
      forced,
    };
  const reachable = and(nsg.reachable, walk.reachable);
  const nsgFirst = nsg.reachable === false || (nsg.reachable === null && walk.reachable !== false);
  const causes =
    nsg.reachable === true
      ? walk.causes
      : nsgFirst
        ? unique([nsg.cause, ...(walk.reachable === true ? [] : walk.causes)])
        : unique([...walk.causes, nsg.cause]);
  return {
    endpoint,
    reachable,
    causes,
    path: [nsg.hop, ...walk.hops],
    blockers: nsg.blocker ? [nsg.blocker, ...walk.blockers] : walk.blockers,
    firstRoute: walk.firstRoute,
    forced,
  };
}

/** One endpoint's verdict as findings report it. */
export function toEndpointVerdict(o: EndpointOutcome): EndpointVerdict {
  const r = o.firstRoute;
  return {
    set: o.endpoint.set,
    host: o.endpoint.host,
    ip: o.endpoint.ip,
    port: o.endpoint.port,
    protocol: "TCP",
    reachable: o.reachable,
    reason: o.causes[0]!,
    path: o.path,
    nextHopType: r ? r.nextHopType : null,
    addressPrefix: r ? r.prefix : null,
    routeName: r ? r.name : null,
    decidedBy: r ? decidedByOf(r) : "Unknown",
  };
}
