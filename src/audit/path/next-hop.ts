import type { Inventory, PrivateIpHolder } from "../../inventory/types.js";

export type NextHopResolution =
  | { kind: "found"; holder: PrivateIpHolder }
  | { kind: "notFound"; detail: string }
  | { kind: "ambiguous"; detail: string };

/**
 * The resource behind a VirtualAppliance next hop IP. Private IPs are unique only within a VNet
 * and its peers, and Azure requires the next hop to be directly reachable, not through an
 * ExpressRoute gateway or Virtual WAN (virtual-networks-udr-overview): the IP is looked up in the
 * packet's VNet and the VNets it peers with directly.
 */
export function resolveNextHop(
  inventory: Inventory,
  vnetKey: string | null,
  ip: string,
): NextHopResolution {
  let cache = resolved.get(inventory);
  // Facts added after the build (addFacts) can bring new holders: start over when they do.
  if (!cache || cache.holders !== inventory.privateIps.size)
    resolved.set(inventory, (cache = { holders: inventory.privateIps.size, byIp: new Map() }));
  const byIp = cache.byIp;
  const key = `${vnetKey ?? ""}|${ip}`;
  let result = byIp.get(key);
  if (!result) byIp.set(key, (result = resolve(inventory, vnetKey, ip)));
  return result;
}

const resolved = new WeakMap<
  Inventory,
  { holders: number; byIp: Map<string, NextHopResolution> }
>();

function resolve(inventory: Inventory, vnetKey: string | null, ip: string): NextHopResolution {
  const holders = inventory.privateIps.get(ip.trim()) ?? [];
  if (holders.length === 0)
    return {
      kind: "notFound",
      detail: `no firewall, appliance NIC or load balancer in the inventory holds ${ip}`,
    };
  const reachable = reachableVnets(inventory, vnetKey);
  const near = holders.filter(
    (h) =>
      h.virtualNetworkKey !== null && reachable.has(h.virtualNetworkKey) && h.kind !== "firewall",
  );
  // A VNet firewall sits in its VNet; a secured-hub firewall is never a UDR next hop.
  for (const h of holders)
    if (
      h.kind === "firewall" &&
      h.hubKey === null &&
      h.virtualNetworkKey &&
      reachable.has(h.virtualNetworkKey)
    )
      near.push(h);
  if (near.length === 1) return { kind: "found", holder: near[0]! };
  if (near.length > 1)
    return {
      kind: "ambiguous",
      detail: `${ip} is held by ${near.length} resources the VNet reaches: ${near.map((h) => h.key).join(", ")}`,
    };
  // Unknown VNet (not in the inventory): one holder anywhere is a guess we do not make.
  return {
    kind: "notFound",
    detail: `${ip} is held only by resources outside the VNet and its direct peers (${holders.map((h) => h.key).join(", ")})`,
  };
}

const reachableCache = new WeakMap<Inventory, Map<string, Set<string>>>();

function reachableVnets(inventory: Inventory, vnetKey: string | null): Set<string> {
  if (vnetKey === null) return new Set();
  let byVnet = reachableCache.get(inventory);
  if (!byVnet) reachableCache.set(inventory, (byVnet = new Map<string, Set<string>>()));
  let set = byVnet.get(vnetKey);
  if (!set) {
    set = new Set([vnetKey]);
    for (const p of inventory.virtualNetworks.get(vnetKey)?.peerings ?? [])
      if (p.remoteVirtualNetworkKey && !p.toVirtualHub) set.add(p.remoteVirtualNetworkKey);
    byVnet.set(vnetKey, set);
  }
  return set;
}
