import type { Endpoint } from "../catalog/endpoints.js";
import type { ServiceTagIndex } from "../catalog/service-tags.js";
import type {
  ApplianceNic,
  AzureFirewall,
  EffectiveRoutesRead,
  Inventory,
  Problem,
  RouteTable,
  Subnet,
} from "../inventory/types.js";
import { prefixesOfSubnet } from "../inventory/types.js";
import { keyOf, nameOf } from "../inventory/resource-id.js";
import type {
  EndpointVerdict,
  Exemption,
  Finding,
  PolicyConflict,
  Severity,
  Hop,
  Impact,
  Remediation,
  RunError,
} from "../model.js";
import { NO_DECLARATIONS, type Declarations } from "../catalog/declarations.js";
import { LazyRemediation } from "./fixes/remediation.js";
import { freeRouteName } from "./fixes/routes.js";
import {
  DenyPolicies,
  natCandidates,
  routeCandidate,
  routeTableCandidate,
} from "../policy/deny-policies.js";
import { resourceName } from "./fixes/quote.js";
import { isPlatformSubnet } from "./not-applicable.js";
import { PathFollower, unique, type Blocker, type Origin, type Walk } from "./path/follow.js";
import { learnedRoutesOf } from "./path/learned-routes.js";
import { and, type Flow, type MatchContext, type Tri } from "./path/match.js";
import { evaluateNsg } from "./path/nsg-rules.js";
import { DEFAULT_OUTBOUND, subnetOutbound, type OutboundAccess } from "./path/outbound.js";
import {
  compileRouteTable,
  decidedByOf,
  NO_LEARNED,
  type CandidateRoute,
  type CompiledRouteTable,
  type LearnedRoutes,
  type RouteContext,
} from "./path/routes.js";
import {
  containsIpv4,
  ipv4ToNumber,
  parsePrefixCached,
  rangesOfPrefixes,
  type Ipv4Range,
} from "../net/ipv4.js";
import type { ReasonCode } from "../reasons.js";
import { judge, severityOf, type EndpointOutcome, type Verdict } from "./verdict.js";
import {
  ExemptionIndex,
  exemptionLabel,
  NO_EXEMPTIONS,
  tagExemption,
  type SubnetExemptions,
} from "../policy/exemptions.js";
import { buildFixes, planFixes, type FixPlan, type PolicyFixes } from "./fixes/plan-fixes.js";

export interface AuditOptions {
  endpoints: Endpoint[];
  /** Azure's published service-tag file, when the user supplied it. */
  serviceTags?: ServiceTagIndex;
  /** Declared appliance behaviour (--declarations), besides the kms-route-audit-egress tags. */
  declarations?: Declarations;
  /** Endpoint sets judged for every subnet, whatever its VMs (--endpoint-set). */
  forcedSets?: readonly string[];
  /**
   * The run's time: exemptions (Azure Policy exemptions, the tag's until=) that expired before it
   * are not honoured. Default: the epoch (nothing has expired); every entry point passes the run's
   * start.
   */
  asOf?: Date;
  /** The attested assignment, whose Azure Policy exemptions make subnets Exempt. */
  policyAssignment?: { id: string; definitionReferenceId: string | null } | null;
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
  /** By the exemption's justification (null: none); platform subnets by name too. */
  verdicts: Map<string | null, Verdict>;
  sets: string[];
  /** The fixes the outcomes call for (computed once, for the first subnet that needs them). */
  plan?: FixPlan;
  /** Fix scripts by route table (route-only fixes are the same for its subnets). */
  fixes?: Map<RouteTable | string, Fixes>;
  severities?: Map<Impact, Severity>;
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
  // The hot loop neither lower-cases IDs nor builds keys: caches are keyed by objects, by IDs as
  // the data spells them, or nested by their parts.
  private readonly compiled = new Map<RouteTable, CompiledRouteTable>();
  private readonly learned = new Map<string, LearnedRoutes>();
  private readonly system = new Map<string, CandidateRoute[]>();
  private readonly contexts = new Map<RouteTable | string | null, Map<string, RouteContext>>();
  private readonly firewallContexts = new Map<string, RouteContext>();
  private readonly situations = new Map<
    RouteContext,
    Map<OutboundAccess, Map<string, Map<EndpointChoice, Situation>>>
  >();
  private readonly simpleSituations = new Map<RouteContext, Situation>();
  private readonly outbounds = new Map<string, OutboundAccess>();
  private readonly tables = new Map<string, RouteTable | null>();
  private readonly vnets = new Map<string, { key: string; exemption: string | null }>();
  private readonly subscriptionNames = new Map<string, string | null>();
  private readonly problems = new Map<string, Problem>();
  private readonly exemptionIndex: ExemptionIndex;
  private readonly deny: DenyPolicies;
  private readonly tagExemptions = new Map<string, Exemption>();
  private readonly asOf: Date;

  constructor(
    private readonly inventory: Inventory,
    private readonly options: AuditOptions,
  ) {
    this.asOf = options.asOf ?? new Date(0);
    this.deny = new DenyPolicies(inventory);
    this.exemptionIndex = new ExemptionIndex(inventory, {
      assignmentId: options.policyAssignment?.id ?? null,
      definitionReferenceId: options.policyAssignment?.definitionReferenceId ?? null,
      asOf: this.asOf,
    });
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
    const table = subnet.routeTableId ? this.tableOf(subnet.routeTableId) : null;
    const vnet = this.vnetOf(subnet.virtualNetworkId);
    const impact = this.impactOf(subnetKey);
    const notApplicable = isPlatformSubnet(subnet.name);
    const exemptions = notApplicable ? NO_EXEMPTIONS : this.exemptionsOf(subnet, table, vnet);
    const exemption = exemptions.active
      ? {
          label: exemptionLabel(exemptions.active),
          reason: (exemptions.active.source === "tag" ? "EXEMPTED" : "POLICY_EXEMPT") as ReasonCode,
        }
      : null;
    const routes = this.routeContextOf(subnetKey, subnet, vnet.key, table, false);
    const shared = notApplicable
      ? this.notApplicable()
      : this.sharedFor(subnetKey, subnet, vnet.key, routes, impact);
    // The platform-subnet summary names the subnet, so those verdicts are per name.
    const unhonoured = exemptions.unhonoured.length > 0;
    const verdictKey = notApplicable
      ? subnet.name
      : exemption === null && !unhonoured
        ? null
        : `${exemption?.reason ?? ""}|${exemption?.label ?? ""}|${unhonoured ? "u" : ""}`;
    let verdict = shared.verdicts.get(verdictKey);
    if (!verdict) {
      verdict = judge({
        subnetName: subnet.name,
        notApplicable,
        outcomes: shared.outcomes,
        exemption,
        unhonouredExemption: unhonoured,
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
      severity: this.severityOf(shared, verdict, impact),
      reasons:
        fixes.conflicts.length === 0
          ? verdict.reasons
          : withConflictReasons(verdict.reasons, fixes.conflicts),
      summary: verdict.summary,
      missingRoutes: fixes.missingRoutes,
      gatewayRoutesPossible: routes.learned.known.length > 0 || routes.learned.unknown.length > 0,
      endpointSets: shared.sets,
      endpoints: shared.endpoints,
      impact,
      remediation: fixes.remediation,
      exemption:
        verdict.status === "Exempt" && exemptions.active
          ? {
              ...exemptions.active,
              statusWithout: verdict.statusWithout as "NonCompliant" | "Unverified",
            }
          : null,
      unhonouredExemptions: exemptions.unhonoured,
      policyConflicts: fixes.conflicts,
    };
  }

  /**
   * The exemptions covering a subnet: Azure Policy exemptions of the attested assignment (at the
   * subnet, its VNet, resource group, subscription or a management group above), then the tag on
   * its route table, then on its VNet. The first that counts makes it Exempt.
   */
  private exemptionsOf(
    subnet: Subnet,
    table: RouteTable | null,
    vnet: { exemption: string | null },
  ): SubnetExemptions {
    const tags: Exemption[] = [];
    if (table?.exemption != null) tags.push(this.tagOf(table.exemption, table.id));
    if (vnet.exemption !== null) tags.push(this.tagOf(vnet.exemption, subnet.virtualNetworkId));
    const native = this.exemptionIndex.empty ? null : this.exemptionIndex.coverOf(subnet);
    if (
      tags.length === 0 &&
      (native === null || (!native.active && native.unhonoured.length === 0))
    )
      return NO_EXEMPTIONS;
    const active = native?.active ?? tags.find((t) => t.state === "active") ?? null;
    const unhonoured = [...(native?.unhonoured ?? []), ...tags.filter((t) => t.state !== "active")];
    return { active, unhonoured: unhonoured.length === 0 ? NO_EXEMPTIONS.unhonoured : unhonoured };
  }

  private tagOf(value: string, resourceId: string): Exemption {
    const key = `${resourceId}|${value}`;
    let e = this.tagExemptions.get(key);
    if (!e) this.tagExemptions.set(key, (e = tagExemption(value, resourceId, this.asOf)));
    return e;
  }

  private severityOf(shared: Shared, verdict: Verdict, impact: Impact): Severity {
    if (verdict.status !== "NonCompliant") return verdict.status === "Unverified" ? "low" : "none";
    const bySeverity = (shared.severities ??= new Map<Impact, Severity>());
    let severity = bySeverity.get(impact);
    if (!severity)
      bySeverity.set(impact, (severity = severityOf(verdict.status, shared.outcomes, impact)));
    return severity;
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
    vnetKey: string,
    routes: RouteContext,
    impact: Impact,
  ): Shared {
    const inventory = this.inventory;
    const outbound = this.internOutbound(subnetOutbound(inventory, subnet));
    const nsgIds = this.nsgIdsOf(subnetKey, subnet);
    const endpoints = this.endpointsFor(impact);
    const malformed =
      subnet.malformed.length > 0 ? "m" : inventory.conflicting.has(subnetKey) ? "c" : "";
    let situation: Situation | undefined;
    const nsgKey = nsgIds.length === 0 ? "" : nsgIds.join(",");
    if (
      malformed === "" &&
      outbound === DEFAULT &&
      nsgKey === "" &&
      endpoints === this.defaultChoice
    ) {
      // Nearly every subnet: default outbound access, no NSG, the default endpoint sets.
      situation = this.simpleSituations.get(routes);
      if (!situation) {
        situation = { prefixDependent: false, byPrefix: new Map(), any: null };
        this.simpleSituations.set(routes, situation);
      }
      if (situation.any && !situation.prefixDependent) return situation.any;
    } else if (malformed === "") {
      let byOutbound = this.situations.get(routes);
      if (!byOutbound)
        this.situations.set(
          routes,
          (byOutbound = new Map<OutboundAccess, Map<string, Map<EndpointChoice, Situation>>>()),
        );
      let byNsg = byOutbound.get(outbound);
      if (!byNsg)
        byOutbound.set(outbound, (byNsg = new Map<string, Map<EndpointChoice, Situation>>()));
      let byEndpoints = byNsg.get(nsgKey);
      if (!byEndpoints) byNsg.set(nsgKey, (byEndpoints = new Map<EndpointChoice, Situation>()));
      situation = byEndpoints.get(endpoints);
      if (!situation) {
        situation = { prefixDependent: false, byPrefix: new Map(), any: null };
        byEndpoints.set(endpoints, situation);
      }
      if (situation.any && !situation.prefixDependent) return situation.any;
    } else situation = { prefixDependent: true, byPrefix: new Map(), any: null };
    const prefixKey = subnet.addressPrefixes?.join(",") ?? subnet.addressPrefix ?? "";
    const known = situation.byPrefix.get(prefixKey);
    if (known) return known;
    const origin: Origin = {
      key: subnetKey,
      subnetKey,
      resourceId: subnet.id,
      name: subnet.name,
      vnetKey,
      routes,
      outbound,
    };
    let ranges: Ipv4Range[] | null | undefined;
    const source = () =>
      ranges === undefined ? (ranges = rangesOfPrefixes(prefixesOfSubnet(subnet))) : ranges;
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

  private readonly endpointChoices = new Map<Impact, EndpointChoice>();
  private defaultChoiceCache: EndpointChoice | undefined;
  private get defaultChoice(): EndpointChoice {
    return (this.defaultChoiceCache ??= this.endpointsFor(this.inventory.defaultImpact));
  }
  private readonly choicesByMask = new Map<string, EndpointChoice>();

  /** The endpoints judged for a subnet: sets for every subnet, and those its VMs need. */
  private endpointsFor(impact: Impact): EndpointChoice {
    const cached = this.endpointChoices.get(impact);
    if (cached) return cached;
    const forced = this.options.forcedSets ?? [];
    const applies = (e: Endpoint) =>
      forced.includes(e.set) ||
      e.appliesTo === "all" ||
      (e.appliesTo === "windows" &&
        ((impact.windowsVirtualMachines ?? 0) > 0 || (impact.windowsScaleSetInstances ?? 0) > 0)) ||
      (e.appliesTo === "rhelPayGo" && (impact.rhelPayAsYouGoVirtualMachines ?? 0) > 0) ||
      (e.appliesTo === "slesPayGo" && (impact.slesPayAsYouGoVirtualMachines ?? 0) > 0);
    const mask = this.options.endpoints.map((e) => (applies(e) ? "1" : "0")).join("");
    let choice = this.choicesByMask.get(mask);
    if (!choice) {
      const list = this.options.endpoints.filter(applies);
      choice = { list, sets: unique(list.map((e) => e.set)) };
      this.choicesByMask.set(mask, choice);
    }
    this.endpointChoices.set(impact, choice);
    return choice;
  }

  /** Rare outbound situations (NAT gateways, private subnets) as one object each. */
  private internOutbound(outbound: OutboundAccess): OutboundAccess {
    if (outbound === DEFAULT) return outbound;
    const key = `${outbound.reachable}|${outbound.reason}|${outbound.detail}|${outbound.resourceId}`;
    const known = this.outbounds.get(key);
    if (known) return known;
    this.outbounds.set(key, outbound);
    return outbound;
  }

  private tableOf(id: string): RouteTable | null {
    let table = this.tables.get(id);
    if (table === undefined)
      this.tables.set(id, (table = this.inventory.routeTables.get(keyOf(id)) ?? null));
    return table;
  }

  private vnetOf(id: string): { key: string; exemption: string | null } {
    let vnet = this.vnets.get(id);
    if (!vnet) {
      const key = keyOf(id);
      vnet = { key, exemption: this.inventory.virtualNetworks.get(key)?.exemption ?? null };
      this.vnets.set(id, vnet);
    }
    return vnet;
  }

  private nsgIdsOf(subnetKey: string, subnet: Subnet): string[] {
    const nics =
      this.inventory.nicsBySubnet.size > 0 ? this.inventory.nicsBySubnet.get(subnetKey) : undefined;
    const missingNics =
      subnet.listedNics !== null &&
      subnet.listedNics > (this.impactOf(subnetKey).networkInterfaces ?? 0);
    if (!subnet.networkSecurityGroupId && !nics?.nsgIds.length && !missingNics && !subnet.unread)
      return NO_IDS;
    // NIC NSGs first, then the subnet's: both must allow an outbound flow (network-security-group-how-it-works).
    // NICs (or a subnet) not in the inventory may have NSGs: a placeholder that is never found.
    const ids = [...(nics?.nsgIds ?? [])];
    if (missingNics) ids.push(UNREAD_NIC_NSGS);
    if (subnet.unread) ids.push(UNREAD_SUBNET_NSG);
    else if (subnet.networkSecurityGroupId) ids.push(subnet.networkSecurityGroupId);
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
    // An NSG the audit cannot read may deny anything, AzurePlatformLKM included.
    const unreadable = nsgs.some(({ nsg }) => nsg === null);
    if (endpoint.platformNsgAllowance) {
      const lkm = nsgs.some(({ nsg }) =>
        nsg?.outbound.some(
          (r) =>
            r.access === "Deny" &&
            r.destinationAddresses.some((a) => a.toLowerCase() === "azureplatformlkm"),
        ),
      );
      applies = lkm ? true : defaultRouteDisablesAllowance(routes);
      if (applies === false && !unreadable) return null;
    }
    const ctx = this.matchContext(vnetKey, routes, flow.ip);
    let unknown: Hop | null = null;
    const allows: string[] = [];
    for (const { id, nsg } of nsgs) {
      if (!nsg) {
        unknown ??= {
          kind: "NetworkSecurityGroup",
          resourceId: id === UNREAD_NIC_NSGS || id === UNREAD_SUBNET_NSG ? null : id,
          detail:
            id === UNREAD_NIC_NSGS
              ? "the subnet names NICs the inventory does not hold: their NSGs are unknown"
              : id === UNREAD_SUBNET_NSG
                ? "the subnet's own row is not in the inventory: its NSG is unknown"
                : `NSG ${nameOf(id)} is not in the inventory`,
        };
        continue;
      }
      // With the platform's KMS allowance in force only an AzurePlatformLKM deny could block.
      if (applies === false) continue;
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
    subnetKey: string,
    subnet: Subnet,
    vnetKey: string,
    table: RouteTable | null,
    firewallSubnet: boolean,
  ): RouteContext {
    const effective =
      this.inventory.effectiveRoutes.size > 0
        ? this.inventory.effectiveRoutes.get(subnetKey)
        : undefined;
    if (effective?.ok) return this.effectiveContext(subnet, effective);
    const ctx = this.tableContextOf(subnetKey, subnet, vnetKey, table, firewallSubnet);
    if (!effective || ctx.learned.unknown.length === 0) return ctx;
    // The read that would have decided the learned routes failed: that is the first thing to say.
    const key = `unreadable|${subnetKey}`;
    const known = this.firewallContexts.get(key);
    if (known) return known;
    const unreadable: RouteContext = {
      ...ctx,
      learned: {
        ...ctx.learned,
        unknown: [
          {
            reason: "EFFECTIVE_ROUTES_UNREADABLE",
            resourceId: effective.networkInterfaceId,
            detail: `the effective routes of NIC ${nameOf(effective.networkInterfaceId)} could not be read: ${effective.message}`,
            canSucceed: ctx.learned.unknown.some((u) => u.canSucceed),
          },
          ...ctx.learned.unknown,
        ],
      },
    };
    this.firewallContexts.set(key, unreadable);
    return unreadable;
  }

  private tableContextOf(
    subnetKey: string,
    subnet: Subnet,
    vnetKey: string,
    table: RouteTable | null,
    firewallSubnet: boolean,
  ): RouteContext {
    const missing = subnet.routeTableId !== null && table === null;
    const blocked = table?.disableBgpRoutePropagation === true;
    let byVnet: Map<string, RouteContext> | undefined;
    if (firewallSubnet) {
      const known = this.firewallContexts.get(subnetKey);
      if (known) return known;
    } else {
      const tableKey = missing ? subnet.routeTableId! : table;
      byVnet = this.contexts.get(tableKey);
      if (!byVnet) this.contexts.set(tableKey, (byVnet = new Map<string, RouteContext>()));
      const known = byVnet.get(vnetKey);
      if (known) return known;
    }
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
    const ctx: RouteContext = {
      table: table && !missing ? this.compiledOf(table) : null,
      tableUnknown,
      learned: blocked ? NO_LEARNED : this.learnedOf(vnetKey),
      system: this.systemRoutesOf(vnetKey),
      firewallSubnet,
    };
    if (byVnet) byVnet.set(vnetKey, ctx);
    else this.firewallContexts.set(subnetKey, ctx);
    return ctx;
  }

  /**
   * A subnet whose NIC's effective routes were read: Azure already chose among route-table,
   * learned and system routes (losers are Invalid), so the active routes are the whole story and no
   * learned route is unknown.
   */
  private effectiveContext(subnet: Subnet, read: EffectiveRoutesRead & { ok: true }): RouteContext {
    const key = `effective|${keyOf(subnet.id)}`;
    const known = this.firewallContexts.get(key);
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
              detail: `effective route of NIC ${nic} (${r.source ?? "learned"} -> ${hop}${r.nextHopIp ? ` ${r.nextHopIp}` : ""})`,
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
    this.firewallContexts.set(key, ctx);
    return ctx;
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
        // Only a system route that holds an endpoint IP can decide one: most VNets have none, and
        // a prefix of /8 or longer whose first octet no endpoint has cannot (no parse needed).
        if (this.cannotHoldEndpoint(p)) continue;
        const parsed = parsePrefixCached(p);
        if (parsed.kind !== "ipv4" || !this.ips.some((ip) => containsIpv4(parsed, ip))) continue;
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
    routes = routes.length === 0 ? NO_SYSTEM : routes.sort((a, b) => b.length - a.length);
    this.system.set(vnetKey, routes);
    return routes;
  }

  private firstOctetsCache: Set<string> | undefined;
  private get firstOctets(): Set<string> {
    return (this.firstOctetsCache ??= new Set(
      this.options.endpoints.map((e) => e.ip.split(".")[0]!),
    ));
  }

  private cannotHoldEndpoint(prefix: string): boolean {
    const dot = prefix.indexOf(".");
    const slash = prefix.lastIndexOf("/");
    if (dot <= 0 || slash < 0) return false;
    const length = Number(prefix.slice(slash + 1));
    return length >= 8 && length <= 32 && !this.firstOctets.has(prefix.slice(0, dot).trim());
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
      routes: this.routeContextOf(
        subnetKey,
        subnet,
        keyOf(subnet.virtualNetworkId),
        table,
        firewallSubnet,
      ),
      outbound,
    };
  }

  private impactOf(subnetKey: string): Impact {
    return this.inventory.impactBySubnet.get(subnetKey) ?? this.inventory.defaultImpact;
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
    const plan = (shared.plan ??= planFixes(shared.outcomes, shared.outbound));
    if (
      plan.routeIps.length === 0 &&
      !plan.nat &&
      plan.firewalls.length === 0 &&
      plan.nsgs.length === 0
    )
      return NO_FIXES;
    // Route-only fixes depend on the table and the outcomes: the table's subnets share them.
    const routeOnly = !plan.nat && plan.firewalls.length === 0 && plan.nsgs.length === 0;
    const cacheKey =
      routeOnly && subnet.routeTableId && this.deny.empty ? (table ?? subnet.routeTableId) : null;
    if (cacheKey) {
      const cached = shared.fixes?.get(cacheKey);
      if (cached !== undefined) return cached;
    }
    const policy = this.deny.empty ? null : this.policyOf(plan, subnet, table);
    const fixes: Fixes = {
      remediation: new LazyRemediation(
        { plan, subnet, table, inventory: this.inventory, policy },
        buildFixes,
      ),
      missingRoutes: plan.missingRoutes,
      conflicts: policy?.conflicts ?? NO_CONFLICTS,
    };
    if (cacheKey) (shared.fixes ??= new Map()).set(cacheKey, fixes);
    return fixes;
  }

  /**
   * Deny policies against the fixes the plan calls for (README "Azure Policy"): the /32 routes
   * with next hop Internet (as routes of the subnet's table, or a new table in the VNet's group)
   * and the NAT gateway with its public IP. Where they are denied: an Azure Firewall the subnet's
   * VNet or a peer holds (direct egress, a public IP, not forced-tunnel), if routes to it pass.
   */
  private policyOf(plan: FixPlan, subnet: Subnet, table: RouteTable | null): PolicyFixes | null {
    const conflicts: PolicyConflict[] = [];
    const group = `/subscriptions/${subnet.subscriptionId}/resourceGroups/${subnet.resourceGroup}`;
    const tableId = table?.id ?? subnet.routeTableId;
    const newTable = resourceName("rt", subnet.virtualNetworkName, subnet.name, "kms");
    const ips = plan.routeIps.map((e) => e.ip);
    const routes = (hop: string, ip?: string) => {
      const taken = new Set((table?.routes ?? []).map((r) => r.name.toLowerCase()));
      return plan.routeIps.map((e) => {
        const name = freeRouteName(taken, e.set, e.ip);
        taken.add(name.toLowerCase());
        return {
          name,
          prefix: `${e.ip}/32`,
          nextHopType: hop,
          ...(ip ? { nextHopIpAddress: ip } : {}),
        };
      });
    };
    const routeCheck = (hop: string, ip?: string) => {
      const planned = routes(hop, ip);
      return tableId
        ? {
            targetId: tableId,
            candidates: planned.map((r) =>
              routeCandidate(r.name, r.prefix, r.nextHopType, r.nextHopIpAddress),
            ),
          }
        : {
            targetId: `${group}/providers/Microsoft.Network/routeTables/${newTable}`,
            candidates: [routeTableCandidate(newTable, subnet.location, planned)],
          };
    };
    let routesDenied = false;
    if (plan.routeIps.length > 0) {
      const found = this.deny.conflicts(
        "routes",
        routeCheck("Internet"),
        this.asOf,
        `${keyOf(tableId ?? group)}|${ips.join(",")}`,
      );
      conflicts.push(...found);
      routesDenied = found.length > 0;
    }
    let natDenied = false;
    if (plan.nat) {
      const nat = resourceName("ng", subnet.virtualNetworkName, subnet.name);
      const found = this.deny.conflicts(
        "natGateway",
        {
          targetId: `${group}/providers/Microsoft.Network/natGateways/${nat}`,
          candidates: natCandidates(nat, resourceName("pip", nat), subnet.location),
        },
        this.asOf,
        keyOf(group),
      );
      conflicts.push(...found);
      natDenied = found.length > 0;
    }
    if (conflicts.length === 0) return null;
    let firewall: PolicyFixes["firewall"] = null;
    if (routesDenied || natDenied) {
      const candidate = this.firewallFor(subnet);
      if (candidate && plan.routeIps.length + (natDenied ? 1 : 0) > 0) {
        const ip = candidate.privateIpAddresses[0]!;
        const passes =
          this.deny.conflicts("routes", routeCheck("VirtualAppliance", ip), this.asOf).length === 0;
        if (passes) firewall = { firewall: candidate, ip };
      }
    }
    return { conflicts, routesDenied, natDenied, firewall, tableId, group };
  }

  /** An Azure Firewall in the subnet's VNet or a peered VNet that egresses with a public IP. */
  private firewallFor(subnet: Subnet): AzureFirewall | null {
    const vnetKey = keyOf(subnet.virtualNetworkId);
    const vnet = this.inventory.virtualNetworks.get(vnetKey);
    const near = new Set([
      vnetKey,
      ...(vnet?.peerings ?? []).flatMap((p) =>
        p.remoteVirtualNetworkKey ? [p.remoteVirtualNetworkKey] : [],
      ),
    ]);
    for (const fw of this.inventory.firewalls.values()) {
      if (fw.virtualNetworkKey === null || !near.has(fw.virtualNetworkKey)) continue;
      if (fw.forcedTunnel || fw.publicIpCount === 0 || fw.privateIpAddresses.length === 0) continue;
      return fw;
    }
    return null;
  }
}

function withConflictReasons(reasons: ReasonCode[], conflicts: PolicyConflict[]): ReasonCode[] {
  const out = [...reasons];
  const add = (c: ReasonCode) => {
    if (!out.includes(c)) out.push(c);
  };
  for (const c of conflicts) {
    if (c.denies === null) add("FIX_MAY_BE_DENIED_BY_POLICY");
    else add(c.fix === "routes" ? "ROUTE_FIX_DENIED_BY_POLICY" : "NAT_GATEWAY_DENIED_BY_POLICY");
  }
  return out;
}

const NO_IDS: string[] = [];

const NO_CONFLICTS: PolicyConflict[] = Object.freeze([]) as unknown as PolicyConflict[];

const UNREAD_NIC_NSGS = "(NICs not in the inventory)";

const UNREAD_SUBNET_NSG = "(subnet not read)";

const NO_SYSTEM: CandidateRoute[] = [];

interface EndpointChoice {
  list: Endpoint[];
  sets: string[];
}

interface Fixes {
  remediation: Remediation | null;
  /** The /32s the route fix adds. */
  missingRoutes: string[];
  /** Deny policies that would reject a fix. */
  conflicts: PolicyConflict[];
}

const NO_FIXES: Fixes = { remediation: null, missingRoutes: [], conflicts: [] };

const DEFAULT = DEFAULT_OUTBOUND;

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
