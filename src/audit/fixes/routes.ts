import type { Fix } from "../../model.js";
import type { Route } from "../../inventory/types.js";
import { nameOf, parseResourceId } from "../../inventory/resource-id.js";
import type { ReasonCode } from "../../reasons.js";
import { bicepString, comment, ps, resourceName, sh } from "./quote.js";

/** What the /32 route fix needs to know of the subnet and its table. */
export interface RouteFixTarget {
  subnetName: string;
  virtualNetworkName: string;
  subscriptionId: string;
  /** Resource group of the VNet (where a new route table goes). */
  resourceGroup: string;
  location: string | null;
  /** The subnet's route table ID, or null when the subnet has none. */
  routeTableId: string | null;
  /** Routes of that table, when it was read; used to reuse names and update conflicting routes. */
  existingRoutes: Route[] | null;
  /** Endpoints that need a route with next hop Internet. */
  missing: { set: string; ip: string }[];
}

interface PlannedRoute {
  name: string;
  prefix: string;
  /** true: a route with this exact prefix exists and gets its next hop changed. */
  update: boolean;
}

export const ROUTE_API_VERSION = "2024-05-01";

/**
 * A route with exactly this /32 prefix, if the table has one. A /32 has no host bits and a valid
 * prefix has one spelling (four decimal parts, no leading zeros), so the text decides.
 */
export function hostRouteFor(routes: Route[], ip: string): Route | undefined {
  const prefix = `${ip}/32`;
  return routes.find(
    (r) => typeof r.addressPrefix === "string" && r.addressPrefix.trim() === prefix,
  );
}

/** The predictable name (kms-20-118-99-224), suffixed -2, -3 while `taken` (lower case) has it. */
export function freeRouteName(taken: ReadonlySet<string>, set: string, ip: string): string {
  const base = `${set}-${ip.replace(/\./g, "-")}`;
  let name = base;
  for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${base}-${i}`;
  return name;
}

/** Routes to add, or to update where a /32 for the IP exists with another next hop. */
function planRoutes(target: RouteFixTarget): PlannedRoute[] {
  const existing = target.existingRoutes ?? [];
  const taken = new Set(existing.map((r) => r.name.toLowerCase()));
  return target.missing.map(({ set, ip }) => {
    const prefix = `${ip}/32`;
    const same = hostRouteFor(existing, ip);
    if (same) return { name: same.name, prefix, update: true };
    const name = freeRouteName(taken, set, ip);
    taken.add(name.toLowerCase());
    return { name, prefix, update: false };
  });
}

interface Context {
  creating: boolean;
  tableName: string;
  tableGroup: string;
  subscription: string;
  location: string;
  target: RouteFixTarget;
}

/** /32 routes with next hop Internet on the subnet's route table (created when it has none). */
export function routeFix(target: RouteFixTarget, causes: ReasonCode[]): Fix {
  const routes = planRoutes(target);
  const creating = target.routeTableId === null;
  const tableName = creating
    ? resourceName("rt", target.virtualNetworkName, target.subnetName, "kms")
    : nameOf(target.routeTableId!);
  const scope = creating ? null : parseResourceId(target.routeTableId!);
  const c: Context = {
    creating,
    tableName,
    tableGroup: scope?.resourceGroup ?? target.resourceGroup,
    subscription: scope?.subscriptionId ?? target.subscriptionId,
    location: target.location ?? "<vnet-location>",
    target,
  };
  return {
    kind: "routes",
    causes,
    summary: `Add ${routes.length} route${routes.length === 1 ? "" : "s"} with next hop Internet (${routes.map((r) => r.prefix).join(", ")}) to ${creating ? `a new route table ${tableName}` : `route table ${tableName}`}.`,
    azureCli: azureCli(routes, c),
    powershell: powershell(routes, c),
    bicep: bicep(routes, c),
  };
}

function azureCli(routes: PlannedRoute[], c: Context): string {
  const lines = [`az account set --subscription ${sh(c.subscription)}`];
  if (c.creating) {
    lines.push(
      `az network route-table create --resource-group ${sh(c.tableGroup)} --name ${sh(c.tableName)} --location ${sh(c.location)}`,
    );
  }
  for (const r of routes) {
    const verb = r.update ? "update" : "create";
    lines.push(
      `az network route-table route ${verb} --resource-group ${sh(c.tableGroup)} --route-table-name ${sh(c.tableName)} --name ${sh(r.name)} --address-prefix ${r.prefix} --next-hop-type Internet`,
    );
  }
  if (c.creating) {
    lines.push(
      `az network vnet subnet update --resource-group ${sh(c.target.resourceGroup)} --vnet-name ${sh(c.target.virtualNetworkName)} --name ${sh(c.target.subnetName)} --route-table ${sh(c.tableName)}`,
    );
  }
  return lines.join("\n");
}

function powershell(routes: PlannedRoute[], c: Context): string {
  const lines = [`Set-AzContext -Subscription ${ps(c.subscription)} | Out-Null`];
  lines.push(
    c.creating
      ? `$rt = New-AzRouteTable -ResourceGroupName ${ps(c.tableGroup)} -Name ${ps(c.tableName)} -Location ${ps(c.location)}`
      : `$rt = Get-AzRouteTable -ResourceGroupName ${ps(c.tableGroup)} -Name ${ps(c.tableName)}`,
  );
  for (const r of routes) {
    const cmdlet = r.update ? "Set-AzRouteConfig" : "Add-AzRouteConfig";
    lines.push(
      `${cmdlet} -RouteTable $rt -Name ${ps(r.name)} -AddressPrefix '${r.prefix}' -NextHopType Internet | Out-Null`,
    );
  }
  lines.push("$rt | Set-AzRouteTable | Out-Null");
  if (c.creating) {
    lines.push(
      `$vnet = Get-AzVirtualNetwork -ResourceGroupName ${ps(c.target.resourceGroup)} -Name ${ps(c.target.virtualNetworkName)}`,
      `($vnet.Subnets | Where-Object Name -eq ${ps(c.target.subnetName)}).RouteTable = $rt`,
      "$vnet | Set-AzVirtualNetwork | Out-Null",
    );
  }
  return lines.join("\n");
}

function bicep(routes: PlannedRoute[], c: Context): string {
  const lines = [
    `// Deploy to resource group ${comment(c.tableGroup)} in subscription ${comment(c.subscription)}.`,
    c.creating
      ? `resource routeTable 'Microsoft.Network/routeTables@${ROUTE_API_VERSION}' = {\n  name: ${bicepString(c.tableName)}\n  location: ${bicepString(c.location)}\n}`
      : `resource routeTable 'Microsoft.Network/routeTables@${ROUTE_API_VERSION}' existing = {\n  name: ${bicepString(c.tableName)}\n}`,
  ];
  routes.forEach((r, i) => {
    lines.push(
      `resource kmsRoute${i + 1} 'Microsoft.Network/routeTables/routes@${ROUTE_API_VERSION}' = {\n  parent: routeTable\n  name: ${bicepString(r.name)}\n  properties: {\n    addressPrefix: '${r.prefix}'\n    nextHopType: 'Internet'\n  }\n}`,
    );
  });
  if (c.creating) {
    lines.push(
      `// Then associate the table with subnet ${comment(c.target.subnetName)} of ${comment(c.target.virtualNetworkName)} in the template that owns the VNet:\n//   routeTable: { id: routeTable.id }`,
    );
  }
  return lines.join("\n");
}
