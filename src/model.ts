import type { ReasonCode } from "./audit/reasons.js";

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

/** How one endpoint IP fares on one subnet. */
export interface EndpointVerdict {
  /** Endpoint set the IP belongs to, e.g. "kms". */
  set: string;
  host: string;
  ip: string;
  port: number;
  /** true: reaches the Internet; false: sent elsewhere; null: cannot be decided from the data. */
  bypassed: boolean | null;
  /** Next hop of the deciding route ("Internet" for the system default route), null when unknown. */
  nextHopType: string | null;
  /** Prefix of the deciding route: a CIDR, a service tag, or "0.0.0.0/0" for the system route. */
  addressPrefix: string | null;
  /** Name of the deciding route-table route; null for the system route or when unknown. */
  routeName: string | null;
  /**
   * Where the decision came from. GatewayRoute (a route a gateway learned) and EffectiveRoute (a
   * NIC's effective route table) only appear when the scan confirmed routes against ARM.
   */
  decidedBy:
    | "UserDefinedRoute"
    | "ServiceTagRoute"
    | "SystemRoute"
    | "GatewayRoute"
    | "EffectiveRoute"
    | "Unknown";
  /** What confirmation against ARM saw for this IP; absent when the scan did not confirm it. */
  evidence?: RouteEvidence;
}

/** A gateway-learned or effective route that decided an endpoint, or the proof that none did. */
export type RouteEvidence =
  | {
      kind: "GatewayLearnedRoute";
      gatewayId: string;
      /** The learned prefix (GatewayRoute.network). */
      addressPrefix: string;
      /** EBgp, IBgp, Network, ... */
      origin: string | null;
      sourcePeer: string | null;
      nextHop: string | null;
      asPath: string | null;
      weight: number | null;
    }
  | {
      kind: "NoGatewayRoute";
      /** Gateways whose learned routes were read and hold no route covering the IP. */
      gatewayIds: string[];
    }
  | {
      kind: "EffectiveRoute";
      networkInterfaceId: string;
      /** User, VirtualNetworkGateway, Default, ... */
      source: string | null;
      addressPrefix: string;
      nextHopType: string | null;
      nextHopIpAddress: string[];
    };

export interface Impact {
  /** NICs with an IP configuration in the subnet; null when the inventory has no NIC rows. */
  networkInterfaces: number | null;
  /** Windows VMs with a NIC in the subnet; null when the inventory has no VM rows. */
  windowsVirtualMachines: number | null;
  /** Instances of Windows uniform scale sets in the subnet; null when the inventory has none. */
  windowsScaleSetInstances: number | null;
}

export interface Remediation {
  azureCli: string;
  powershell: string;
  bicep: string;
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
  /** CIDRs that need a route with next hop Internet. */
  missingRoutes: string[];
  /** True when the subnet may learn gateway (BGP) routes. */
  gatewayRoutesPossible: boolean;
  endpoints: EndpointVerdict[];
  impact: Impact;
  remediation: Remediation | null;
}

export type StatusCounts = Record<Status, number> & { total: number };

export interface RunError {
  /** Stable code, e.g. INPUT_TRUNCATED, SCOPE_NOT_READABLE. */
  code: string;
  message: string;
  /** What could not be read: a file, a subscription, a management group, a page. */
  target?: string;
}

export interface RunSummary {
  id: string;
  startedAt: string;
  finishedAt: string;
  cloud: CloudName;
  source: { kind: "file" | "demo" | "resource-graph"; inputs: string[] };
  scope: { subscriptions: string[]; managementGroups: string[] };
  complete: boolean;
  errors: RunError[];
  counts: StatusCounts;
  endpoints: { set: string; host: string; ip: string; port: number }[];
}

export interface ScanResult {
  schemaVersion: 1;
  run: RunSummary;
  findings: Finding[];
}
