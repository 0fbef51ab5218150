import { AUDITED_TYPES } from "../../inventory/arm-row.js";

/**
 * Resource Graph queries of the live source. They are constants: scope (subscriptions, management
 * groups) travels in the request body, never in query text, so no user text reaches KQL.
 */

/** Audited types that live in the `resources` table (subscriptions live in `resourcecontainers`). */
export const RESOURCE_TABLE_TYPES: readonly string[] = [
  AUDITED_TYPES.routeTable,
  AUDITED_TYPES.virtualNetwork,
  AUDITED_TYPES.gateway,
  AUDITED_TYPES.networkInterface,
  AUDITED_TYPES.virtualMachine,
  AUDITED_TYPES.scaleSet,
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
