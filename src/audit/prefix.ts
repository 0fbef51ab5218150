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

export function containsIpv4(
  prefix: { network: number; length: number },
  address: number,
): boolean {
  return (address & maskOf(prefix.length)) >>> 0 === prefix.network;
}
