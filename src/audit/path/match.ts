import type { ServiceTagIndex } from "../../catalog/service-tags.js";
import type { IpGroup } from "../../inventory/types.js";
import { containsIpv4, parseAddressSpec, rangeOfCidr, type Ipv4Range } from "../../net/ipv4.js";

/**
 * Matching firewall and NSG rules against one flow, in three values: a rule matches (true), does
 * not (false), or cannot be evaluated from the data (null: an unresolved service tag, an IP group
 * not in the inventory, an application security group). The evaluators branch on null: the rule
 * may or may not apply, and the outcome is decided only when both branches agree.
 */
export type Tri = boolean | null;

export function and(a: Tri, b: Tri): Tri {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

export function or(a: Tri, b: Tri): Tri {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}

/** What the matcher needs to know beyond the rule. */
export interface MatchContext {
  serviceTags?: ServiceTagIndex;
  ipGroups: ReadonlyMap<string, IpGroup>;
  /**
   * NSG `VirtualNetwork` tag: whether it holds the endpoint IP. Azure's tag covers the VNet, its
   * peers, on-premises prefixes and "might also contain default routes" (service-tags-overview),
   * so with a custom 0.0.0.0/0 the answer is null.
   */
  virtualNetworkTagHoldsIp: Tri;
}

/** The flow a rule is matched against: TCP from the subnet's prefixes to one IP and port. */
export interface Flow {
  /**
   * The source's IPv4 ranges (the subnet's prefixes), parsed when a rule first needs them; null
   * when they are unknown.
   */
  source: () => Ipv4Range[] | null;
  ip: number;
  port: number;
  host: string;
  /** The endpoint is Azure's KMS (the AzurePlatformLKM service tag holds it). */
  azureKms: boolean;
}

// RFC 1918, shared address space and other non-public ranges: never in the Internet tag.
const NOT_INTERNET: { network: number; length: number }[] = [
  [0x0a000000, 8],
  [0xac100000, 12],
  [0xc0a80000, 16],
  [0x64400000, 10],
  [0x7f000000, 8],
  [0xa9fe0000, 16],
  [0x00000000, 8],
  [0xe0000000, 3],
].map(([network, length]) => ({ network: network!, length: length! }));

export function isPublicIpv4(ip: number): boolean {
  return !NOT_INTERNET.some((r) => containsIpv4(r, ip));
}

function tagHolds(
  tag: string,
  ip: number,
  ctx: MatchContext,
  nsg: boolean,
  azureKms: boolean,
): Tri {
  const lower = tag.toLowerCase();
  // "Windows licensing or key management service" (service-tags-overview): Azure's KMS.
  if (lower === "azureplatformlkm") return azureKms;
  if (nsg) {
    // "Internet": the address space outside the VNet reachable on the Internet, Azure's public IPs
    // included (service-tags-overview).
    if (lower === "internet") return isPublicIpv4(ip);
    if (lower === "virtualnetwork") return ctx.virtualNetworkTagHoldsIp;
    if (lower === "azureloadbalancer") return false;
  }
  const prefixes = ctx.serviceTags?.get(lower);
  if (!prefixes) return null;
  return prefixes.some((p) => containsIpv4(p, ip));
}

/** Whether an address list (with IP groups) holds the destination IP. */
export function destinationMatches(
  addresses: readonly string[],
  ipGroupKeys: readonly string[],
  ip: number,
  ctx: MatchContext,
  nsg: boolean,
  azureKms = false,
): Tri {
  let result: Tri = false;
  for (const text of addresses) {
    const spec = parseAddressSpec(text);
    let m: Tri;
    switch (spec.kind) {
      case "any":
        return true;
      case "range":
        m = ip >= spec.range.first && ip <= spec.range.last;
        break;
      case "ipv6":
        m = false;
        break;
      case "tag":
        m = tagHolds(spec.tag, ip, ctx, nsg, azureKms);
        break;
      case "invalid":
        m = null;
        break;
    }
    result = or(result, m);
    if (result === true) return true;
  }
  for (const key of ipGroupKeys) {
    const group = ctx.ipGroups.get(key);
    if (!group || group.malformed.length > 0) {
      result = or(result, null);
      continue;
    }
    // An empty IP group makes Azure skip the rule: it matches nothing (firewall/ip-groups).
    result = or(result, destinationMatches(group.ipAddresses, [], ip, ctx, false));
    if (result === true) return true;
  }
  return result;
}

/** Whether an address list (with IP groups) holds every source address; null when partly. */
export function sourceMatches(
  addresses: readonly string[],
  ipGroupKeys: readonly string[],
  sourceOf: () => Ipv4Range[] | null,
  ctx: MatchContext,
  nsg: boolean,
): Tri {
  const ranges: Ipv4Range[] = [];
  let unknown = false;
  const collect = (list: readonly string[], inGroup: boolean): boolean => {
    for (const text of list) {
      const spec = parseAddressSpec(text);
      switch (spec.kind) {
        case "any":
          return true;
        case "range":
          ranges.push(spec.range);
          break;
        case "ipv6":
          break;
        case "tag": {
          const lower = spec.tag.toLowerCase();
          // The subnet is in its own VNet: NSG "VirtualNetwork" always holds it.
          if (nsg && !inGroup && lower === "virtualnetwork") return true;
          if (nsg && !inGroup && (lower === "internet" || lower === "azureloadbalancer")) break;
          const prefixes = ctx.serviceTags?.get(lower);
          if (!prefixes) unknown = true;
          else for (const p of prefixes) ranges.push(rangeOfCidr(p.network, p.length));
          break;
        }
        case "invalid":
          unknown = true;
          break;
      }
    }
    return false;
  };
  if (collect(addresses, false)) return true;
  for (const key of ipGroupKeys) {
    const group = ctx.ipGroups.get(key);
    if (!group || group.malformed.length > 0) unknown = true;
    else if (collect(group.ipAddresses, true)) return true;
  }
  const source = sourceOf();
  if (source === null || source.length === 0) return ranges.length === 0 && !unknown ? false : null;
  const covered = source.every((s) => coveredBy(s, ranges));
  if (covered) return true;
  const touches = source.some((s) => ranges.some((r) => r.first <= s.last && s.first <= r.last));
  // Part of the subnet matches: some VMs' traffic does, some does not.
  if (touches || unknown) return null;
  return false;
}

function coveredBy(target: Ipv4Range, ranges: Ipv4Range[]): boolean {
  // Walk the sorted ranges that overlap the target and check they leave no gap.
  const sorted = ranges
    .filter((r) => r.first <= target.last && target.first <= r.last)
    .sort((a, b) => a.first - b.first);
  let next = target.first;
  for (const r of sorted) {
    if (r.first > next) return false;
    if (r.last >= next) next = r.last + 1;
    if (next > target.last) return true;
  }
  return next > target.last;
}

/** Whether a port list ("1688", "1000-2000", "*") holds the port. */
export function portMatches(ports: readonly string[], port: number): Tri {
  let result: Tri = false;
  for (const raw of ports) {
    const text = raw.trim();
    if (text === "*" || text.toLowerCase() === "any") return true;
    const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(text);
    if (!m) {
      result = or(result, null);
      continue;
    }
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (port >= first && port <= last) return true;
  }
  return result;
}

/** DNS names: exact (network rules) or with a leading "*." wildcard (application rules). */
export function fqdnMatches(
  patterns: readonly string[],
  host: string,
  wildcards: boolean,
): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return patterns.some((raw) => {
    const p = raw.trim().toLowerCase().replace(/\.$/, "");
    if (p === h) return true;
    if (!wildcards) return false;
    if (p === "*") return true;
    return p.startsWith("*.") && h.endsWith(p.slice(1));
  });
}
