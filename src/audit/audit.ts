import type { Endpoint } from "../catalog/endpoints.js";
import type { ServiceTagIndex } from "../catalog/service-tags.js";
import type { Inventory, RouteTable, Subnet } from "../inventory/inventory.js";
import { keyOf, nameOf } from "../inventory/resource-id.js";
import type { EndpointVerdict, Finding, Impact, Remediation, RouteEvidence } from "../model.js";
import { virtualNetworkLearnsGatewayRoutes } from "./gateway-exposure.js";
import { isPlatformSubnet } from "./not-applicable.js";
import { ipv4ToNumber, parsePrefix, type ParsedPrefix } from "./prefix.js";
import { buildRemediation } from "./remediation.js";
import {
  compileRouteTable,
  decideEndpoint,
  isTunneledByAnyRoute,
  routeTableUnknownCause,
  unknownDecision,
  type CompiledRouteTable,
  type UnknownCause,
} from "./route-decision.js";
import { judge, unbypassedEndpoints, type EndpointOutcome, type Verdict } from "./verdict.js";

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
  const unknownFor = (cause: UnknownCause): EndpointOutcome[] =>
    options.endpoints.map((endpoint) => ({
      endpoint,
      decision: unknownDecision(cause),
      tunneledByAnyRoute: false,
    }));
  const notFound = unknownFor("ROUTE_TABLE_NOT_FOUND");
  const unreadable = unknownFor("ROUTE_TABLE_UNREADABLE");

  // Large estates have few distinct situations: many subnets share a route table and a VNet. Each
  // (table, gateway exposure) pair is decided once; subnets in the same situation share one verdict
  // and one endpoints array, and those of one route table its fix scripts. Caches are keyed by the
  // objects themselves or by the ID strings as the data spells them, so the hot loop neither
  // lower-cases nor builds keys. Findings are never mutated, so sharing is safe.
  const tables = new Map<string, RouteTable | null>();
  const vnets = new Map<string, { learnsGatewayRoutes: boolean; exemption: string | null }>();
  const outcomesByTable = new Map<RouteTable | null, [EndpointOutcome[]?, EndpointOutcome[]?]>();
  const compiled = new Map<RouteTable, CompiledRouteTable>();
  const shapes = new Map<EndpointOutcome[], Map<string, Shape>>();
  const remediations = new Map<string, Map<EndpointOutcome[], Remediation | null>>();

  const subscriptionNames = new Map<string, string | null>();
  const subscriptionNameOf = (id: string): string | null => {
    let name = subscriptionNames.get(id);
    if (name === undefined) {
      subscriptionNames.set(id, (name = inventory.subscriptionNames.get(id.toLowerCase()) ?? null));
    }
    return name;
  };
  // The same prefixes (0.0.0.0/0, the KMS /32s) recur in thousands of tables: parse each once.
  const prefixes = new Map<unknown, ParsedPrefix>();
  const parseOnce = (text: unknown): ParsedPrefix => {
    let parsed = prefixes.get(text);
    if (!parsed) prefixes.set(text, (parsed = parsePrefix(text)));
    return parsed;
  };
  const tableOf = (id: string): RouteTable | null => {
    let table = tables.get(id);
    if (table === undefined) tables.set(id, (table = inventory.routeTables.get(keyOf(id)) ?? null));
    return table;
  };
  const vnetOf = (id: string) => {
    let vnet = vnets.get(id);
    if (!vnet) {
      const key = keyOf(id);
      vnet = {
        learnsGatewayRoutes: virtualNetworkLearnsGatewayRoutes(inventory, key),
        exemption: inventory.virtualNetworks.get(key)?.exemption ?? null,
      };
      vnets.set(id, vnet);
    }
    return vnet;
  };
  const outcomesFor = (table: RouteTable | null, bgp: boolean): EndpointOutcome[] => {
    let pair = outcomesByTable.get(table);
    if (!pair) outcomesByTable.set(table, (pair = []));
    const cached = pair[bgp ? 1 : 0];
    if (cached) return cached;
    const prepared = table ? compiledOf(table) : null;
    const outcomes = options.endpoints.map((endpoint, i) => ({
      endpoint,
      decision: decideEndpoint(prepared, ips[i]!, bgp),
      tunneledByAnyRoute: isTunneledByAnyRoute(prepared, ips[i]!),
    }));
    pair[bgp ? 1 : 0] = outcomes;
    return outcomes;
  };
  const compiledOf = (table: RouteTable): CompiledRouteTable => {
    let prepared = compiled.get(table);
    if (!prepared) {
      prepared = compileRouteTable(table, options.serviceTags, parseOnce);
      compiled.set(table, prepared);
    }
    return prepared;
  };

  const findings: Finding[] = [];
  const subnets = [...inventory.subnets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [subnetKey, subnet] of subnets) {
    const table = subnet.routeTableId ? tableOf(subnet.routeTableId) : null;
    const tableCause = routeTableUnknownCause(subnet.routeTableId, table);
    const vnet = vnetOf(subnet.virtualNetworkId);
    const bgp = !table?.disableBgpRoutePropagation && vnet.learnsGatewayRoutes;
    const outcomes =
      tableCause === "ROUTE_TABLE_NOT_FOUND"
        ? notFound
        : tableCause === "ROUTE_TABLE_UNREADABLE"
          ? unreadable
          : outcomesFor(table, bgp);
    const notApplicable = isPlatformSubnet(subnet.name);
    const hasInvalidRoutes = table ? compiledOf(table).invalidRoutes.length > 0 : false;
    const exemption = table?.exemption ?? vnet.exemption;
    // The platform-subnet summary names the subnet, so those shapes are per name.
    const shapeKey = `${notApplicable ? subnet.name : ""}\u0000${exemption ?? ""}\u0000${hasInvalidRoutes}`;
    let byKey = shapes.get(outcomes);
    if (!byKey) shapes.set(outcomes, (byKey = new Map<string, Shape>()));
    let shape = byKey.get(shapeKey);
    if (!shape) {
      shape = {
        verdict: judge({
          subnetName: subnet.name,
          notApplicable,
          outcomes,
          hasInvalidRoutes,
          exemption,
        }),
        endpoints: outcomes.map((o) => toEndpointVerdict(o)),
      };
      byKey.set(shapeKey, shape);
    }
    const { verdict } = shape;
    let remediation: Remediation | null = null;
    if (!notApplicable) {
      // With a route table (read or not) the scripts depend only on its ID and the outcomes;
      // without one they create a table named after the subnet.
      if (subnet.routeTableId) {
        let byOutcomes = remediations.get(subnet.routeTableId);
        if (!byOutcomes)
          remediations.set(
            subnet.routeTableId,
            (byOutcomes = new Map<EndpointOutcome[], Remediation | null>()),
          );
        const cached = byOutcomes.get(outcomes);
        remediation = cached !== undefined ? cached : remediationFor(subnet, table, outcomes);
        if (cached === undefined) byOutcomes.set(outcomes, remediation);
      } else {
        remediation = remediationFor(subnet, table, outcomes);
      }
    }
    findings.push({
      subnetId: subnet.id,
      subnetName: subnet.name,
      virtualNetworkId: subnet.virtualNetworkId,
      virtualNetworkName: subnet.virtualNetworkName,
      subscriptionId: subnet.subscriptionId,
      subscriptionName: subscriptionNameOf(subnet.subscriptionId),
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

interface Shape {
  verdict: Verdict;
  endpoints: EndpointVerdict[];
}

/** One endpoint's verdict as findings report it, with the evidence that confirmed it, if any. */
export function toEndpointVerdict(
  { endpoint, decision }: EndpointOutcome,
  evidence?: RouteEvidence,
): EndpointVerdict {
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
    ...(evidence ? { evidence } : {}),
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
  return buildRemediation({
    subnetName: subnet.name,
    virtualNetworkName: subnet.virtualNetworkName,
    subscriptionId: subnet.subscriptionId,
    resourceGroup: subnet.resourceGroup,
    location: subnet.location,
    routeTableId: table?.id ?? subnet.routeTableId,
    existingRoutes: table?.routes ?? null,
    missing: unbypassedEndpoints(outcomes),
  });
}
