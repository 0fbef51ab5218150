/**
 * Reason codes are a stable contract (README, SARIF rule IDs, Log Analytics, alert queries):
 * add new ones, never rename or reuse one.
 */
export const REASONS = {
  KMS_ROUTES_MISSING:
    "Forced tunneling sends activation traffic away from the Internet and no KMS IP is bypassed.",
  KMS_ROUTES_INCOMPLETE: "Some KMS IPs are bypassed to the Internet, others are still tunneled.",
  LEGACY_KMS_IP_ONLY: "Only the pre-2022 KMS IP is bypassed; the current KMS IPs are tunneled.",
  KMS_ROUTE_WRONG_NEXT_HOP: "A host route for a KMS IP exists but its next hop is not Internet.",
  DEFAULT_ROUTE_BLACKHOLED:
    "The route that carries a KMS IP has next hop None: the traffic is dropped.",
  BGP_DEFAULT_ROUTE_POSSIBLE:
    "No route-table route covers a KMS IP and the subnet learns gateway (BGP) routes, which may include a default route that tunnels it.",
  SERVICE_TAG_ROUTE_UNRESOLVED:
    "A service-tag route may cover a KMS IP; supply the service-tag file (--service-tags) to resolve it.",
  ROUTE_TABLE_NOT_FOUND:
    "The subnet's route table is not in the inventory, so its routes could not be read.",
  ROUTE_TABLE_UNREADABLE:
    "The subnet's route table came without its list of routes, so its routes could not be read.",
  INVALID_ROUTE_PREFIX:
    "A route has an address prefix that is neither a CIDR nor a service tag; it was ignored.",
  NO_FORCED_TUNNEL: "No route sends a KMS IP anywhere but the Internet.",
  KMS_ROUTES_PRESENT: "Forced tunneling is in place and every KMS IP is bypassed to the Internet.",
  EXEMPTED:
    "The subnet would need attention, but its route table or VNet carries the kms-route-audit-exempt tag.",
  NOT_APPLICABLE_SUBNET:
    "A platform subnet that never hosts customer VMs (gateway, firewall, Bastion, Route Server).",
  BGP_DEFAULT_ROUTE_LEARNED:
    "A route the virtual network gateway learned (BGP, e.g. a default route from on-premises) carries a KMS IP away from the Internet (--confirm-gateway-routes).",
  BGP_NO_DEFAULT_ROUTE:
    "The gateways the subnet learns routes from were read and none learned a route covering a KMS IP (--confirm-gateway-routes).",
  GATEWAY_ROUTES_UNREADABLE:
    "The learned routes of a gateway the subnet depends on could not be read (permission, failure or timeout); the subnet stays Unverified.",
  EFFECTIVE_ROUTES_CHECKED:
    "Decided from the effective routes of a network interface in the subnet (--verify-effective-routes).",
  EFFECTIVE_ROUTES_UNREADABLE:
    "The effective routes of the subnet's network interface could not be read (VM stopped, permission, failure or timeout).",
} as const;

export type ReasonCode = keyof typeof REASONS;
