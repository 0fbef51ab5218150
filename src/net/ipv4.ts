import ipaddr from "ipaddr.js";

/** What a route's addressPrefix turned out to be. */
export type ParsedPrefix =
  | { kind: "ipv4"; network: number; length: number }
  | { kind: "ipv6" }
  | { kind: "serviceTag"; tag: string }
  | { kind: "invalid" };

// Service tags are names such as "AzureCloud", "Storage.WestEurope", "AzureFrontDoor.Backend".
const SERVICE_TAG = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/;

/** Parses an IPv4 dotted quad ("20.118.99.224") into an unsigned 32-bit integer. */
export function ipv4ToNumber(address: string): number {
  return octetsToNumber(ipaddr.IPv4.parse(address).octets);
}

function octetsToNumber(octets: number[]): number {
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

export function isIpv4Address(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/**
 * Classifies a route prefix. Only strict four-part decimal IPv4 CIDRs are IPv4 (ipaddr.js alone
 * would accept "10/8" or hex forms, which Azure never stores); host bits are masked off.
 */
export function parsePrefix(raw: unknown): ParsedPrefix {
  if (typeof raw !== "string") return { kind: "invalid" };
  // Exports sometimes carry stray white space around an otherwise valid prefix.
  const text = raw.trim();
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) {
    const [address, length] = ipaddr.IPv4.parseCIDR(text);
    return {
      kind: "ipv4",
      network: (octetsToNumber(address.octets) & maskOf(length)) >>> 0,
      length,
    };
  }
  if (text.includes(":") && ipaddr.IPv6.isValidCIDR(text)) return { kind: "ipv6" };
  if (SERVICE_TAG.test(text)) return { kind: "serviceTag", tag: text };
  return { kind: "invalid" };
}

// The same prefixes (0.0.0.0/0, the KMS /32s, on-premises ranges) recur in thousands of tables.
const parsedPrefixes = new Map<string, ParsedPrefix>();

/** parsePrefix, remembered per text (bounded, so hostile input cannot grow it without end). */
export function parsePrefixCached(raw: unknown): ParsedPrefix {
  if (typeof raw !== "string") return INVALID;
  let parsed = parsedPrefixes.get(raw);
  if (parsed === undefined) {
    parsed = parsePrefix(raw);
    if (parsedPrefixes.size < 100_000) parsedPrefixes.set(raw, parsed);
  }
  return parsed;
}
const INVALID: ParsedPrefix = { kind: "invalid" };

/** A route prefix Azure could store: an IPv4 or IPv6 CIDR, or a service tag name. */
export function isValidPrefixText(raw: string): boolean {
  return parsePrefixCached(raw).kind !== "invalid";
}

export function containsIpv4(
  prefix: { network: number; length: number },
  address: number,
): boolean {
  return (address & maskOf(prefix.length)) >>> 0 === prefix.network;
}

/** An address range [first, last] of IPv4 numbers. */
export interface Ipv4Range {
  first: number;
  last: number;
}

export function rangeOfCidr(network: number, length: number): Ipv4Range {
  return { first: network, last: (network | (~maskOf(length) >>> 0)) >>> 0 };
}

/**
 * An address as firewall and NSG rules write it: "*" (or "Any"), an IP, a CIDR, a range
 * "10.0.0.1-10.0.0.9", or a service tag name. IPv6 forms never match an IPv4 endpoint.
 */
export type AddressSpec =
  | { kind: "any" }
  | { kind: "range"; range: Ipv4Range }
  | { kind: "ipv6" }
  | { kind: "tag"; tag: string }
  | { kind: "invalid"; text: string };

const specs = new Map<string, AddressSpec>();

export function parseAddressSpec(raw: string): AddressSpec {
  let spec = specs.get(raw);
  if (spec === undefined) {
    spec = parseSpec(raw.trim());
    if (specs.size < 100_000) specs.set(raw, spec);
  }
  return spec;
}

function parseSpec(text: string): AddressSpec {
  if (text === "*" || text.toLowerCase() === "any" || text === "0.0.0.0/0") return { kind: "any" };
  if (isIpv4Address(text)) {
    const n = ipv4ToNumber(text);
    return { kind: "range", range: { first: n, last: n } };
  }
  const dash = text.indexOf("-");
  if (dash > 0) {
    const a = text.slice(0, dash).trim();
    const b = text.slice(dash + 1).trim();
    if (isIpv4Address(a) && isIpv4Address(b)) {
      const first = ipv4ToNumber(a);
      const last = ipv4ToNumber(b);
      return first <= last ? { kind: "range", range: { first, last } } : { kind: "invalid", text };
    }
  }
  const prefix = parsePrefix(text);
  if (prefix.kind === "ipv4")
    return { kind: "range", range: rangeOfCidr(prefix.network, prefix.length) };
  if (prefix.kind === "ipv6" || (text.includes(":") && ipaddr.isValid(text)))
    return { kind: "ipv6" };
  if (prefix.kind === "serviceTag") return { kind: "tag", tag: prefix.tag };
  return { kind: "invalid", text };
}

/** Ranges of a subnet's prefixes; null when one of them is not an IPv4 CIDR. */
export function rangesOfPrefixes(prefixes: readonly string[]): Ipv4Range[] | null {
  const out: Ipv4Range[] = [];
  for (const p of prefixes) {
    const parsed = parsePrefixCached(p);
    if (parsed.kind === "ipv4") out.push(rangeOfCidr(parsed.network, parsed.length));
    else if (parsed.kind !== "ipv6") return null;
  }
  return out;
}
