import type { ArmRow } from "../arm-row.js";
import {
  arrayField,
  bag,
  idOf,
  isObject,
  keyOfRef,
  list,
  optionalFlag,
  Problems,
  propertiesOf,
  stringsOf,
  text,
  type Bag,
} from "../fields.js";
import { keyOf, nameOf, parentOfChild } from "../resource-id.js";
import type { BgpConnection, HubConnection, RoutingIntent, VirtualHub } from "../types.js";

/**
 * Virtual hubs: a Virtual WAN hub (properties.virtualWan) or an Azure Route Server, which ARM
 * models as a virtual hub with an IP configuration in the VNet's RouteServerSubnet.
 */
export function virtualHubOf(row: ArmRow): { hub: VirtualHub; connections: HubConnection[] } {
  const props = bag(row.properties);
  const key = keyOf(row.id);
  const isWan = idOf(props.virtualWan) !== null;
  let virtualNetworkKey: string | null = null;
  for (const config of list(props.ipConfigurations)) {
    const subnetId = idOf(propertiesOf(bag(config)).subnet);
    const vnetId = subnetId ? parentOfChild(subnetId, "subnets") : null;
    if (vnetId) virtualNetworkKey ??= keyOf(vnetId);
  }
  const hub: VirtualHub = {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    kind: isWan ? "virtualWan" : "routeServer",
    virtualNetworkKey,
    azureFirewallKey: keyOfRef(props.azureFirewall),
    hasGateway:
      idOf(props.vpnGateway) !== null ||
      idOf(props.expressRouteGateway) !== null ||
      idOf(props.p2SVpnGateway) !== null,
  };
  // Older API versions list the connections inline.
  const connections = list(props.virtualNetworkConnections)
    .filter((c) => isObject(c) && isObject(propertiesOf(c).remoteVirtualNetwork))
    .map((c) =>
      connectionFrom(
        c as Bag,
        key,
        text((c as Bag).id) ??
          `${row.id}/hubVirtualNetworkConnections/${text((c as Bag).name) ?? ""}`,
      ),
    );
  return { hub, connections };
}

function connectionFrom(raw: Bag, hubKey: string, id: string): HubConnection {
  const props = propertiesOf(raw);
  const problems = new Problems(id);
  const security = optionalFlag(props.enableInternetSecurity);
  if (security === undefined)
    problems.wrongType(
      "properties.enableInternetSecurity",
      props.enableInternetSecurity,
      "a boolean",
    );
  const remote = keyOfRef(props.remoteVirtualNetwork);
  if (remote === null) problems.add("properties.remoteVirtualNetwork", "is missing");
  return {
    id,
    hubKey,
    remoteVirtualNetworkKey: remote,
    enableInternetSecurity: security ?? null,
    malformed: problems.all,
  };
}

export function hubConnectionOf(row: ArmRow): HubConnection | null {
  const hubId = parentOfChild(row.id, "hubVirtualNetworkConnections");
  if (!hubId) return null;
  return connectionFrom(row, keyOf(hubId), row.id);
}

export function routingIntentOf(row: ArmRow): RoutingIntent | null {
  const hubId = parentOfChild(row.id, "routingIntent");
  if (!hubId) return null;
  const props = bag(row.properties);
  const problems = new Problems(row.id);
  const policies = (arrayField(props, "routingPolicies", problems, "properties") ?? []).map(
    (p, i) => {
      const b = bag(p);
      const path = `properties.routingPolicies[${i}]`;
      const destinations = stringsOf(list(b.destinations), problems, `${path}.destinations`);
      const nextHop = text(b.nextHop);
      if (!nextHop) problems.add(`${path}.nextHop`, "is missing");
      return {
        name: text(b.name) ?? `policy-${i}`,
        destinations,
        nextHopKey: nextHop && keyOf(nextHop),
      };
    },
  );
  return { id: row.id, hubKey: keyOf(hubId), policies, malformed: problems.all };
}

export function bgpConnectionOf(row: ArmRow): BgpConnection | null {
  const hubId = parentOfChild(row.id, "bgpConnections");
  if (!hubId) return null;
  const props = bag(row.properties);
  return { id: row.id, hubKey: keyOf(hubId), peerIp: text(props.peerIp) };
}

/** A virtual hub IP configuration (Route Server): which VNet the hub sits in. */
export function hubIpConfigurationOf(row: ArmRow): { hubKey: string; vnetKey: string } | null {
  const hubId = parentOfChild(row.id, "ipConfigurations");
  const subnetId = idOf(bag(row.properties).subnet);
  const vnetId = subnetId ? parentOfChild(subnetId, "subnets") : null;
  return hubId && vnetId ? { hubKey: keyOf(hubId), vnetKey: keyOf(vnetId) } : null;
}
