import type { HubConnection, Inventory, LearnedRouteFact } from "../../inventory/types.js";
import { keyOf, nameOf } from "../../inventory/resource-id.js";
import { parsePrefixCached } from "../../net/ipv4.js";
import type { CandidateRoute, LearnedOrigin, LearnedRoutes, UnknownLearned } from "./routes.js";

/**
 * The routes a VNet's subnets learn (DESIGN.md section 2), from the sources Azure programs them
 * from: VNet gateways (in the VNet, or in a VNet peered with useRemoteGateways), Route Servers
 * (likewise), and a Virtual WAN hub through the spoke's hub virtual network connection. Each source
 * is known when the facts stage (or an estate's facts rows) read its routes, or when its
 * configuration fixes them (a VPN gateway's default site; a hub's Internet routing intent);
 * otherwise unknown. A route table with disableBgpRoutePropagation shuts all of them out.
 */
export function learnedRoutesOf(inventory: Inventory, vnetKey: string): LearnedRoutes {
  const known: CandidateRoute[] = [];
  const unknown: UnknownLearned[] = [];
  const seen = new Set<string>();
  const vnet = inventory.virtualNetworks.get(vnetKey);

  const addGateways = (key: string, via: string | null) => {
    const ids = inventory.gatewaysByVirtualNetwork.get(key) ?? [];
    if (ids.length === 0 && inventory.gatewayVirtualNetworks.has(key))
      unknown.push({
        reason: "BGP_DEFAULT_ROUTE_POSSIBLE",
        resourceId: null,
        detail: `the gateway of ${via ?? "the VNet"} is not in the inventory`,
        canSucceed: false,
      });
    for (const id of ids) {
      const gatewayKey = keyOf(id);
      if (seen.has(gatewayKey)) continue;
      seen.add(gatewayKey);
      const gateway = inventory.gateways.get(gatewayKey);
      if (gateway?.defaultSiteId) {
        known.push(
          learnedRoute(0, 0, "0.0.0.0/0", id, {
            kind: "defaultSite",
            leadsTo: { kind: "onPremises", gatewayId: id },
            detail: `default site ${nameOf(gateway.defaultSiteId)} of VPN gateway ${gateway.name}`,
            reason: "VPN_DEFAULT_SITE",
          }),
        );
      }
      const read = inventory.learnedRoutes.get(gatewayKey);
      const fixed = read ? null : staticRoutesOf(inventory, gatewayKey);
      if (fixed) {
        // BGP off: the gateway programs only its sites' address prefixes (static routes).
        for (const [site, prefix] of fixed)
          pushFact(
            known,
            {
              addressPrefix: prefix,
              nextHop: null,
              nextHopType: null,
              origin: "Network",
              asPath: null,
              sourcePeer: null,
            },
            id,
            {
              kind: "gateway",
              leadsTo: { kind: "onPremises", gatewayId: id },
              detail: `local network gateway ${nameOf(site)} of VPN gateway ${nameOf(id)} (BGP off: static route)`,
              reason: "TUNNELED_ON_PREMISES",
            },
          );
      } else if (read?.ok) {
        for (const fact of read.routes)
          pushFact(known, fact, id, {
            kind: "gateway",
            leadsTo: { kind: "onPremises", gatewayId: id },
            detail: `learned by gateway ${nameOf(id)}${fact.sourcePeer ? ` from peer ${fact.sourcePeer}` : ""}${fact.origin ? ` (${fact.origin}${fact.asPath ? `, AS path ${fact.asPath}` : ""})` : ""}`,
            reason: "BGP_DEFAULT_ROUTE_LEARNED",
          });
      } else {
        unknown.push({
          reason: read ? "GATEWAY_ROUTES_UNREADABLE" : "BGP_DEFAULT_ROUTE_POSSIBLE",
          resourceId: id,
          detail: read
            ? `the learned routes of gateway ${nameOf(id)} could not be read: ${read.message}`
            : `gateway ${nameOf(id)}${via ? ` of ${via}` : ""} may learn a route covering the IP (its learned routes were not read)`,
          canSucceed: false,
        });
      }
    }
  };

  const addRouteServers = (key: string, via: string | null) => {
    for (const hubKey of inventory.routeServersByVirtualNetwork.get(key) ?? []) {
      if (seen.has(hubKey)) continue;
      seen.add(hubKey);
      const hub = inventory.virtualHubs.get(hubKey);
      const name = hub?.name ?? nameOf(hubKey);
      const peers = inventory.bgpConnectionsByHub.get(hubKey) ?? [];
      if (peers.length === 0) {
        unknown.push({
          reason: "ROUTE_SERVER_ROUTES_UNKNOWN",
          resourceId: hub?.id ?? hubKey,
          detail: `Route Server ${name}${via ? ` of ${via}` : ""}: its BGP peers are not in the inventory`,
          canSucceed: true,
        });
        continue;
      }
      for (const peer of peers) {
        const read = inventory.learnedRoutes.get(keyOf(peer.id));
        if (read?.ok) {
          for (const fact of read.routes)
            pushFact(known, fact, peer.id, {
              kind: "routeServer",
              // The BGP next hop the peer set, usually the appliance itself (route-server/next-hop-ip).
              leadsTo: fact.nextHop
                ? { kind: "applianceIp", ip: fact.nextHop }
                : { kind: "unknown", detail: "the route has no next hop" },
              detail: `advertised to Route Server ${name} by peer ${peer.peerIp ?? nameOf(peer.id)}`,
              reason: "ROUTE_SERVER_ROUTE_LEARNED",
            });
        } else {
          unknown.push({
            reason: "ROUTE_SERVER_ROUTES_UNKNOWN",
            resourceId: peer.id,
            detail: read
              ? `the routes of Route Server ${name}'s peer ${peer.peerIp ?? nameOf(peer.id)} could not be read: ${read.message}`
              : `Route Server ${name}'s BGP peer ${peer.peerIp ?? nameOf(peer.id)} may advertise a route covering the IP`,
            canSucceed: true,
          });
        }
      }
    }
  };

  addGateways(vnetKey, null);
  addRouteServers(vnetKey, null);
  if (!vnet) {
    unknown.push({
      reason: "BGP_DEFAULT_ROUTE_POSSIBLE",
      resourceId: null,
      detail: "the subnet's VNet is not in the inventory, so its gateways and peerings are unknown",
      canSucceed: false,
    });
    return { known: sortRoutes(known), unknown };
  }
  for (const peering of vnet.peerings) {
    if (peering.toVirtualHub) continue;
    if (!peering.useRemoteGateways) continue;
    const remote = peering.remoteVirtualNetworkKey;
    if (remote === null || !inventory.virtualNetworks.has(remote)) {
      // Azure accepts useRemoteGateways only towards a VNet with a gateway or Route Server.
      unknown.push({
        reason: "BGP_DEFAULT_ROUTE_POSSIBLE",
        resourceId: remote,
        detail: `remote VNet ${remote ?? "(unnamed)"} of a useRemoteGateways peering is not in the inventory`,
        canSucceed: false,
      });
      continue;
    }
    const via = `remote VNet ${inventory.virtualNetworks.get(remote)!.name}`;
    addGateways(remote, via);
    addRouteServers(remote, via);
  }
  addVirtualHub(
    inventory,
    vnetKey,
    vnet.peerings.some((p) => p.toVirtualHub),
    known,
    unknown,
  );
  return { known: sortRoutes(known), unknown };
}

function addVirtualHub(
  inventory: Inventory,
  vnetKey: string,
  peersWithHub: boolean,
  known: CandidateRoute[],
  unknown: UnknownLearned[],
): void {
  const connections = inventory.hubConnectionsByVirtualNetwork.get(vnetKey) ?? [];
  if (connections.length === 0) {
    if (peersWithHub)
      unknown.push({
        reason: "VIRTUAL_HUB_CONNECTION_NOT_FOUND",
        resourceId: null,
        detail:
          "the VNet peers with a Virtual WAN hub, but its hub virtual network connection is not in the inventory",
        canSucceed: true,
      });
    return;
  }
  for (const connection of connections) addConnection(inventory, connection, known, unknown);
}

function addConnection(
  inventory: Inventory,
  connection: HubConnection,
  known: CandidateRoute[],
  unknown: UnknownLearned[],
): void {
  const hub = inventory.virtualHubs.get(connection.hubKey);
  const hubName = hub?.name ?? nameOf(connection.hubKey);
  const read = inventory.learnedRoutes.get(keyOf(connection.id));
  if (read?.ok) {
    for (const fact of read.routes)
      pushFact(known, fact, connection.id, {
        kind: "virtualHub",
        leadsTo: hubNextHop(inventory, fact),
        detail: `programmed by Virtual WAN hub ${hubName} on connection ${nameOf(connection.id)}${fact.origin ? ` (origin ${nameOf(fact.origin)})` : ""}`,
        reason: "VIRTUAL_HUB_ROUTE_LEARNED",
      });
    return;
  }
  const hubFirewall = hub?.azureFirewallKey ?? null;
  if (read && !read.ok) {
    unknown.push({
      reason: "VIRTUAL_HUB_ROUTES_UNKNOWN",
      resourceId: connection.id,
      detail: `the effective routes of connection ${nameOf(connection.id)} could not be read: ${read.message}`,
      canSucceed: true,
    });
    return;
  }
  if (!hub || connection.malformed.length > 0) {
    unknown.push({
      reason: hub ? "RESOURCE_MALFORMED" : "VIRTUAL_HUB_ROUTES_UNKNOWN",
      resourceId: connection.id,
      detail: hub
        ? `hub connection ${nameOf(connection.id)} is malformed in the data`
        : `Virtual WAN hub ${hubName} of connection ${nameOf(connection.id)} is not in the inventory`,
      canSucceed: true,
    });
    return;
  }
  const intent = inventory.routingIntents.get(connection.hubKey);
  const internet = intent?.policies.find((p) =>
    p.destinations.some((d) => d.toLowerCase() === "internet"),
  );
  if (internet && intent!.malformed.length === 0) {
    // Routing intent programs 0.0.0.0/0 to its next hop on connections that propagate the
    // default route (virtual-wan/about-internet-routing).
    if (connection.enableInternetSecurity === true) {
      known.push(
        learnedRoute(0, 0, "0.0.0.0/0", connection.id, {
          kind: "virtualHub",
          leadsTo: internet.nextHopKey
            ? inventory.firewalls.has(internet.nextHopKey)
              ? { kind: "firewall", firewallKey: internet.nextHopKey }
              : {
                  kind: "unknown",
                  detail: `routing intent next hop ${internet.nextHopKey} (not an Azure Firewall in the inventory)`,
                }
            : { kind: "unknown", detail: "routing intent without a next hop" },
          detail: `routing intent '${internet.name}' of Virtual WAN hub ${hubName} (connection ${nameOf(connection.id)} propagates the default route)`,
          reason: "VIRTUAL_HUB_ROUTE_LEARNED",
        }),
      );
    } else {
      // Without the default route the hub may still propagate other prefixes (branches' more
      // specific routes, static routes, other hubs): only the connection's effective routes tell.
      unknown.push({
        reason: "VIRTUAL_HUB_ROUTES_UNKNOWN",
        resourceId: connection.id,
        detail:
          connection.enableInternetSecurity === null
            ? `connection ${nameOf(connection.id)} does not say whether it propagates the hub's default route (enableInternetSecurity)`
            : `connection ${nameOf(connection.id)} does not take the hub's default route; what else Virtual WAN hub ${hubName} propagates to it is unknown`,
        canSucceed: true,
      });
    }
    // On-premises may still advertise more specific routes (0.0.0.0/1 + 128.0.0.0/1), which beat
    // the hub's 0.0.0.0/0 by longest prefix (about-internet-routing).
    if (hub.hasGateway)
      unknown.push({
        reason: "VIRTUAL_HUB_ROUTES_UNKNOWN",
        resourceId: connection.id,
        detail: `Virtual WAN hub ${hubName} has an ExpressRoute or VPN gateway: on-premises may advertise routes more specific than the hub's default route`,
        canSucceed: false,
      });
    return;
  }
  // No routing intent: the hub's route tables and on-premises decide what the spoke learns.
  unknown.push({
    reason: "VIRTUAL_HUB_ROUTES_UNKNOWN",
    resourceId: connection.id,
    detail: `Virtual WAN hub ${hubName} has no Internet routing intent: the routes of connection ${nameOf(connection.id)} depend on its route tables and on-premises`,
    canSucceed: hubFirewall !== null,
  });
}

/** What a hub's effective route leads to (nextHopType as virtualHubs getEffectiveRoutes reports). */
function hubNextHop(inventory: Inventory, fact: LearnedRouteFact): LearnedOrigin["leadsTo"] {
  const type = (fact.nextHopType ?? "").toLowerCase().replace(/[\s_]/g, "");
  const next = fact.nextHop ? keyOf(fact.nextHop) : null;
  if (next && inventory.firewalls.has(next)) return { kind: "firewall", firewallKey: next };
  if (
    type.includes("expressroute") ||
    type.includes("vpn") ||
    (next !== null && (next.includes("/expressroutegateways/") || next.includes("/vpngateways/")))
  )
    return { kind: "onPremises", gatewayId: fact.nextHop };
  return {
    kind: "unknown",
    detail: `next hop ${fact.nextHopType ?? "?"} ${fact.nextHop ?? ""}`.trim(),
  };
}

function learnedRoute(
  network: number,
  length: number,
  prefix: string,
  resourceId: string,
  origin: LearnedOrigin,
): CandidateRoute {
  return {
    network,
    length,
    source: "LearnedRoute",
    nextHopType:
      origin.leadsTo.kind === "onPremises" ? "VirtualNetworkGateway" : "VirtualAppliance",
    nextHop: origin.leadsTo.kind === "applianceIp" ? origin.leadsTo.ip : null,
    prefix,
    name: null,
    resourceId,
    protected: false,
    learned: origin,
  };
}

function pushFact(
  out: CandidateRoute[],
  fact: LearnedRouteFact,
  resourceId: string,
  origin: LearnedOrigin,
): void {
  const parsed = parsePrefixCached(fact.addressPrefix);
  if (parsed.kind !== "ipv4") return;
  out.push(learnedRoute(parsed.network, parsed.length, fact.addressPrefix, resourceId, origin));
}

// On equal prefixes ExpressRoute (a VNet gateway) is preferred over NVA routes by default
// (route-server/route-server-faq); then the order read, for reproducible output.
const SOURCE_RANK: Record<LearnedOrigin["kind"], number> = {
  defaultSite: 0,
  gateway: 0,
  virtualHub: 1,
  routeServer: 2,
};

function sortRoutes(routes: CandidateRoute[]): CandidateRoute[] {
  return routes.sort(
    (a, b) => b.length - a.length || SOURCE_RANK[a.learned!.kind] - SOURCE_RANK[b.learned!.kind],
  );
}

/**
 * A VPN gateway with BGP off learns nothing: it programs the address prefixes of the local network
 * gateways it connects to (virtual-networks-udr-overview: optional default routes). Known only when
 * the gateway and each of its connections say BGP is off and every connection's site is in the
 * inventory; null otherwise (its routes stay unknown).
 */
function staticRoutesOf(inventory: Inventory, gatewayKey: string): [string, string][] | null {
  const gateway = inventory.gateways.get(gatewayKey);
  const connections = inventory.connectionsByGateway.get(gatewayKey) ?? [];
  if (!gateway || gateway.enableBgp !== false || connections.length === 0) return null;
  if (gateway.gatewayType?.toLowerCase() !== "vpn") return null;
  const out: [string, string][] = [];
  for (const c of connections) {
    if (
      c.enableBgp !== false ||
      c.connectionType?.toLowerCase() !== "ipsec" ||
      !c.localNetworkGatewayKey
    )
      return null;
    const prefixes = inventory.localNetworkGateways.get(c.localNetworkGatewayKey);
    if (!prefixes) return null;
    for (const p of prefixes) out.push([c.localNetworkGatewayKey, p]);
  }
  return out;
}
