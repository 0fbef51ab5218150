import { AUDITED_TYPES } from "../../inventory/arm-row.js";

/**
 * Resource Graph queries of the live source. They are constants: scope (subscriptions, management
 * groups) travels in the request body, never in query text, so no user text reaches KQL.
 */

/**
 * Audited types that live in the `resources` table (Microsoft's "Azure Resource Graph table and
 * resource type reference"): subscriptions live in `resourcecontainers`, firewall policy rule
 * collection groups in `networkresources`. Hub virtual network connections and routing intent are
 * in no table: the facts stage reads them through ARM, and estate files carry them as exported by
 * `az network vhub connection list` / `az network vhub routing-intent list` (README).
 */
export const RESOURCE_TABLE_TYPES: readonly string[] = [
  AUDITED_TYPES.routeTable,
  AUDITED_TYPES.virtualNetwork,
  AUDITED_TYPES.gateway,
  AUDITED_TYPES.connection,
  AUDITED_TYPES.localNetworkGateway,
  AUDITED_TYPES.networkInterface,
  AUDITED_TYPES.virtualMachine,
  AUDITED_TYPES.scaleSet,
  AUDITED_TYPES.firewall,
  AUDITED_TYPES.firewallPolicy,
  AUDITED_TYPES.ipGroup,
  AUDITED_TYPES.virtualHub,
  AUDITED_TYPES.bgpConnection,
  AUDITED_TYPES.hubIpConfiguration,
  AUDITED_TYPES.natGateway,
  AUDITED_TYPES.publicIp,
  AUDITED_TYPES.loadBalancer,
  AUDITED_TYPES.networkSecurityGroup,
];

// Routes, subnets and peerings are child resources that Resource Graph reports inside their parents
// (route table properties.routes, VNet properties.subnets and properties.virtualNetworkPeerings),
// so the parent rows carry them. Only the ARM columns the inventory reads are projected (tags carry
// exemptions); identity, zones, plan, managedBy and the other columns stay on the server.
const typeList = RESOURCE_TABLE_TYPES.map((t) => `'${t}'`).join(", ");

export const RESOURCES_QUERY = [
  "resources",
  `| where type in~ (${typeList})`,
  "| project id, name, type, location, subscriptionId, resourceGroup, tags, sku, properties",
  "| order by id asc",
].join("\n");

/** Subscription rows: `name` is the display name. */
export const SUBSCRIPTIONS_QUERY = [
  "resourcecontainers",
  `| where type =~ '${AUDITED_TYPES.subscription}'`,
  "| project id, name, type, subscriptionId, properties",
  "| order by id asc",
].join("\n");

/** Firewall policy rule collection groups: in `networkresources`, not `resources`. */
export const RULE_COLLECTION_GROUPS_QUERY = [
  "networkresources",
  `| where type =~ '${AUDITED_TYPES.ruleCollectionGroup}'`,
  "| project id, name, type, subscriptionId, resourceGroup, properties",
  "| order by id asc",
].join("\n");

/**
 * Policy assignments, definitions, initiatives and exemptions: in `policyresources` (Microsoft's
 * "Azure Resource Graph table and resource type reference"). Sent with authorizationScopeFilter
 * AtScopeAboveAndBelow, so assignments and exemptions at the management groups above the audited
 * subscriptions come too. Built-in definitions are read with the rest: a built-in such as "Not
 * allowed resource types" may deny a fix.
 */
export const POLICY_TYPES: readonly string[] = [
  AUDITED_TYPES.policyAssignment,
  AUDITED_TYPES.policyDefinition,
  AUDITED_TYPES.policySetDefinition,
  AUDITED_TYPES.policyExemption,
];

export const POLICY_QUERY = [
  "policyresources",
  `| where type in~ (${POLICY_TYPES.map((t) => `'${t}'`).join(", ")})`,
  "| project id, name, type, subscriptionId, resourceGroup, properties",
  "| order by id asc",
].join("\n");
