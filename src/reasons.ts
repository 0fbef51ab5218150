/**
 * Reason codes are a stable contract (README, SARIF rule IDs, Log Analytics, alert queries):
 * add new ones, never rename or reuse one. A code that is no longer produced stays here, marked
 * deprecated, so old rows keep their meaning.
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
    "No route-table route decides a KMS IP and the subnet learns gateway (BGP) routes, which may include a default route that tunnels it.",
  SERVICE_TAG_ROUTE_UNRESOLVED:
    "A service-tag route may cover a KMS IP; supply the service-tag file (--service-tags) to resolve it.",
  ROUTE_TABLE_NOT_FOUND:
    "The subnet's route table is not in the inventory, so its routes could not be read.",
  ROUTE_TABLE_UNREADABLE:
    "The subnet's route table came without its list of routes, so its routes could not be read.",
  INVALID_ROUTE_PREFIX:
    "Deprecated (schema 1): a route had an address prefix that is neither a CIDR nor a service tag and was ignored. Schema 2 reports ROUTE_MALFORMED instead.",
  NO_FORCED_TUNNEL: "No route sends a KMS IP anywhere but the Internet.",
  KMS_ROUTES_PRESENT: "Forced tunneling is in place and every KMS IP is bypassed to the Internet.",
  EXEMPTED:
    "The subnet would need attention, but its route table or VNet carries the kms-route-audit-exempt tag.",
  NOT_APPLICABLE_SUBNET:
    "A platform subnet that never hosts customer VMs (gateway, firewall, Bastion, Route Server).",
  BGP_DEFAULT_ROUTE_LEARNED:
    "A route the virtual network gateway learned (BGP, e.g. a default route from on-premises) carries the IP away from the Internet.",
  BGP_NO_DEFAULT_ROUTE:
    "Deprecated (schema 1): the gateways the subnet learns routes from were read and none learned a route covering a KMS IP. Schema 2 reads learned routes before the audit; the route that then decides gives the reason.",
  GATEWAY_ROUTES_UNREADABLE:
    "The learned routes of a gateway the subnet depends on could not be read (permission, failure or timeout); the subnet stays Unverified.",
  EFFECTIVE_ROUTES_CHECKED:
    "Deprecated (schema 1): decided from the effective routes of a network interface in the subnet. Schema 2 judges those routes like any others; decidedBy and the path show the route.",
  EFFECTIVE_ROUTES_UNREADABLE:
    "The effective routes of the subnet's network interface could not be read (VM stopped, permission, failure or timeout).",

  // Schema 2: verdicts that follow the whole path (DESIGN.md v2, section 3).
  REACHABLE_DIRECT:
    "The IP is reached with next hop Internet, from an Azure public IP (default outbound access, a NAT gateway or a public IP).",
  REACHABLE_VIA_FIREWALL:
    "An Azure Firewall on the path allows the flow and sends it to the Internet from its public IP.",
  TUNNELED_ON_PREMISES:
    "The route carrying the IP leads to a virtual network gateway: the traffic goes on-premises and leaves from a non-Azure address.",
  VPN_DEFAULT_SITE:
    "The VPN gateway's default site (gatewayDefaultSite) forces Internet-bound traffic of subnets without a 0.0.0.0/0 route to the Internet on-premises.",
  TRAFFIC_STAYS_IN_VNET:
    "The IP falls in the virtual network's (or a peered network's) address space, or a route with next hop VnetLocal: it never reaches the Internet.",
  FIREWALL_DENIES_PORT:
    "An Azure Firewall on the path has no rule that allows the flow on the endpoint's port (or a rule that denies it): it is dropped.",
  FIREWALL_FORCED_TUNNELED:
    "The Azure Firewall on the path is in forced-tunnel mode: it sends Internet-bound traffic on (on-premises or another appliance) instead of out of Azure.",
  FIREWALL_EGRESS_UNKNOWN:
    "Where the Azure Firewall on the path sends the traffic next cannot be decided: AzureFirewallSubnet may learn routes (a gateway in its VNet) without a 0.0.0.0/0 route to the Internet, or the firewall has no public IP on its data path.",
  FIREWALL_SNAT_DISABLED:
    "The Azure Firewall on the path never SNATs (its SNAT private ranges include 0.0.0.0/0): it cannot egress to the Internet directly (firewall/snat-private-range).",
  FIREWALL_RULES_UNKNOWN:
    "A firewall rule that could decide the flow cannot be evaluated: its IP group, rule collection group, firewall policy or service tag is not in the inventory, or an FQDN rule's DNS proxy setting is unknown.",
  NVA_POLICY_UNKNOWN:
    "The next hop is a third-party network virtual appliance whose policy ARM cannot show; declare its behaviour (tag kms-route-audit-egress or --declarations) or check it.",
  NVA_DECLARED_ALLOWS:
    "Reached through a network virtual appliance whose owner declared that it allows the endpoint set and sends it to the Internet from a public IP (an assumption: see the path).",
  NVA_DECLARED_DENIES:
    "A network virtual appliance on the path is declared (tag or declarations file) not to let the endpoint set through to the Internet.",
  NVA_IP_FORWARDING_DISABLED:
    "The route's next hop is a network interface without IP forwarding: Azure drops traffic not addressed to it.",
  NEXT_HOP_NOT_IN_INVENTORY:
    "The route's next hop IP is no Azure Firewall, appliance NIC or load balancer frontend in the inventory.",
  NEXT_HOP_AMBIGUOUS:
    "The route's next hop IP belongs to more than one resource the virtual network can reach.",
  ROUTE_SERVER_ROUTES_UNKNOWN:
    "The subnet learns routes from an Azure Route Server whose BGP peers' routes are unknown (read them live, or export the peers' learned routes).",
  ROUTE_SERVER_ROUTE_LEARNED:
    "A route that a Route Server BGP peer advertised carries the IP to that appliance.",
  VIRTUAL_HUB_ROUTES_UNKNOWN:
    "The VNet is connected to a Virtual WAN hub whose routes towards it are not fixed by its configuration (no routing intent); read the connection's effective routes.",
  VIRTUAL_HUB_CONNECTION_NOT_FOUND:
    "The VNet peers with a Virtual WAN hub (an HV_ peering) but its hub virtual network connection is not in the inventory.",
  VIRTUAL_HUB_ROUTE_LEARNED:
    "A route the Virtual WAN hub programs on the connection carries the IP (to the hub's firewall or on-premises).",
  PRIVATE_SUBNET_NO_OUTBOUND:
    "The subnet is private (defaultOutboundAccess false) and has no NAT gateway, instance public IP or load-balancer outbound rule: traffic with next hop Internet is dropped.",
  OUTBOUND_ACCESS_UNKNOWN:
    "Whether the subnet has an outbound method cannot be decided: its NAT gateway, public IPs or load balancer are not in the inventory or malformed.",
  NSG_DENIES_PORT:
    "A network security group on the subnet or a NIC denies the flow (the platform's KMS allowance does not apply: a 0.0.0.0/0 route sends traffic elsewhere, or the endpoint is not KMS).",
  NSG_RULES_UNKNOWN:
    "A network security group rule that could decide the flow cannot be evaluated (service tag without the service-tag file, application security group, NSG not in the inventory).",
  PATH_LOOP: "The path comes back to a hop it already passed: the traffic loops and is dropped.",
  PATH_TOO_LONG: "The path has more than 4 hops; the audit does not follow it further.",
  ROUTE_MALFORMED:
    "A route of the subnet's route table is malformed in the data (not an object, prefix or next hop of the wrong type); the IPs it may cover are unknown.",
  RESOURCE_MALFORMED:
    "A resource the verdict depends on is malformed in the data (see the run's warnings); what depends on it is unknown.",
  RESOURCE_CONFLICTING:
    "The data holds a resource the verdict depends on more than once with different contents; which one is true is unknown.",

  // Azure Policy (README "Azure Policy").
  POLICY_EXEMPT:
    "An Azure Policy exemption on the attested assignment covers the subnet (at its scope or above): it is Exempt; the finding carries the exemption's category, expiry and description.",
  EXEMPTION_EXPIRED:
    "An exemption covering the subnet (an Azure Policy exemption, or the kms-route-audit-exempt tag's until= date) has expired or cannot be read: it is reported, not honoured.",
  ROUTE_FIX_DENIED_BY_POLICY:
    "A deny policy assignment in scope would reject the route fix (routes with next hop Internet); the remediation offers what passes (routes through the Azure Firewall and a firewall rule, or a policy exemption request). The finding's policyConflicts name the assignment.",
  NAT_GATEWAY_DENIED_BY_POLICY:
    "A deny policy assignment in scope would reject the NAT gateway (or its public IP) the fix needs; the remediation offers what passes. The finding's policyConflicts name the assignment.",
  FIX_MAY_BE_DENIED_BY_POLICY:
    "A deny policy assignment in scope may reject a fix: part of its rule could not be evaluated (an unsupported condition or function). The finding's policyConflicts name the assignment.",
} as const;

export type ReasonCode = keyof typeof REASONS;

/** Codes no longer produced (schema 2); kept for old rows and SARIF rule IDs. */
export const DEPRECATED_REASONS: ReadonlySet<ReasonCode> = new Set([
  "INVALID_ROUTE_PREFIX",
  "BGP_NO_DEFAULT_ROUTE",
  "EFFECTIVE_ROUTES_CHECKED",
]);
