import type { PolicyInventory } from "../policy/types.js";
import type { Impact, RunError } from "../model.js";

/**
 * The normalised estate the audit judges (DESIGN.md section 4). Every map is keyed by lower-cased
 * resource ID; IDs kept for output are spelled as the data spells them. A reference to a resource
 * the inventory does not hold stays a reference (its key), so the audit can tell "not in the
 * inventory" (unknown) from "none" (absent).
 */

/** Something the data holds but the audit cannot use: where, and what is wrong. */
export interface Problem {
  /** The row's resource ID, as the data spells it. */
  resourceId: string;
  /** The field, e.g. "properties.routes[2]" or "properties.subnets". */
  field: string;
  /** What is wrong with it, e.g. "is a number, expected an object". */
  issue: string;
}

export interface Route {
  name: string;
  addressPrefix: unknown;
  /** As written in the data; compare case-insensitively. Null when the route has none. */
  nextHopType: string | null;
  nextHopIpAddress: string | null;
}

export interface RouteTable {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string | null;
  routes: Route[];
  disableBgpRoutePropagation: boolean;
  /**
   * The row had no `routes` list (ARM and Resource Graph always send one, empty or not), and no
   * route rows filled it in: its routes are unknown, never assumed to be none.
   */
  routesUnreadable: boolean;
  /** Route entries that are malformed (not objects, fields of the wrong type): unknown routes. */
  malformed: Problem[];
  /** Justification from the exemption tag, when the table carries one. */
  exemption: string | null;
}

export interface Subnet {
  id: string;
  name: string;
  virtualNetworkId: string;
  virtualNetworkName: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string | null;
  /** The route table ID as the data names it; null when the subnet has none. */
  routeTableId: string | null;
  /** `addressPrefix`, as written; null when absent. */
  addressPrefix: string | null;
  /** `addressPrefixes` (subnets with several prefixes), as written; null when absent. */
  addressPrefixes: readonly string[] | null;
  /** Network security group ID, as written; null when none. */
  networkSecurityGroupId: string | null;
  /** NAT gateway ID, as written; null when none. */
  natGatewayId: string | null;
  /**
   * `defaultOutboundAccess`: false makes a private subnet (no implicit outbound IP). Null when the
   * data does not say, which is how ARM reports subnets that keep default outbound access.
   */
  defaultOutboundAccess: boolean | null;
  /**
   * How many NICs its ipConfigurations back-references name (null when the data lists none): NIC
   * rows missing from the inventory make its outbound access and NIC NSGs unknown.
   */
  listedNics: number | null;
  /**
   * Known only from a route table's back-reference: its own row (and VNet) is not in the
   * inventory, so its outbound access and NSG are unknown.
   */
  unread: boolean;
  /** Fields of the subnet that are malformed; what depends on them is unknown. */
  malformed: Problem[];
}

export interface Peering {
  remoteVirtualNetworkKey: string | null;
  useRemoteGateways: boolean;
  /** A Virtual WAN hub's VNet (HV_<hub>_<guid> in a Microsoft-owned subscription). */
  toVirtualHub: boolean;
}

export interface VirtualNetwork {
  id: string;
  name: string;
  location: string | null;
  addressPrefixes: string[];
  peerings: Peering[];
  exemption: string | null;
}

/** A virtual network gateway (ExpressRoute or VPN). */
export interface Gateway {
  id: string;
  name: string;
  /** "ExpressRoute", "Vpn", or null when the row does not say. */
  gatewayType: string | null;
  /** A VPN gateway's default site (gatewayDefaultSite.id): forced tunnelling to on-premises. */
  defaultSiteId: string | null;
  /** enableBgp; null when the data does not say. */
  enableBgp: boolean | null;
  virtualNetworkKeys: string[];
}

/** A VPN connection (microsoft.network/connections) of a gateway to a local network gateway. */
export interface GatewayConnection {
  id: string;
  gatewayKey: string;
  localNetworkGatewayKey: string | null;
  /** IPsec, ExpressRoute, Vnet2Vnet, ... */
  connectionType: string | null;
  enableBgp: boolean | null;
}

/** One Azure Firewall network or application rule, classic or from a firewall policy. */
export interface FirewallRule {
  name: string;
  kind: "network" | "application";
  /** Network rules: TCP, UDP, ICMP, Any. Application rules: Http:80, Https:443, Mssql:1433. */
  protocols: { protocol: string; port: number | null }[];
  sourceAddresses: string[];
  sourceIpGroups: string[];
  destinationAddresses: string[];
  destinationIpGroups: string[];
  destinationFqdns: string[];
  destinationPorts: string[];
  /** Application rules: FQDN tags and web categories the audit cannot evaluate. */
  unresolvable: string[];
  /** Fields of the rule that are malformed. */
  malformed: Problem[];
}

export interface FirewallRuleCollection {
  name: string;
  priority: number | null;
  action: "Allow" | "Deny" | null;
  kind: "network" | "application" | "nat";
  rules: FirewallRule[];
}

export interface RuleCollectionGroup {
  id: string;
  name: string;
  policyKey: string;
  priority: number | null;
  collections: FirewallRuleCollection[];
  malformed: Problem[];
}

export interface FirewallPolicy {
  id: string;
  name: string;
  basePolicyKey: string | null;
  basePolicyId: string | null;
  /** Rule collection groups the policy names (properties.ruleCollectionGroups[].id), as keys. */
  ruleCollectionGroupKeys: string[];
  /** properties.dnsSettings.enableProxy; null when the data does not say. */
  dnsProxy: boolean | null;
  /** properties.snat.privateRanges, as written; null when not said. */
  snatPrivateRanges: string[] | null;
  malformed: Problem[];
}

export interface AzureFirewall {
  id: string;
  name: string;
  /** AZFW_VNet or AZFW_Hub. */
  skuName: string | null;
  /** VNet of AzureFirewallSubnet (VNet firewalls). */
  virtualNetworkKey: string | null;
  /** AzureFirewallSubnet's key (VNet firewalls). */
  subnetKey: string | null;
  /** Virtual WAN hub of a secured-hub firewall. */
  virtualHubKey: string | null;
  privateIpAddresses: string[];
  /** Public IPs of the data path (ipConfigurations[].publicIPAddress, hubIPAddresses.publicIPs). */
  publicIpAddressIds: string[];
  publicIpCount: number;
  /** A management IP configuration: forced-tunnel mode. */
  forcedTunnel: boolean;
  policyKey: string | null;
  policyId: string | null;
  classicCollections: FirewallRuleCollection[];
  /** additionalProperties["Network.DNS.EnableProxy"]; null when not said. */
  dnsProxy: boolean | null;
  /** SNAT private ranges (classic additionalProperties["Network.SNAT.PrivateRanges"]), as written. */
  snatPrivateRanges: string[] | null;
  malformed: Problem[];
}

export interface IpGroup {
  id: string;
  ipAddresses: string[];
  malformed: Problem[];
}

/** A virtual hub: a Virtual WAN hub, or an Azure Route Server (a hub in the VNet's RouteServerSubnet). */
export interface VirtualHub {
  id: string;
  name: string;
  kind: "virtualWan" | "routeServer";
  /** Route Server: the VNet of its RouteServerSubnet. */
  virtualNetworkKey: string | null;
  /** Virtual WAN hub: its Azure Firewall (properties.azureFirewall.id). */
  azureFirewallKey: string | null;
  /** Virtual WAN hub: it has a VPN or ExpressRoute gateway (on-premises). */
  hasGateway: boolean;
}

export interface HubConnection {
  id: string;
  hubKey: string;
  remoteVirtualNetworkKey: string | null;
  /**
   * Whether the hub propagates 0.0.0.0/0 to the spoke. Null when the data does not say: ARM
   * documents no default (its own example sets false), so absent is unknown.
   */
  enableInternetSecurity: boolean | null;
  malformed: Problem[];
}

export interface RoutingIntent {
  id: string;
  hubKey: string;
  policies: { name: string; destinations: string[]; nextHopKey: string | null }[];
  malformed: Problem[];
}

export interface BgpConnection {
  id: string;
  hubKey: string;
  peerIp: string | null;
}

export interface NatGateway {
  id: string;
  /** Public IPs and prefixes attached: without any the gateway gives no outbound access. */
  publicIpCount: number;
}

export interface LoadBalancerFrontend {
  id: string;
  privateIpAddress: string | null;
  virtualNetworkKey: string | null;
  publicIp: boolean;
}

export interface LoadBalancer {
  id: string;
  name: string;
  frontends: LoadBalancerFrontend[];
  /** Backend pool key → NIC keys (from backendIPConfigurations). */
  backendNics: Map<string, string[]>;
  /** Load-balancing rules: frontend key → backend pool keys. */
  rulePools: Map<string, string[]>;
  /** Pools with an outbound rule (outbound SNAT through a public frontend). */
  outboundPools: string[];
  declaration: string | null;
}

export interface NsgRule {
  name: string;
  priority: number;
  access: "Allow" | "Deny";
  protocol: string;
  sourceAddresses: string[];
  /** Source application security groups: which NICs are members is not in the inventory. */
  sourceApplicationSecurityGroups: boolean;
  /** Destination application security groups: VM NICs, never an endpoint on the Internet. */
  destinationApplicationSecurityGroups: boolean;
  destinationAddresses: string[];
  destinationPorts: string[];
}

export interface NetworkSecurityGroup {
  id: string;
  name: string;
  /** Outbound rules, custom and default, by priority. */
  outbound: NsgRule[];
  malformed: Problem[];
}

/** A NIC that can be a route's next hop (an appliance), or stands for a VM in a subnet. */
export interface ApplianceNic {
  id: string;
  key: string;
  subnetKey: string | null;
  virtualNetworkKey: string | null;
  /** enableIPForwarding; null when the data does not say. */
  ipForwarding: boolean | null;
  publicIp: boolean;
  /** The kms-route-audit-egress tag of the NIC or its VM. */
  declaration: string | null;
  declaredOn: string | null;
}

/**
 * What a subnet's NICs add to its outbound access and filters; only subnets with a NIC that has a
 * public IP, a load-balancer pool or an NSG have an entry (the count of NICs is nicCountBySubnet).
 */
export interface SubnetNics {
  /** NICs with an instance public IP (outbound). */
  withPublicIp: number;
  /** NICs in a load-balancer pool that has an outbound rule. */
  withOutboundRule: number;
  /** NICs whose load-balancer pools are not all in the inventory. */
  outboundUnknown: number;
  /** Distinct NIC NSG IDs (as written). */
  nsgIds: string[];
}

/** Routes learned by one source, as the facts stage (or an export) read them. */
export interface LearnedRouteFact {
  /** The prefix, e.g. "0.0.0.0/0". */
  addressPrefix: string;
  /** The next hop as the source names it: an IP (gateway, BGP peer) or a resource ID (vWAN). */
  nextHop: string | null;
  /** VirtualNetworkGateway, VirtualAppliance, AzureFirewall, ... as the source reports it. */
  nextHopType: string | null;
  origin: string | null;
  asPath: string | null;
  sourcePeer: string | null;
}

export type LearnedRoutesRead =
  { ok: true; routes: LearnedRouteFact[] } | { ok: false; message: string };

/** One entry of a NIC's effective route table (EffectiveRoute of @azure/arm-network). */
export interface EffectiveRouteFact {
  name: string | null;
  /** User, VirtualNetworkGateway, Default. */
  source: string | null;
  /** Active or Invalid (overridden by a more preferred route). */
  state: string | null;
  addressPrefixes: string[];
  nextHopType: string | null;
  nextHopIp: string | null;
}

/** A NIC's effective routes: everything Azure programmed for its subnet, learned routes included. */
export type EffectiveRoutesRead =
  | { ok: true; networkInterfaceId: string; routes: EffectiveRouteFact[] }
  | { ok: false; networkInterfaceId: string; message: string };

export interface Inventory {
  subnets: Map<string, Subnet>;
  routeTables: Map<string, RouteTable>;
  virtualNetworks: Map<string, VirtualNetwork>;
  /** VNets known to hold a virtual network gateway (from the gateway row or GatewaySubnet). */
  gatewayVirtualNetworks: Set<string>;
  /** VNet key → IDs of its virtual network gateways (as the data spells them), when known. */
  gatewaysByVirtualNetwork: Map<string, string[]>;
  gateways: Map<string, Gateway>;
  /** Gateway key → its connections. */
  connectionsByGateway: Map<string, GatewayConnection[]>;
  /** Local network gateway key → its address prefixes (the on-premises site's static routes). */
  localNetworkGateways: Map<string, string[]>;
  firewalls: Map<string, AzureFirewall>;
  firewallPolicies: Map<string, FirewallPolicy>;
  ruleCollectionGroups: Map<string, RuleCollectionGroup>;
  ipGroups: Map<string, IpGroup>;
  virtualHubs: Map<string, VirtualHub>;
  /** VNet key → Route Server hub keys in it. */
  routeServersByVirtualNetwork: Map<string, string[]>;
  /** Hub key → BGP connections (Route Server peers). */
  bgpConnectionsByHub: Map<string, BgpConnection[]>;
  /** Spoke VNet key → its hub virtual network connections. */
  hubConnectionsByVirtualNetwork: Map<string, HubConnection[]>;
  /** Hub key → routing intent. */
  routingIntents: Map<string, RoutingIntent>;
  natGateways: Map<string, NatGateway>;
  /** Public IP key → address, for the evidence. */
  publicIpAddresses: Map<string, string | null>;
  loadBalancers: Map<string, LoadBalancer>;
  networkSecurityGroups: Map<string, NetworkSecurityGroup>;
  /** Private IP → resources that hold it (firewalls, appliance NICs, LB frontends), per VNet. */
  privateIps: Map<string, PrivateIpHolder[]>;
  /** NICs in load-balancer backend pools (appliances behind an internal load balancer). */
  applianceNics: Map<string, ApplianceNic>;
  /** Subnet key → what its NICs add (outbound methods, NSGs); see SubnetNics. */
  nicsBySubnet: Map<string, SubnetNics>;
  /** Subnet key → the NIC (lowest ID) in the subnet attached to a VM, for its effective routes. */
  vmNicsBySubnet: Map<string, string>;
  /** Learned routes per source key (gateway, BGP connection, hub connection) from facts rows. */
  learnedRoutes: Map<string, LearnedRoutesRead>;
  /** Subnet key → the effective routes of one NIC in it, when read (facts rows or live). */
  effectiveRoutes: Map<string, EffectiveRoutesRead>;
  subscriptionNames: Map<string, string>;
  /**
   * Subscription key → the management groups above it (lower-cased, nearest first), from the
   * subscription rows' managementGroupAncestorsChain; a subscription without a row is absent.
   */
  managementGroupsBySubscription: Map<string, string[]>;
  /** Policy assignments, definitions, initiatives and exemptions (empty without policy rows). */
  policy: PolicyInventory;
  /**
   * The impact counts of subnets with NICs or instances (shared objects); others have
   * defaultImpact. A count is null when the inventory has no rows of its type.
   */
  impactBySubnet: Map<string, Impact>;
  defaultImpact: Impact;
  /**
   * Every NIC's private IPs as the builder read them (flat [ip, NIC key, NIC ID, subnet key,
   * forwarding flag]), kept only when facts will be added later (addFacts indexes the next hops they
   * name); null otherwise.
   */
  nicIps: (string | null)[] | null;
  /** Resource keys held more than once with different contents. */
  conflicting: Set<string>;
  /** Malformed parts that make some verdicts unknown; reported as run warnings. */
  problems: Problem[];
  /** Parts of the estate that could not be read at all (a VNet's subnets): the run is incomplete. */
  errors: RunError[];
}

export type PrivateIpHolder =
  | { kind: "firewall"; key: string; virtualNetworkKey: string | null; hubKey: string | null }
  | { kind: "nic"; key: string; virtualNetworkKey: string | null; nic: ApplianceNic }
  | { kind: "loadBalancer"; key: string; virtualNetworkKey: string | null; frontendId: string };

/** A subnet's prefixes: addressPrefixes when the data has them, else addressPrefix. */
export function prefixesOfSubnet(subnet: Subnet): readonly string[] {
  return subnet.addressPrefixes ?? (subnet.addressPrefix === null ? [] : [subnet.addressPrefix]);
}
