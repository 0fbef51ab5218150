import type { ReasonCode } from "./reasons.js";

export const STATUSES = [
  "NonCompliant",
  "Unverified",
  "Exempt",
  "Compliant",
  "NotApplicable",
] as const;
export type Status = (typeof STATUSES)[number];

export const SEVERITIES = ["high", "medium", "low", "none"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const CLOUDS = ["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"] as const;
export type CloudName = (typeof CLOUDS)[number];

/** The JSON contract's version (README "Output: the JSON contract", migration notes there). */
export const SCHEMA_VERSION = 2;

/**
 * One step of the path a packet takes from the subnet towards an endpoint IP, as evidence. Kinds
 * are a stable contract (README), like reason codes: added, never renamed.
 */
export const HOP_KINDS = [
  /** A network security group rule that allowed or denied the flow. */
  "NetworkSecurityGroup",
  /** The route chosen: a route-table route, a learned route or a system route. */
  "Route",
  /** Learned routes the audit could not see (gateway, Route Server peer, vWAN connection). */
  "LearnedRoutes",
  /** An Azure Firewall, with the rule (or the absence of one) that decided. */
  "AzureFirewall",
  /** A third-party network virtual appliance (a NIC that forwards), declared or not. */
  "NetworkVirtualAppliance",
  /** An internal load balancer frontend in front of appliances. */
  "LoadBalancer",
  /** A virtual network gateway: the traffic goes on-premises. */
  "VirtualNetworkGateway",
  /** A Virtual WAN hub (or its connection) that the learned route leads to. */
  "VirtualHub",
  /** An Azure Route Server whose BGP peer advertised the route. */
  "RouteServer",
  /** The outbound method that gives the packet an Azure public IP (NAT gateway, public IP, ...). */
  "Outbound",
  /** The packet reaches the Internet (and the endpoint) from an Azure public IP. */
  "Internet",
  /** The packet is dropped (next hop None, a loop, no outbound method). */
  "Drop",
  /** A hop the audit cannot resolve or judge. */
  "Unknown",
] as const;
export type HopKind = (typeof HOP_KINDS)[number];

/** One hop of an endpoint's path. */
export interface Hop {
  kind: HopKind;
  /** The resource that decided this hop (route table, firewall, NSG, NIC, ...); null for none. */
  resourceId: string | null;
  /** What decided it, in words: the route, the rule, the outbound method. */
  detail: string;
}

/** How one endpoint IP fares on one subnet (DESIGN.md section 3). */
export interface EndpointVerdict {
  /** Endpoint set the IP belongs to, e.g. "kms" or "rhui". */
  set: string;
  host: string;
  ip: string;
  port: number;
  protocol: "TCP";
  /**
   * true: a VM in the subnet reaches the IP on the port from an Azure public IP; false: it does not
   * (dropped, tunnelled, denied, no outbound method); null: the data cannot decide it. Replaces
   * schema 1's `bypassed`.
   */
  reachable: boolean | null;
  /** The cause of the outcome (a reason code), e.g. REACHABLE_VIA_FIREWALL or FIREWALL_DENIES_PORT. */
  reason: ReasonCode;
  /** The path, hop by hop, from the subnet; the last hop decided the outcome. */
  path: Hop[];
  /** Next hop type of the route chosen at the subnet ("Internet" for the system route); null when unknown. */
  nextHopType: string | null;
  /** Prefix of that route: a CIDR, a service tag, or "0.0.0.0/0" for the system route. */
  addressPrefix: string | null;
  /** Name of that route when it is a route-table route. */
  routeName: string | null;
  /** Where that route came from. */
  decidedBy:
    | "UserDefinedRoute"
    | "ServiceTagRoute"
    | "SystemRoute"
    | "GatewayRoute"
    | "LearnedRoute"
    | "EffectiveRoute"
    | "Unknown";
}

export interface Impact {
  /** NICs with an IP configuration in the subnet; null when the inventory has no NIC rows. */
  networkInterfaces: number | null;
  /** Windows VMs with a NIC in the subnet; null when the inventory has no VM rows. */
  windowsVirtualMachines: number | null;
  /** Instances of Windows uniform scale sets in the subnet; null when the inventory has none. */
  windowsScaleSetInstances: number | null;
  /** Linux VMs with a NIC in the subnet (any distribution); null without VM rows. */
  linuxVirtualMachines: number | null;
  /** Red Hat Enterprise Linux pay-as-you-go VMs (they update from RHUI); null without VM rows. */
  rhelPayAsYouGoVirtualMachines: number | null;
  /** SUSE Linux Enterprise pay-as-you-go VMs (they update from SUSE's region servers). */
  slesPayAsYouGoVirtualMachines: number | null;
}

/** One fix, for one cause (DESIGN.md section 3, rule 7). */
export interface Fix {
  /** What the fix does; `routes` is the only kind `remediate --apply` applies. */
  kind:
    | "routes"
    | "natGateway"
    | "firewallPolicyRule"
    | "firewallClassicRule"
    | "nsgRule"
    /** Routes for the endpoint IPs with next hop the Azure Firewall (when a deny policy rejects Internet routes). */
    | "routesViaFirewall"
    /** The text of a policy exemption request for a fix a deny policy rejects. */
    | "policyExemptionRequest";
  /** The reason codes this fix addresses. */
  causes: ReasonCode[];
  /** One line a person can read. */
  summary: string;
  azureCli: string;
  powershell: string;
  bicep: string;
  /** Deny policy assignments that would reject this fix (absent: none known). Additive. */
  deniedBy?: string[];
}

/**
 * The fixes for a subnet. `azureCli`, `powershell` and `bicep` are every fix's script in order
 * (schema 1 had only the route script there); `fixes` has them one by one.
 */
export interface Remediation {
  azureCli: string;
  powershell: string;
  bicep: string;
  fixes: Fix[];
}

/**
 * An exemption that covers a subnet: an Azure Policy exemption on the attested assignment (at the
 * subnet's scope or above) or the kms-route-audit-exempt tag on its route table or VNet.
 */
export interface Exemption {
  source: "policyExemption" | "tag";
  /** The policy exemption's resource ID, or the ID of the tagged route table or VNet. */
  id: string;
  /** Waiver or Mitigated (Azure Policy exemptions); null for the tag. */
  category: "Waiver" | "Mitigated" | null;
  /** When it stops counting (ISO 8601); null: never. A tag's until=YYYY-MM-DD ends after that day, UTC. */
  expiresOn: string | null;
  /** The exemption's description (or display name), or the tag's justification. */
  description: string | null;
  /**
   * active: it counts; expired: its expiresOn has passed (reported, not honoured); invalid: the
   * tag's until= is not a date; notEvaluated: it has resource selectors, which the audit does not
   * evaluate (not honoured).
   */
  state: "active" | "expired" | "invalid" | "notEvaluated";
}

/** A deny policy that would reject one of a finding's fixes (README "Azure Policy"). */
export interface PolicyConflict {
  /** The fix it would deny. */
  fix: "routes" | "natGateway";
  /** true: the rule denies the fix; null: it may (part of its rule could not be evaluated). */
  denies: true | null;
  policyAssignmentId: string;
  policyDefinitionId: string;
  /** The definition's reference ID when the assignment is an initiative's. */
  policyDefinitionReferenceId: string | null;
  /** What it denies, in words. */
  detail: string;
}

export interface Finding {
  subnetId: string;
  subnetName: string;
  virtualNetworkId: string;
  virtualNetworkName: string;
  subscriptionId: string;
  subscriptionName: string | null;
  resourceGroup: string;
  location: string | null;
  routeTableId: string | null;
  routeTableName: string | null;
  status: Status;
  severity: Severity;
  reasons: ReasonCode[];
  /** One line a person can read. */
  summary: string;
  /** CIDRs that the route fix adds with next hop Internet (empty when routes are not the fix). */
  missingRoutes: string[];
  /** True when the subnet may learn routes (VNet gateway, Route Server, Virtual WAN hub). */
  gatewayRoutesPossible: boolean;
  /** Endpoint sets judged for this subnet (kms always; rhui where RHEL pay-as-you-go VMs run). */
  endpointSets: string[];
  endpoints: EndpointVerdict[];
  impact: Impact;
  remediation: Remediation | null;
  /**
   * The exemption that made the finding Exempt, with the status it has without it; null when the
   * finding is not Exempt. Added in schema 2 (additive).
   */
  exemption: (Exemption & { statusWithout: "NonCompliant" | "Unverified" }) | null;
  /** Exemptions that cover the subnet but are not honoured (expired, invalid). Additive. */
  unhonouredExemptions: Exemption[];
  /** Deny policies that would reject a fix in `remediation`. Additive. */
  policyConflicts: PolicyConflict[];
}

export type StatusCounts = Record<Status, number> & { total: number };

export interface RunError {
  /** Stable code, e.g. INPUT_TRUNCATED, SCOPE_NOT_READABLE, RESOURCE_MALFORMED. */
  code: string;
  message: string;
  /** What could not be read: a file, a subscription, a management group, a page, a resource. */
  target?: string;
}

export interface RunSummary {
  id: string;
  startedAt: string;
  finishedAt: string;
  cloud: CloudName;
  source: { kind: "file" | "demo" | "resource-graph"; inputs: string[] };
  scope: { subscriptions: string[]; managementGroups: string[] };
  /** False when some part of the estate or a fact a verdict depends on could not be read. */
  complete: boolean;
  errors: RunError[];
  /**
   * What the run read but could not use: malformed resources (the subnets that depend on them are
   * Unverified), malformed appliance declarations. The run stays complete.
   */
  warnings: RunError[];
  counts: StatusCounts;
  endpoints: { set: string; host: string; ip: string; port: number }[];
}

export interface ScanResult {
  schemaVersion: typeof SCHEMA_VERSION;
  run: RunSummary;
  findings: Finding[];
}

/**
 * The endpoint whose path decided a finding's status: the first that is not reachable, else the
 * first unknown one, else the first. Table, CSV, SARIF and Log Analytics show its path in words.
 */
export function decidingEndpoint(finding: Finding): EndpointVerdict | undefined {
  const e = finding.endpoints;
  return e.find((x) => x.reachable === false) ?? e.find((x) => x.reachable === null) ?? e[0];
}

/** A path in words, hop by hop: "0.0.0.0/0 -> VirtualAppliance 10.0.1.4 (...) -> azfw-hub ...". */
export function pathInWords(hops: readonly Hop[]): string {
  return hops.map((h) => h.detail).join(" -> ");
}

/** The deciding endpoint's path in words; null when the finding judged no endpoint. */
export function decidingPathOf(finding: Finding): string | null {
  const endpoint = decidingEndpoint(finding);
  return endpoint ? pathInWords(endpoint.path) : null;
}

export function countByStatus(findings: readonly Finding[]): StatusCounts {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as StatusCounts;
  counts.total = findings.length;
  for (const f of findings) counts[f.status]++;
  return counts;
}
