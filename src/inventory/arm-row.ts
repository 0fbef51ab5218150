/**
 * The one row shape every source produces: an ARM resource, whether it came from Resource Graph
 * (projected) or from a file a user exported.
 */
export interface ArmRow {
  id: string;
  type: string;
  name?: string;
  location?: string;
  subscriptionId?: string;
  resourceGroup?: string;
  sku?: unknown;
  properties?: unknown;
  [extra: string]: unknown;
}

/** Resource types the audit reads, lower-cased as Resource Graph reports them. */
export const AUDITED_TYPES = {
  routeTable: "microsoft.network/routetables",
  route: "microsoft.network/routetables/routes",
  virtualNetwork: "microsoft.network/virtualnetworks",
  subnet: "microsoft.network/virtualnetworks/subnets",
  peering: "microsoft.network/virtualnetworks/virtualnetworkpeerings",
  gateway: "microsoft.network/virtualnetworkgateways",
  connection: "microsoft.network/connections",
  localNetworkGateway: "microsoft.network/localnetworkgateways",
  networkInterface: "microsoft.network/networkinterfaces",
  virtualMachine: "microsoft.compute/virtualmachines",
  scaleSet: "microsoft.compute/virtualmachinescalesets",
  subscription: "microsoft.resources/subscriptions",
  firewall: "microsoft.network/azurefirewalls",
  firewallPolicy: "microsoft.network/firewallpolicies",
  ruleCollectionGroup: "microsoft.network/firewallpolicies/rulecollectiongroups",
  ipGroup: "microsoft.network/ipgroups",
  virtualHub: "microsoft.network/virtualhubs",
  hubConnection: "microsoft.network/virtualhubs/hubvirtualnetworkconnections",
  routingIntent: "microsoft.network/virtualhubs/routingintent",
  bgpConnection: "microsoft.network/virtualhubs/bgpconnections",
  hubIpConfiguration: "microsoft.network/virtualhubs/ipconfigurations",
  natGateway: "microsoft.network/natgateways",
  publicIp: "microsoft.network/publicipaddresses",
  loadBalancer: "microsoft.network/loadbalancers",
  networkSecurityGroup: "microsoft.network/networksecuritygroups",
  nicEffectiveRoutes: "microsoft.network/networkinterfaces/effectiveroutetable",
  gatewayLearnedRoutes: "microsoft.network/virtualnetworkgateways/learnedroutes",
  bgpLearnedRoutes: "microsoft.network/virtualhubs/bgpconnections/learnedroutes",
  connectionEffectiveRoutes:
    "microsoft.network/virtualhubs/hubvirtualnetworkconnections/effectiveroutes",
  /** The NIC and VM counts of one VNet's subnets, as Resource Graph aggregates them (not ARM). */
  virtualNetworkImpact: "kms-route-audit/virtualnetworkimpact",
  /** How many NIC and VM rows the aggregated scope held (not an ARM type). */
  impactTotals: "kms-route-audit/impacttotals",
  policyAssignment: "microsoft.authorization/policyassignments",
  policyDefinition: "microsoft.authorization/policydefinitions",
  policySetDefinition: "microsoft.authorization/policysetdefinitions",
  policyExemption: "microsoft.authorization/policyexemptions",
} as const;
