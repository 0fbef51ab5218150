import type { Endpoint } from "../../catalog/endpoints.js";
import type { ServiceTagIndex } from "../../catalog/service-tags.js";
import type {
  ApplianceNic,
  AzureFirewall,
  Inventory,
  LoadBalancer,
  Problem,
} from "../../inventory/types.js";
import { keyOf, nameOf } from "../../inventory/resource-id.js";
import type { Hop } from "../../model.js";
import {
  declaredFor,
  parseDeclarationTag,
  type Declaration,
  type Declarations,
} from "../../catalog/declarations.js";
import type { ReasonCode } from "../../reasons.js";
import { evaluateFirewall, type FirewallDecision } from "./firewall-rules.js";
import type { Flow, MatchContext, Tri } from "./match.js";
import { resolveNextHop } from "./next-hop.js";
import type { OutboundAccess } from "./outbound.js";
import { chooseRoute, type CandidateRoute, type RouteContext } from "./routes.js";

/** Most route decisions one path takes before the audit gives up (DESIGN.md section 3, rule 2). */
export const MAX_HOPS = 4;

/** Where a packet leaves from: the audited subnet, a firewall's subnet, an appliance's subnet. */
export interface Origin {
  /** Unique per node, for loop detection. */
  key: string;
  /** The subnet the packet leaves from (the node's own for the audited subnet). */
  subnetKey: string;
  resourceId: string | null;
  name: string;
  vnetKey: string | null;
  routes: RouteContext;
  outbound: OutboundAccess;
}

/** What blocks (or may block) the flow, for the fix per cause (rule 7). */
export type Blocker =
  /** The route sends it away (or its route is unknown): /32 routes to the Internet bypass it. */
  | { kind: "route" }
  /** The subnet has no outbound method: a NAT gateway. */
  | { kind: "outbound" }
  /** An Azure Firewall denies it: a network rule allowing it. */
  | { kind: "firewall"; firewall: AzureFirewall; decision: FirewallDecision }
  /** An NSG denies it: a rule above the deny. */
  | { kind: "nsg"; nsgId: string; priority: number | null };

/** One IP's outcome on one path. */
export interface Walk {
  reachable: Tri;
  /** The causes, the deciding one first. */
  causes: ReasonCode[];
  hops: Hop[];
  blockers: Blocker[];
  /** The route chosen where the packet left the audited subnet. */
  firstRoute: CandidateRoute | null;
  /** A rule matched the source addresses (the outcome depends on the subnet's prefixes). */
  usedSource: boolean;
}

/** One endpoint IP as a flow (the source is the audited subnet's prefixes). */
export interface Target {
  endpoint: Endpoint;
  flow: Flow;
}

export interface PathServices {
  inventory: Inventory;
  serviceTags?: ServiceTagIndex;
  declarations: Declarations;
  matchContext(origin: Origin, ip: number): MatchContext;
  /** The route context of a subnet (the firewall's or an appliance's), cached by the caller. */
  subnetOrigin(
    subnetKey: string,
    options: { firewallSubnet: boolean; nic?: ApplianceNic },
  ): Origin | null;
  /** Malformed declarations, reported once each. */
  warn(problem: Problem): void;
}

const NO_BLOCKERS: Blocker[] = [];

/** Follows the packet from `origin` (DESIGN.md section 3, rules 1 and 2). Pure. */
export class PathFollower {
  constructor(private readonly services: PathServices) {}

  private readonly routeHops = new WeakMap<CandidateRoute, Hop>();

  /** The hop of a chosen route (one per route; system routes of other origins name the origin). */
  private routeHop(route: CandidateRoute, origin: Origin): Hop {
    const own = route.source !== "SystemRoute" || origin.key === origin.subnetKey;
    if (own) {
      const known = this.routeHops.get(route);
      if (known) return known;
    }
    const hop = this.hop({
      kind: "Route",
      resourceId: route.resourceId,
      detail: describeRoute(route, origin),
    });
    if (own) this.routeHops.set(route, hop);
    return hop;
  }

  private readonly internetWalks = new WeakMap<OutboundAccess, Walk>();

  private readonly interned = new WeakSet<Hop>();

  /** A hop as findings keep it: its text flat, not a tree of template-literal pieces. */
  private hop(hop: Hop): Hop {
    if (this.interned.has(hop)) return hop;
    const kept: Hop = {
      kind: hop.kind,
      resourceId: hop.resourceId,
      detail: hop.detail.normalize(),
    };
    this.interned.add(kept);
    return kept;
  }

  private walk(
    reachable: Tri,
    cause: ReasonCode,
    hop: Hop,
    blockers: Blocker[] = NO_BLOCKERS,
    usedSource = false,
  ): Walk {
    return {
      reachable,
      causes: [cause],
      hops: [this.hop(hop)],
      blockers,
      firstRoute: null,
      usedSource,
    };
  }

  private prepend(hop: Hop, rest: Walk): Walk {
    // concat: an array of exactly the hops (a spread or push leaves spare capacity).
    return { ...rest, hops: [this.hop(hop)].concat(rest.hops) };
  }

  /**
   * The walks of one origin, by the route chosen and, where the outcome depends on the flow (a
   * firewall's or an appliance's rules), by the flow: the IPs of an endpoint set that take the same
   * route share one walk, hops and all.
   */
  private readonly walks = new WeakMap<Origin, Map<CandidateRoute | string, Map<string, Walk>>>();

  follow(origin: Origin, target: Target, depth: number, visited: ReadonlySet<string>): Walk {
    if (depth > MAX_HOPS)
      return this.walk(
        null,
        "PATH_TOO_LONG",
        {
          kind: "Unknown",
          resourceId: origin.resourceId,
          detail: `more than ${MAX_HOPS} route decisions: not followed further`,
        },
        [{ kind: "route" }],
      );
    const choice = chooseRoute(origin.routes, target.flow.ip);
    let byRoute = this.walks.get(origin);
    if (!byRoute)
      this.walks.set(origin, (byRoute = new Map<CandidateRoute | string, Map<string, Walk>>()));
    const routeKey = choice.kind === "unknown" ? `${choice.reason}|${choice.detail}` : choice.route;
    let byFlow = byRoute.get(routeKey);
    if (!byFlow) byRoute.set(routeKey, (byFlow = new Map<string, Walk>()));
    const flowKey =
      choice.kind === "route" && this.dependsOnFlow(origin, choice.route)
        ? `${target.flow.ip}|${target.flow.port}|${target.endpoint.set}|${target.flow.host}`
        : "";
    const known = byFlow.get(flowKey);
    if (known) return known;
    const result = this.walkChoice(origin, choice, target, depth, visited);
    byFlow.set(flowKey, result);
    return result;
  }

  /** Whether the route's outcome depends on the flow: it leads to rules (a firewall, an appliance). */
  private dependsOnFlow(origin: Origin, route: CandidateRoute): boolean {
    if (route.learned)
      return (
        route.learned.leadsTo.kind === "firewall" || route.learned.leadsTo.kind === "applianceIp"
      );
    if (route.nextHopType.toLowerCase() !== "virtualappliance" || !route.nextHop) return false;
    if (this.services.declarations.byIp.has(route.nextHop.trim())) return true;
    return resolveNextHop(this.services.inventory, origin.vnetKey, route.nextHop).kind === "found";
  }

  private walkChoice(
    origin: Origin,
    choice: ReturnType<typeof chooseRoute>,
    target: Target,
    depth: number,
    visited: ReadonlySet<string>,
  ): Walk {
    if (choice.kind === "unknown")
      return this.walk(
        null,
        choice.reason,
        {
          kind: "Unknown",
          resourceId: choice.resourceId,
          detail: choice.detail,
        },
        [{ kind: "route" }],
      );
    const { route, contenders } = choice;
    const routeHop = this.routeHop(route, origin);
    const via = this.prepend(routeHop, this.viaRoute(origin, route, target, depth, visited));
    via.firstRoute = route;
    if (contenders.length === 0) return via;
    // Learned routes the audit cannot see may beat the chosen route (rule 1): decided only when
    // the outcome is the same whatever they hold.
    if (via.reachable === false && contenders.every((c) => !c.canSucceed)) return via;
    const first = contenders.find((c) => c.canSucceed || via.reachable === true) ?? contenders[0]!;
    return {
      ...via,
      reachable: null,
      causes: unique([
        first.reason,
        ...contenders.map((c) => c.reason),
        ...(via.reachable === true ? [] : via.causes),
      ]),
      hops: via.hops.concat(
        this.hop({
          kind: "LearnedRoutes",
          resourceId: first.resourceId,
          detail: `${first.detail}; a learned route may take the IP elsewhere${contenders.length > 1 ? ` (and ${contenders.length - 1} more source${contenders.length > 2 ? "s" : ""})` : ""}`,
        }),
      ),
      blockers: [...via.blockers, { kind: "route" }],
    };
  }

  private viaRoute(
    origin: Origin,
    route: CandidateRoute,
    target: Target,
    depth: number,
    visited: ReadonlySet<string>,
  ): Walk {
    if (route.learned) {
      const leads = route.learned.leadsTo;
      switch (leads.kind) {
        case "onPremises": {
          // The endpoint names the learned route that did it (BGP_DEFAULT_ROUTE_LEARNED,
          // VIRTUAL_HUB_ROUTE_LEARNED, VPN_DEFAULT_SITE, ...); the finding also says where it went.
          const tunnel = this.walk(
            false,
            route.learned.reason,
            {
              kind: "VirtualNetworkGateway",
              resourceId: leads.gatewayId,
              detail: `on-premises through ${leads.gatewayId ? nameOf(leads.gatewayId) : "a gateway"}`,
            },
            [{ kind: "route" }],
          );
          return {
            ...tunnel,
            causes: unique([...tunnel.causes, "TUNNELED_ON_PREMISES", route.learned.reason]),
          };
        }
        case "firewall":
          return this.firewall(origin, leads.firewallKey, target, depth, visited);
        case "applianceIp":
          return this.appliance(origin, leads.ip, target, depth, visited);
        case "unknown":
          return this.walk(
            null,
            "NEXT_HOP_NOT_IN_INVENTORY",
            {
              kind: "Unknown",
              resourceId: route.resourceId,
              detail: leads.detail,
            },
            [{ kind: "route" }],
          );
      }
    }
    switch (route.nextHopType.toLowerCase()) {
      case "internet":
        return this.internet(origin);
      case "virtualappliance":
        if (!route.nextHop)
          return this.walk(
            null,
            "NEXT_HOP_NOT_IN_INVENTORY",
            {
              kind: "Unknown",
              resourceId: route.resourceId,
              detail: `route '${route.name ?? route.prefix}' has next hop VirtualAppliance but no nextHopIpAddress`,
            },
            [{ kind: "route" }],
          );
        return this.appliance(origin, route.nextHop, target, depth, visited);
      case "virtualnetworkgateway": {
        const gateways = this.services.inventory.gatewaysByVirtualNetwork.get(origin.vnetKey ?? "");
        return this.walk(
          false,
          "TUNNELED_ON_PREMISES",
          {
            kind: "VirtualNetworkGateway",
            resourceId: gateways?.[0] ?? null,
            detail: "on-premises through the virtual network gateway",
          },
          [{ kind: "route" }],
        );
      }
      case "none":
        return this.walk(
          false,
          "DEFAULT_ROUTE_BLACKHOLED",
          {
            kind: "Drop",
            resourceId: route.resourceId,
            detail: "next hop None: dropped",
          },
          [{ kind: "route" }],
        );
      case "vnetlocal":
      case "vnetpeering":
      case "virtualnetworkserviceendpoint":
        return this.walk(
          false,
          "TRAFFIC_STAYS_IN_VNET",
          {
            kind: "Drop",
            resourceId: route.resourceId,
            detail: `next hop ${route.nextHopType}: the traffic stays in the virtual network`,
          },
          [{ kind: "route" }],
        );
      default:
        return this.walk(
          null,
          "ROUTE_MALFORMED",
          {
            kind: "Unknown",
            resourceId: route.resourceId,
            detail: `route '${route.name ?? route.prefix}' has an unknown next hop type "${route.nextHopType}"`,
          },
          [{ kind: "route" }],
        );
    }
  }

  private internet(origin: Origin): Walk {
    const out = origin.outbound;
    const known = this.internetWalks.get(out);
    if (known) return known;
    const result = this.internetWalk(out);
    this.internetWalks.set(out, result);
    return result;
  }

  private internetWalk(out: OutboundAccess): Walk {
    if (out.reachable === true)
      return this.walk(true, out.reason, {
        kind: "Internet",
        resourceId: out.resourceId,
        detail: `Internet via ${out.detail}`,
      });
    return this.walk(
      out.reachable,
      out.reason,
      {
        kind: out.reachable === false ? "Drop" : "Unknown",
        resourceId: out.resourceId,
        detail: out.detail,
      },
      [out.reason === "PRIVATE_SUBNET_NO_OUTBOUND" ? { kind: "outbound" } : { kind: "route" }],
    );
  }

  private appliance(
    origin: Origin,
    ip: string,
    target: Target,
    depth: number,
    visited: ReadonlySet<string>,
  ): Walk {
    const { inventory, declarations } = this.services;
    const resolved = resolveNextHop(inventory, origin.vnetKey, ip);
    if (resolved.kind !== "found") {
      const declared = declarations.byIp.get(ip.trim());
      if (declared && resolved.kind === "notFound")
        return this.declared(
          origin,
          declared,
          null,
          `appliance ${ip}`,
          null,
          target,
          depth,
          visited,
        );
      return this.walk(
        null,
        resolved.kind === "ambiguous" ? "NEXT_HOP_AMBIGUOUS" : "NEXT_HOP_NOT_IN_INVENTORY",
        {
          kind: "Unknown",
          resourceId: null,
          detail: resolved.detail,
        },
        [{ kind: "route" }],
      );
    }
    const holder = resolved.holder;
    switch (holder.kind) {
      case "firewall":
        return this.firewall(origin, holder.key, target, depth, visited);
      case "nic":
        return this.nva(origin, holder.nic, ip, target, depth, visited, null);
      case "loadBalancer": {
        const lb = inventory.loadBalancers.get(holder.key)!;
        return this.loadBalancer(origin, lb, holder.frontendId, ip, target, depth, visited);
      }
    }
  }

  private firewall(
    origin: Origin,
    firewallKey: string,
    target: Target,
    depth: number,
    visited: ReadonlySet<string>,
  ): Walk {
    const { inventory } = this.services;
    const firewall = inventory.firewalls.get(firewallKey);
    if (!firewall)
      return this.walk(
        null,
        "NEXT_HOP_NOT_IN_INVENTORY",
        {
          kind: "Unknown",
          resourceId: firewallKey,
          detail: `Azure Firewall ${nameOf(firewallKey)} is not in the inventory`,
        },
        [{ kind: "route" }],
      );
    if (visited.has(firewallKey))
      return this.walk(
        false,
        "PATH_LOOP",
        {
          kind: "Drop",
          resourceId: firewall.id,
          detail: `the path returns to ${firewall.name}: a loop`,
        },
        [{ kind: "route" }],
      );
    const decision = evaluateFirewall(
      firewall,
      inventory,
      target.flow,
      this.services.matchContext(origin, target.flow.ip),
    );
    const hop: Hop = {
      kind: "AzureFirewall",
      resourceId: firewall.id,
      detail: `${firewall.name} (${firewall.privateIpAddresses[0] ?? "no private IP"}): ${decision.detail}`,
    };
    if (decision.action === "Deny")
      return this.walk(
        false,
        "FIREWALL_DENIES_PORT",
        hop,
        [{ kind: "firewall", firewall, decision }],
        true,
      );
    if (decision.action === null) return this.walk(null, "FIREWALL_RULES_UNKNOWN", hop, [], true);
    const egress = this.firewallEgress(firewall, target, depth, new Set([...visited, firewallKey]));
    return { ...this.prepend(hop, egress), usedSource: true };
  }

  /** Where an allowing firewall sends the flow: judged again from AzureFirewallSubnet. */
  private firewallEgress(
    firewall: AzureFirewall,
    target: Target,
    depth: number,
    visited: ReadonlySet<string>,
  ): Walk {
    const snatNever = firewallNeverSnats(firewall, this.services.inventory);
    if (snatNever)
      return this.walk(
        false,
        "FIREWALL_SNAT_DISABLED",
        {
          kind: "Drop",
          resourceId: firewall.id,
          detail: `${firewall.name} never SNATs (SNAT private ranges include 0.0.0.0/0)`,
        },
        [{ kind: "route" }],
      );
    if (firewall.virtualHubKey !== null) {
      // A secured hub's firewall egresses with its public IPs; without one it follows a learned
      // default route or drops (virtual-wan/about-internet-routing).
      return firewall.publicIpCount > 0
        ? this.walk(true, "REACHABLE_VIA_FIREWALL", {
            kind: "Internet",
            resourceId: firewall.id,
            detail: `Internet via ${firewall.name}'s public IP${firewall.publicIpCount > 1 ? "s" : ""}`,
          })
        : this.walk(
            null,
            "FIREWALL_EGRESS_UNKNOWN",
            {
              kind: "Unknown",
              resourceId: firewall.id,
              detail: `${firewall.name} has no public IP: its Internet traffic follows a learned default route or is dropped`,
            },
            [{ kind: "route" }],
          );
    }
    const origin = firewall.subnetKey
      ? this.services.subnetOrigin(firewall.subnetKey, { firewallSubnet: true })
      : null;
    if (!origin)
      return this.walk(
        null,
        "FIREWALL_EGRESS_UNKNOWN",
        {
          kind: "Unknown",
          resourceId: firewall.id,
          detail: `the AzureFirewallSubnet of ${firewall.name} is not in the inventory`,
        },
        [{ kind: "route" }],
      );
    const firewallOrigin: Origin = {
      ...origin,
      key: keyOf(firewall.id),
      outbound:
        firewall.publicIpCount > 0
          ? {
              reachable: true,
              reason: "REACHABLE_VIA_FIREWALL",
              detail: `${firewall.name}'s public IP${firewall.publicIpCount > 1 ? "s" : ""} (SNAT)${publicAddress(this.services.inventory, firewall)}`,
              resourceId: firewall.id,
            }
          : {
              reachable: null,
              reason: "FIREWALL_EGRESS_UNKNOWN",
              detail: `${firewall.name} has no public IP on its data path`,
              resourceId: firewall.id,
            },
    };
    const next = this.follow(firewallOrigin, target, depth + 1, visited);
    if (next.reachable === true)
      return { ...next, causes: unique(["REACHABLE_VIA_FIREWALL", ...next.causes]) };
    // Sent on-premises (or to another hop that fails) by the firewall subnet's routes: forced
    // tunnelling (firewall/forced-tunneling).
    if (next.reachable === false && next.causes.some(isTunnel))
      return { ...next, causes: unique(["FIREWALL_FORCED_TUNNELED", ...next.causes]) };
    if (next.reachable === null && next.causes.includes("BGP_DEFAULT_ROUTE_POSSIBLE"))
      return { ...next, causes: unique(["FIREWALL_EGRESS_UNKNOWN", ...next.causes]) };
    return next;
  }

  private nva(
    origin: Origin,
    nic: ApplianceNic,
    /** The next hop IP the NIC holds; null behind a load balancer (the frontend IP was the hop). */
    ip: string | null,
    target: Target,
    depth: number,
    visited: ReadonlySet<string>,
    override: { declaration: Declaration; on: string } | null,
  ): Walk {
    if (visited.has(nic.key))
      return this.walk(
        false,
        "PATH_LOOP",
        {
          kind: "Drop",
          resourceId: nic.id,
          detail: `the path returns to appliance ${nameOf(nic.id)}: a loop`,
        },
        [{ kind: "route" }],
      );
    const label = `appliance ${nameOf(nic.id)}${ip === null ? "" : ` (${ip})`}`;
    if (nic.ipForwarding === false)
      return this.walk(
        false,
        "NVA_IP_FORWARDING_DISABLED",
        {
          kind: "Drop",
          resourceId: nic.id,
          detail: `${label}: IP forwarding is off on its NIC, so Azure drops traffic not addressed to it`,
        },
        [{ kind: "route" }],
      );
    const found = override ?? this.declarationOf(nic);
    if (typeof found === "string" || found === null)
      return this.walk(
        null,
        "NVA_POLICY_UNKNOWN",
        {
          kind: "NetworkVirtualAppliance",
          resourceId: nic.id,
          detail: `${label}: ${found ?? "its policy is not in ARM; declare it with the kms-route-audit-egress tag or --declarations"}`,
        },
        [{ kind: "route" }],
      );
    return this.declared(origin, found.declaration, nic, label, found.on, target, depth, visited);
  }

  private declarationOf(
    nic: ApplianceNic,
  ): { declaration: Declaration; on: string } | string | null {
    const { declarations } = this.services;
    const fromFile =
      declarations.byResource.get(nic.key) ??
      (nic.declaredOn ? declarations.byResource.get(keyOf(nic.declaredOn)) : undefined);
    if (fromFile) return { declaration: fromFile, on: fromFile.source };
    if (nic.declaration === null || nic.declaredOn === null) return null;
    const source = `tag kms-route-audit-egress on ${nic.declaredOn}`;
    const parsed = parseDeclarationTag(nic.declaration, source);
    if (typeof parsed === "string") {
      this.services.warn({
        resourceId: nic.declaredOn,
        field: "tags.kms-route-audit-egress",
        issue: `${parsed}; ignored`,
      });
      return `its declaration (${source}) is malformed: ${parsed}`;
    }
    return { declaration: parsed, on: source };
  }

  private declared(
    origin: Origin,
    declaration: Declaration,
    nic: ApplianceNic | null,
    label: string,
    on: string | null,
    target: Target,
    depth: number,
    visited: ReadonlySet<string>,
  ): Walk {
    const where = on ?? declaration.source;
    const verdict = declaredFor(declaration, target.endpoint.set);
    const resourceId = nic?.id ?? null;
    if (verdict === "deny")
      return this.walk(
        false,
        "NVA_DECLARED_DENIES",
        {
          kind: "NetworkVirtualAppliance",
          resourceId,
          detail: `${label}: declared not to let ${target.endpoint.set} through (${where})`,
        },
        [{ kind: "route" }],
      );
    if (verdict === "undeclared")
      return this.walk(
        null,
        "NVA_POLICY_UNKNOWN",
        {
          kind: "NetworkVirtualAppliance",
          resourceId,
          detail: `${label}: its declaration (${where}) says nothing about ${target.endpoint.set}`,
        },
        [{ kind: "route" }],
      );
    const hop: Hop = {
      kind: "NetworkVirtualAppliance",
      resourceId,
      detail: `${label}: declared to allow ${target.endpoint.set} (${where})`,
    };
    switch (declaration.egress) {
      case "internet":
        return this.prepend(
          hop,
          this.walk(true, "NVA_DECLARED_ALLOWS", {
            kind: "Internet",
            resourceId,
            detail: `Internet from the appliance's public IP (declared)`,
          }),
        );
      case "onPremises":
        return this.prepend(
          hop,
          this.walk(
            false,
            "TUNNELED_ON_PREMISES",
            {
              kind: "VirtualNetworkGateway",
              resourceId,
              detail: "on-premises (declared)",
            },
            [{ kind: "route" }],
          ),
        );
      case "follow": {
        const next = nic?.subnetKey
          ? this.services.subnetOrigin(nic.subnetKey, { firewallSubnet: false, nic })
          : null;
        if (!next)
          return this.prepend(
            hop,
            this.walk(
              null,
              "NVA_POLICY_UNKNOWN",
              {
                kind: "Unknown",
                resourceId,
                detail:
                  "the appliance's subnet is not in the inventory, so where it sends the traffic is unknown",
              },
              [{ kind: "route" }],
            ),
          );
        const onward = this.follow(
          { ...next, key: nic!.key },
          target,
          depth + 1,
          new Set([...visited, nic!.key]),
        );
        return this.prepend(
          hop,
          onward.reachable === true
            ? { ...onward, causes: unique(["NVA_DECLARED_ALLOWS", ...onward.causes]) }
            : onward,
        );
      }
    }
  }

  private loadBalancer(
    origin: Origin,
    lb: LoadBalancer,
    frontendId: string,
    ip: string,
    target: Target,
    depth: number,
    visited: ReadonlySet<string>,
  ): Walk {
    const { inventory, declarations } = this.services;
    const pools = lb.rulePools.get(keyOf(frontendId)) ?? [...lb.backendNics.keys()];
    const nicKeys = [...new Set(pools.flatMap((p) => lb.backendNics.get(p) ?? []))];
    const hop: Hop = {
      kind: "LoadBalancer",
      resourceId: lb.id,
      detail: `internal load balancer ${lb.name} (${ip}) in front of ${nicKeys.length} appliance NIC${nicKeys.length === 1 ? "" : "s"}`,
    };
    let override: { declaration: Declaration; on: string } | null = null;
    const fromFile = declarations.byResource.get(keyOf(lb.id));
    if (fromFile) override = { declaration: fromFile, on: fromFile.source };
    else if (lb.declaration !== null) {
      const source = `tag kms-route-audit-egress on ${lb.id}`;
      const parsed = parseDeclarationTag(lb.declaration, source);
      if (typeof parsed === "string") {
        this.services.warn({
          resourceId: lb.id,
          field: "tags.kms-route-audit-egress",
          issue: `${parsed}; ignored`,
        });
        return this.prepend(
          hop,
          this.walk(
            null,
            "NVA_POLICY_UNKNOWN",
            {
              kind: "NetworkVirtualAppliance",
              resourceId: lb.id,
              detail: `its declaration (${source}) is malformed: ${parsed}`,
            },
            [{ kind: "route" }],
          ),
        );
      }
      override = { declaration: parsed, on: source };
    }
    const backends = nicKeys
      .map((k) => inventory.applianceNics.get(k))
      .filter((n): n is ApplianceNic => n !== undefined);
    if (backends.length === 0 || backends.length < nicKeys.length)
      return this.prepend(
        hop,
        this.walk(
          null,
          "NVA_POLICY_UNKNOWN",
          {
            kind: "NetworkVirtualAppliance",
            resourceId: lb.id,
            detail:
              backends.length === 0
                ? "its backend appliances are not in the inventory"
                : "some of its backend NICs are not in the inventory",
          },
          [{ kind: "route" }],
        ),
      );
    // Flows are spread over the backends: the outcome is decided when every backend agrees.
    const walks = backends.map((nic) =>
      this.nva(origin, nic, null, target, depth, new Set([...visited, keyOf(lb.id)]), override),
    );
    const firstWalk = walks[0]!;
    if (walks.every((w) => w.reachable === firstWalk.reachable))
      return this.prepend(hop, firstWalk);
    return this.prepend(hop, {
      ...firstWalk,
      reachable: null,
      causes: unique(["NVA_POLICY_UNKNOWN", ...walks.flatMap((w) => w.causes)]),
    });
  }
}

function isTunnel(cause: ReasonCode): boolean {
  return (
    cause === "TUNNELED_ON_PREMISES" ||
    cause === "VPN_DEFAULT_SITE" ||
    cause === "BGP_DEFAULT_ROUTE_LEARNED"
  );
}

function firewallNeverSnats(firewall: AzureFirewall, inventory: Inventory): boolean {
  const ranges =
    (firewall.policyKey
      ? inventory.firewallPolicies.get(firewall.policyKey)?.snatPrivateRanges
      : null) ?? firewall.snatPrivateRanges;
  return ranges?.some((r) => r.trim() === "0.0.0.0/0") ?? false;
}

function publicAddress(inventory: Inventory, firewall: AzureFirewall): string {
  for (const id of firewall.publicIpAddressIds) {
    const address = inventory.publicIpAddresses.get(keyOf(id));
    if (address) return ` ${address}`;
  }
  return "";
}

export function describeRoute(route: CandidateRoute, origin: Origin): string {
  const hop =
    route.nextHopType.toLowerCase() === "virtualappliance" && route.nextHop
      ? `VirtualAppliance ${route.nextHop}`
      : route.nextHopType;
  switch (route.source) {
    // The hop's resourceId names the route table.
    case "UserDefinedRoute":
      return `${route.prefix} -> ${hop} (route '${route.name ?? "?"}')`;
    case "ServiceTagRoute":
      return `${route.prefix} -> ${hop} (service-tag route '${route.name ?? "?"}')`;
    case "LearnedRoute":
      return `${route.prefix} learned: ${route.learned?.detail ?? "learned route"}`;
    case "SystemRoute":
      return `${route.prefix} -> ${hop} (system route${origin.key !== origin.subnetKey ? ` of ${origin.name}` : ""})`;
  }
}

export function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
