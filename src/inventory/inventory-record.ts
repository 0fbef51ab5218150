import { AUDITED_TYPES, type ArmRow } from "./arm-row.js";
import { text, Problems } from "./fields.js";
import {
  scaleSetOf,
  virtualMachineOf,
  type ScaleSetParts,
  type VmParts,
} from "./records/compute.js";
import { effectiveRoutesOf, learnedRoutesOf } from "./records/facts.js";
import {
  impactTotalsOf,
  virtualNetworkImpactOf,
  type ImpactTotalsParts,
  type VirtualNetworkImpactParts,
} from "./records/impact.js";
import {
  azureFirewallOf,
  firewallPolicyOf,
  ipGroupOf,
  ruleCollectionGroupOf,
} from "./records/firewall.js";
import {
  bgpConnectionOf,
  hubConnectionOf,
  hubIpConfigurationOf,
  routingIntentOf,
  virtualHubOf,
} from "./records/hubs.js";
import {
  gatewayConnectionOf,
  gatewayOf,
  loadBalancerOf,
  localNetworkGatewayOf,
  natGatewayOf,
  networkSecurityGroupOf,
  nicOf,
  peeringOf,
  publicIpOf,
  routeTableOf,
  subnetOf,
  toRoute,
  virtualNetworkOf,
  type NicParts,
  type SubnetRecord,
  type VirtualNetworkParts,
} from "./records/network.js";
import {
  managementGroupsOf,
  policyAssignmentOf,
  policyDefinitionOf,
  policyExemptionOf,
  policySetDefinitionOf,
} from "./records/policy.js";
import { keyOf, nameOf, parentOfChild, parseResourceId } from "./resource-id.js";
import type {
  PolicyAssignment,
  PolicyDefinition,
  PolicyExemption,
  PolicySetDefinition,
} from "../policy/types.js";
import type {
  AzureFirewall,
  BgpConnection,
  EffectiveRoutesRead,
  FirewallPolicy,
  Gateway,
  GatewayConnection,
  HubConnection,
  IpGroup,
  LearnedRoutesRead,
  LoadBalancer,
  NatGateway,
  NetworkSecurityGroup,
  Peering,
  Problem,
  Route,
  RouteTable,
  RoutingIntent,
  RuleCollectionGroup,
  Subnet,
  VirtualHub,
} from "./types.js";

export type { SubnetRecord } from "./records/network.js";
export { subnetOf } from "./records/network.js";

/**
 * What the inventory keeps of one ARM row: a pure function of the row (the InventoryBuilder indexes
 * records, in row order, against each other). `key` is the row's lower-cased ID; IDs used only to
 * join rows are lower-cased here too.
 */
export type InventoryRecord =
  | { t: "other"; key: string }
  | {
      t: "subscription";
      key: string;
      subscriptionKey: string;
      displayName: string | null;
      /** Management groups above it, nearest first; null when the row does not say. */
      managementGroups: string[] | null;
    }
  | { t: "routeTable"; key: string; table: RouteTable; subnets: { key: string; id: string }[] }
  | { t: "route"; key: string; tableKey: string; route: Route; problems: Problem[] }
  | ({ t: "virtualNetwork"; key: string } & VirtualNetworkParts)
  | { t: "peering"; key: string; vnetKey: string; peering: Peering }
  | { t: "subnet"; key: string; subnet: Subnet }
  | { t: "gateway"; key: string; gateway: Gateway }
  | { t: "connection"; key: string; connection: GatewayConnection }
  | { t: "localNetworkGateway"; key: string; prefixes: string[] }
  | { t: "firewall"; key: string; firewall: AzureFirewall }
  | { t: "firewallPolicy"; key: string; policy: FirewallPolicy }
  | { t: "ruleCollectionGroup"; key: string; group: RuleCollectionGroup }
  | { t: "ipGroup"; key: string; group: IpGroup }
  | { t: "virtualHub"; key: string; hub: VirtualHub; connections: HubConnection[] }
  | { t: "hubConnection"; key: string; connection: HubConnection }
  | { t: "routingIntent"; key: string; intent: RoutingIntent }
  | { t: "bgpConnection"; key: string; connection: BgpConnection }
  | { t: "hubIpConfiguration"; key: string; hubKey: string; vnetKey: string }
  | { t: "natGateway"; key: string; natGateway: NatGateway }
  | { t: "publicIp"; key: string; address: string | null }
  | { t: "loadBalancer"; key: string; loadBalancer: LoadBalancer }
  | { t: "networkSecurityGroup"; key: string; nsg: NetworkSecurityGroup }
  | NicParts
  | VmParts
  | ({ t: "scaleSet"; key: string } & ScaleSetParts)
  | VirtualNetworkImpactParts
  | ImpactTotalsParts
  | { t: "learnedRoutes"; key: string; ownerKey: string; read: LearnedRoutesRead }
  | { t: "effectiveRoutes"; key: string; nicKey: string; nicId: string; read: EffectiveRoutesRead }
  | { t: "policyAssignment"; key: string; assignment: PolicyAssignment | null; problems: Problem[] }
  | { t: "policyDefinition"; key: string; definition: PolicyDefinition }
  | { t: "policySetDefinition"; key: string; set: PolicySetDefinition }
  | { t: "policyExemption"; key: string; exemption: PolicyExemption | null; problems: Problem[] };

// Large estates spell a handful of types: lower-case each spelling once.
const lowerTypes = new Map<string, string>();
function typeKeyOf(type: string): string {
  let lower = lowerTypes.get(type);
  if (lower === undefined) {
    lower = type.toLowerCase();
    if (lowerTypes.size < 1024) lowerTypes.set(type, lower);
  }
  return lower;
}

/** The record of one row (checked to have a string id and type). */
export function toRecord(row: ArmRow): InventoryRecord {
  const key = keyOf(row.id);
  const type = typeKeyOf(row.type);
  switch (type) {
    case AUDITED_TYPES.subscription: {
      const sub = text(row.subscriptionId) ?? parseResourceId(row.id).subscriptionId;
      const displayName = text(row.displayName) ?? text(row.name);
      const managementGroups = managementGroupsOf(row);
      return sub && (displayName || managementGroups)
        ? {
            t: "subscription",
            key,
            subscriptionKey: sub.toLowerCase(),
            displayName,
            managementGroups,
          }
        : { t: "other", key };
    }
    case AUDITED_TYPES.routeTable:
      return { t: "routeTable", key, ...routeTableOf(row) };
    case AUDITED_TYPES.route: {
      const tableId = parentOfChild(row.id, "routes");
      if (!tableId) return { t: "other", key };
      const problems = new Problems(row.id);
      const route = toRoute({ ...row, name: text(row.name) ?? nameOf(row.id) }, problems, "");
      return { t: "route", key, tableKey: keyOf(tableId), route, problems: problems.all };
    }
    case AUDITED_TYPES.virtualNetwork:
      return { t: "virtualNetwork", key, ...virtualNetworkOf(row) };
    case AUDITED_TYPES.peering: {
      const vnetId = parentOfChild(row.id, "virtualNetworkPeerings");
      if (!vnetId) return { t: "other", key };
      return { t: "peering", key, vnetKey: keyOf(vnetId), peering: peeringOf(row) };
    }
    case AUDITED_TYPES.subnet: {
      const name = text(row.name) ?? nameOf(row.id);
      const props = typeof row.properties === "object" && row.properties ? row.properties : {};
      const problems = new Problems(row.id);
      const subnet = subnetOf(row.id, name, props as never, null, problems, "properties");
      return { t: "subnet", key, subnet };
    }
    case AUDITED_TYPES.gateway:
      return { t: "gateway", key, gateway: gatewayOf(row) };
    case AUDITED_TYPES.connection: {
      const connection = gatewayConnectionOf(row);
      return connection ? { t: "connection", key, connection } : { t: "other", key };
    }
    case AUDITED_TYPES.localNetworkGateway:
      return { t: "localNetworkGateway", key, prefixes: localNetworkGatewayOf(row) };
    case AUDITED_TYPES.firewall:
      return { t: "firewall", key, firewall: azureFirewallOf(row) };
    case AUDITED_TYPES.firewallPolicy:
      return { t: "firewallPolicy", key, policy: firewallPolicyOf(row) };
    case AUDITED_TYPES.ruleCollectionGroup: {
      const group = ruleCollectionGroupOf(row);
      return group ? { t: "ruleCollectionGroup", key, group } : { t: "other", key };
    }
    case AUDITED_TYPES.ipGroup:
      return { t: "ipGroup", key, group: ipGroupOf(row) };
    case AUDITED_TYPES.virtualHub:
      return { t: "virtualHub", key, ...virtualHubOf(row) };
    case AUDITED_TYPES.hubConnection: {
      const connection = hubConnectionOf(row);
      return connection ? { t: "hubConnection", key, connection } : { t: "other", key };
    }
    case AUDITED_TYPES.routingIntent: {
      const intent = routingIntentOf(row);
      return intent ? { t: "routingIntent", key, intent } : { t: "other", key };
    }
    case AUDITED_TYPES.bgpConnection: {
      const connection = bgpConnectionOf(row);
      return connection ? { t: "bgpConnection", key, connection } : { t: "other", key };
    }
    case AUDITED_TYPES.hubIpConfiguration: {
      const config = hubIpConfigurationOf(row);
      return config ? { t: "hubIpConfiguration", key, ...config } : { t: "other", key };
    }
    case AUDITED_TYPES.natGateway:
      return { t: "natGateway", key, natGateway: natGatewayOf(row) };
    case AUDITED_TYPES.publicIp:
      return { t: "publicIp", key, address: publicIpOf(row).address };
    case AUDITED_TYPES.loadBalancer:
      return { t: "loadBalancer", key, loadBalancer: loadBalancerOf(row) };
    case AUDITED_TYPES.networkSecurityGroup:
      return { t: "networkSecurityGroup", key, nsg: networkSecurityGroupOf(row) };
    case AUDITED_TYPES.networkInterface:
      return nicOf(row, key);
    case AUDITED_TYPES.virtualMachine:
      return virtualMachineOf(row, key);
    case AUDITED_TYPES.scaleSet:
      return { t: "scaleSet", key, ...scaleSetOf(row) };
    case AUDITED_TYPES.virtualNetworkImpact:
      return virtualNetworkImpactOf(row, key);
    case AUDITED_TYPES.impactTotals:
      return impactTotalsOf(row, key);
    case AUDITED_TYPES.nicEffectiveRoutes: {
      const fact = effectiveRoutesOf(row);
      return fact ? { t: "effectiveRoutes", key, ...fact } : { t: "other", key };
    }
    case AUDITED_TYPES.gatewayLearnedRoutes:
    case AUDITED_TYPES.bgpLearnedRoutes:
    case AUDITED_TYPES.connectionEffectiveRoutes: {
      const fact = learnedRoutesOf(row, type);
      return fact ? { t: "learnedRoutes", key, ...fact } : { t: "other", key };
    }
    case AUDITED_TYPES.policyAssignment:
      return { t: "policyAssignment", key, ...policyAssignmentOf(row) };
    case AUDITED_TYPES.policyDefinition:
      return { t: "policyDefinition", key, definition: policyDefinitionOf(row) };
    case AUDITED_TYPES.policySetDefinition:
      return { t: "policySetDefinition", key, set: policySetDefinitionOf(row) };
    case AUDITED_TYPES.policyExemption:
      return { t: "policyExemption", key, ...policyExemptionOf(row) };
    default:
      return { t: "other", key };
  }
}

/**
 * What a record says that the audit uses, as text: two rows with one ID whose fingerprints differ
 * disagree, and the resource is unknown (never first-wins). Only computed for duplicates.
 */
export function fingerprintOf(record: InventoryRecord): string {
  return JSON.stringify(record, (name, value: unknown) => {
    if (name === "key") return undefined;
    // IDs, and the names and resource groups read from them, may be spelled in another case in
    // another export; ARM names are case-insensitive: what matters is what they name.
    if (value instanceof Map) return [...value.entries()];
    if (typeof value === "string" && (name === "id" || name.endsWith("Id"))) return keyOf(value);
    if (typeof value === "string" && CASE_INSENSITIVE_FIELDS.has(name)) return value.toLowerCase();
    return value;
  });
}

const CASE_INSENSITIVE_FIELDS: ReadonlySet<string> = new Set(["name", "resourceGroup"]);

export type { SubnetRecord as SubnetEntry };
export { keyOf };
