import type { Endpoint } from "../catalog/endpoints.js";
import type { ServiceTagIndex } from "../catalog/service-tags.js";
import type { Inventory, RouteTable, Subnet } from "../inventory/inventory.js";
import { keyOf, nameOf } from "../inventory/resource-id.js";
import type { EndpointVerdict, Finding, Impact, Remediation } from "../model.js";
import { gatewayRoutesPossible } from "./gateway-exposure.js";
import { isPlatformSubnet } from "./not-applicable.js";
import { ipv4ToNumber } from "./prefix.js";
import { buildRemediation } from "./remediation.js";
import {
  compileRouteTable,
  decideEndpoint,
  isTunneledByAnyRoute,
  unknownDecision,
  type CompiledRouteTable,
} from "./route-decision.js";
import { judge, type EndpointOutcome, type Verdict } from "./verdict.js";

export interface AuditOptions {
  endpoints: Endpoint[];
  /** Azure's published service-tag file, when the user supplied it. */
  serviceTags?: ServiceTagIndex;
}

/**
 * Judges every subnet of the inventory. Pure: no I/O, no clock. Findings come sorted by subnet ID
 * (case-insensitively) so output is reproducible.
 */
export function auditInventory(inventory: Inventory, options: AuditOptions): Finding[] {
  const ips = options.endpoints.map((e) => ipv4ToNumber(e.ip));
  // Many subnets share one route table: decide each (table, gateway exposure) pair once.
  const compiled = new Map<string, CompiledRouteTable>();
  const outcomesCache = new Map<string, EndpointOutcome[]>();

  const outcomesFor = (
    cacheKey: string,
    table: RouteTable | null,
    tableMissing: boolean,
    bgp: boolean,
  ): EndpointOutcome[] => {
    let outcomes = outcomesCache.get(cacheKey);
    if (outcomes) return outcomes;
    let prepared: CompiledRouteTable | null = null;
    if (table) {
      const tableKey = keyOf(table.id);
      prepared = compiled.get(tableKey) ?? compileRouteTable(table, options.serviceTags);
      compiled.set(tableKey, prepared);
    }
    outcomes = options.endpoints.map((endpoint, i) => ({
      endpoint,
      decision: tableMissing
        ? unknownDecision("ROUTE_TABLE_NOT_FOUND")
        : decideEndpoint(prepared, ips[i]!, bgp),
      tunneledByAnyRoute: isTunneledByAnyRoute(prepared, ips[i]!),
    }));
    outcomesCache.set(cacheKey, outcomes);
    return outcomes;
  };

  // Subnets in the same situation (outcomes, platform subnet, exemption, invalid routes) share one
  // verdict and one endpoints array; those of one route table share its fix scripts. Findings are
  // never mutated, so sharing is safe and keeps large estates small.
  const shapes = new Map<string, { verdict: Verdict; endpoints: EndpointVerdict[] }>();
  const remediations = new Map<string, Remediation | null>();

  const findings: Finding[] = [];
  const subnets = [...inventory.subnets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [subnetKey, subnet] of subnets) {
    const table = subnet.routeTableId
      ? (inventory.routeTables.get(keyOf(subnet.routeTableId)) ?? null)
      : null;
    const tableMissing = subnet.routeTableId !== null && table === null;
    const bgp = gatewayRoutesPossible(inventory, subnet, table);
    const tableKey = table ? keyOf(table.id) : null;
    const outcomesKey = `${tableKey ?? (tableMissing ? "missing" : "none")}|${bgp}`;
    const outcomes = outcomesFor(outcomesKey, table, tableMissing, bgp);
    const prepared = tableKey ? compiled.get(tableKey) : undefined;
    const notApplicable = isPlatformSubnet(subnet.name);
    const hasInvalidRoutes = (prepared?.invalidRoutes.length ?? 0) > 0;
    const exemption =
      table?.exemption ??
      inventory.virtualNetworks.get(keyOf(subnet.virtualNetworkId))?.exemption ??
      null;
    // The platform-subnet summary names the subnet, so those shapes are per name.
    const shapeKey = `${outcomesKey}\u0000${notApplicable ? subnet.name : ""}\u0000${exemption ?? ""}\u0000${hasInvalidRoutes}`;
    let shape = shapes.get(shapeKey);
    if (!shape) {
      shape = {
        verdict: judge({
          subnetName: subnet.name,
          notApplicable,
          outcomes,
          hasInvalidRoutes,
          exemption,
        }),
        endpoints: outcomes.map(toEndpointVerdict),
      };
      shapes.set(shapeKey, shape);
    }
    const { verdict } = shape;
    let remediation: Remediation | null = null;
    if (!notApplicable) {
      // With a route table the scripts depend only on it and the outcomes; without one they
      // create a table named after the subnet.
      const remediationKey = subnet.routeTableId
        ? `${keyOf(subnet.routeTableId)}|${outcomesKey}`
        : null;
      const cached = remediationKey === null ? undefined : remediations.get(remediationKey);
      remediation = cached !== undefined ? cached : remediationFor(subnet, table, outcomes);
      if (remediationKey !== null && cached === undefined)
        remediations.set(remediationKey, remediation);
    }
    findings.push({
      subnetId: subnet.id,
      subnetName: subnet.name,
      virtualNetworkId: subnet.virtualNetworkId,
      virtualNetworkName: subnet.virtualNetworkName,
      subscriptionId: subnet.subscriptionId,
      subscriptionName:
        inventory.subscriptionNames.get(subnet.subscriptionId.toLowerCase()) ?? null,
      resourceGroup: subnet.resourceGroup,
      location: subnet.location,
      routeTableId: table?.id ?? subnet.routeTableId,
      routeTableName: table?.name ?? (subnet.routeTableId ? nameOf(subnet.routeTableId) : null),
      status: verdict.status,
      severity: verdict.severity,
      reasons: verdict.reasons,
      summary: verdict.summary,
      missingRoutes: verdict.missingRoutes,
      gatewayRoutesPossible: bgp,
      endpoints: shape.endpoints,
      impact: impactOf(inventory, subnetKey),
      remediation,
    });
  }
  return findings;
}

function toEndpointVerdict({ endpoint, decision }: EndpointOutcome): EndpointVerdict {
  return {
    set: endpoint.set,
    host: endpoint.host,
    ip: endpoint.ip,
    port: endpoint.port,
    bypassed: decision.bypassed,
    nextHopType: decision.nextHopType,
    addressPrefix: decision.addressPrefix,
    routeName: decision.routeName,
    decidedBy: decision.decidedBy,
  };
}

function impactOf(inventory: Inventory, subnetKey: string): Impact {
  return {
    networkInterfaces: inventory.nicCountBySubnet
      ? (inventory.nicCountBySubnet.get(subnetKey) ?? 0)
      : null,
    windowsVirtualMachines: inventory.windowsVmCountBySubnet
      ? (inventory.windowsVmCountBySubnet.get(subnetKey) ?? 0)
      : null,
    windowsScaleSetInstances: inventory.windowsScaleSetInstancesBySubnet
      ? (inventory.windowsScaleSetInstancesBySubnet.get(subnetKey) ?? 0)
      : null,
  };
}

/** Fix scripts for the endpoints of `outcomes` that are not bypassed. */
export function remediationFor(
  subnet: Subnet,
  table: RouteTable | null,
  outcomes: EndpointOutcome[],
) {
  const seen = new Set<string>();
  const missing = outcomes
    .filter(
      (o) => o.decision.bypassed !== true && !seen.has(o.endpoint.ip) && seen.add(o.endpoint.ip),
    )
    .map((o) => ({ set: o.endpoint.set, ip: o.endpoint.ip }));
  return buildRemediation({
    subnetName: subnet.name,
    virtualNetworkName: subnet.virtualNetworkName,
    subscriptionId: subnet.subscriptionId,
    resourceGroup: subnet.resourceGroup,
    location: subnet.location,
    routeTableId: table?.id ?? subnet.routeTableId,
    existingRoutes: table?.routes ?? null,
    missing,
  });
}
