import { isValidPrefixText } from "../../net/ipv4.js";
import type { ArmRow } from "../arm-row.js";
import {
  arrayField,
  bag,
  idOf,
  isObject,
  keyOfRef,
  list,
  optionalFlag,
  Problems,
  propertiesOf,
  stringsOf,
  tagValue,
  text,
  flag,
  kindOf as kindOfValue,
  type Bag,
} from "../fields.js";
import { keyOf, nameOf, parentOfChild, parseResourceId } from "../resource-id.js";
import type {
  Gateway,
  GatewayConnection,
  LoadBalancer,
  NatGateway,
  NetworkSecurityGroup,
  NsgRule,
  Peering,
  Problem,
  Route,
  RouteTable,
  Subnet,
  VirtualNetwork,
} from "../types.js";

/** Tag that exempts a route table's or VNet's subnets; its value is the justification. */
export const EXEMPTION_TAG = "kms-route-audit-exempt";
/** Tag on an appliance's NIC, VM or internal load balancer declaring what it lets through. */
export const DECLARATION_TAG = "kms-route-audit-egress";

/** A subnet as one row describes it, with its lower-cased key. */
export interface SubnetRecord {
  key: string;
  subnet: Subnet;
}

export function exemptionOf(row: Bag): string | null {
  const value = tagValue(row, EXEMPTION_TAG);
  if (value === null) return null;
  return value.trim() ? value.trim() : "exempt";
}

/** Routes come nested ({name, properties:{…}}) from ARM and Resource Graph, flat from SDK dumps. */
export function toRoute(raw: Bag, problems: Problems, path: string): Route {
  const props = propertiesOf(raw);
  const route: Route = {
    name: text(raw.name) ?? "",
    addressPrefix: props.addressPrefix,
    nextHopType: text(props.nextHopType),
    nextHopIpAddress: text(props.nextHopIpAddress),
  };
  if (typeof props.addressPrefix !== "string" || !isValidPrefixText(props.addressPrefix))
    problems.add(
      `${path}.addressPrefix`,
      typeof props.addressPrefix === "string"
        ? `"${props.addressPrefix}" is neither an IP prefix nor a service tag`
        : `is ${props.addressPrefix === undefined ? "missing" : typeof props.addressPrefix}, expected a prefix string`,
    );
  if (props.nextHopType !== undefined && typeof props.nextHopType !== "string")
    problems.wrongType(`${path}.nextHopType`, props.nextHopType, "a string");
  if (props.nextHopIpAddress != null && typeof props.nextHopIpAddress !== "string")
    problems.wrongType(`${path}.nextHopIpAddress`, props.nextHopIpAddress, "a string");
  return route;
}

export function routeTableOf(row: ArmRow): {
  table: RouteTable;
  subnets: { key: string; id: string }[];
} {
  const props = bag(row.properties);
  const parsed = parseResourceId(row.id);
  const problems = new Problems(row.id);
  const routes: Route[] = [];
  const raw = arrayField(props, "routes", problems, "properties");
  if (raw)
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i];
      if (isObject(r)) routes.push(toRoute(r, problems, `properties.routes[${i}]`));
      else problems.wrongType(`properties.routes[${i}]`, r, "a route object");
    }
  // Route tables are kept for the whole run: an exactly sized array (push leaves spare room).
  const kept = routes.slice();
  if (!isObject(row.properties) && row.properties !== undefined)
    problems.wrongType("properties", row.properties, "an object");
  const table: RouteTable = {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    subscriptionId: text(row.subscriptionId) ?? parsed.subscriptionId ?? "",
    resourceGroup: text(row.resourceGroup) ?? parsed.resourceGroup ?? "",
    location: text(row.location),
    routes: kept,
    // No list at all (or one that is not a list): the routes are unknown, never "none".
    routesUnreadable: !Array.isArray(props.routes),
    disableBgpRoutePropagation: flag(props.disableBgpRoutePropagation),
    malformed: problems.all,
    exemption: exemptionOf(row),
  };
  const subnets: { key: string; id: string }[] = [];
  for (const s of list(props.subnets)) {
    const id = idOf(s);
    if (id) subnets.push({ key: keyOf(id), id });
  }
  return { table, subnets };
}

export function peeringOf(raw: unknown): Peering {
  const outer = bag(raw);
  const props = propertiesOf(outer);
  const remote = idOf(props.remoteVirtualNetwork);
  return {
    remoteVirtualNetworkKey: remote ? keyOf(remote) : null,
    useRemoteGateways: flag(props.useRemoteGateways),
    // Virtual WAN: the spoke peers with the hub's VNet, HV_<hub>_<guid>, in Microsoft's subscription.
    toVirtualHub: remote !== null && /^hv_/i.test(nameOf(remote)),
  };
}

/** What the subnets spelled under a VNet's ID share with it. */
export interface VnetParts {
  id: string;
  name: string;
  /** Null unless the ID names both a subscription and a resource group. */
  scope: { subscriptionId: string; resourceGroup: string } | null;
}

function vnetParts(id: string): VnetParts {
  const { subscriptionId, resourceGroup } = parseResourceId(id);
  return {
    id,
    name: nameOf(id),
    scope: subscriptionId && resourceGroup ? { subscriptionId, resourceGroup } : null,
  };
}

/**
 * A subnet from its ID (a null location is filled in from its VNet when indexed). `vnet` is the VNet
 * row that lists it: nearly every subnet is spelled under its ID, which spares parsing the subnet's
 * (the subscription and resource group come before the VNet's name, so they are the VNet's).
 */
export function subnetOf(
  id: string,
  name: string,
  props: Bag,
  location: string | null,
  problems: Problems,
  path: string,
  vnet?: VnetParts,
): Subnet {
  const under =
    vnet !== undefined && id.lastIndexOf("/subnets/") === vnet.id.length && id.startsWith(vnet.id);
  const virtualNetworkId = under ? vnet.id : (parentOfChild(id, "subnets") ?? id);
  const scope = under && vnet.scope ? vnet.scope : parseResourceId(id);
  const own = problems;
  let addressPrefix: string | null = null;
  if (typeof props.addressPrefix === "string") addressPrefix = props.addressPrefix;
  else if (props.addressPrefix != null)
    own.wrongType(`${path}.addressPrefix`, props.addressPrefix, "a string");
  let addressPrefixes: string[] | null = null;
  if (props.addressPrefixes !== undefined && props.addressPrefixes !== null) {
    const many = arrayField(props, "addressPrefixes", own, path);
    if (many) addressPrefixes = stringsOf(many, own, `${path}.addressPrefixes`);
  }
  const outbound = optionalFlag(props.defaultOutboundAccess);
  if (outbound === undefined)
    own.wrongType(`${path}.defaultOutboundAccess`, props.defaultOutboundAccess, "a boolean");
  let listedNics: number | null = null;
  if (Array.isArray(props.ipConfigurations)) {
    const nics = new Set<string>();
    for (const c of props.ipConfigurations as unknown[]) {
      const configId = idOf(c)?.toLowerCase();
      const nic = configId?.includes("/networkinterfaces/")
        ? parentOfChild(configId, "ipconfigurations")
        : null;
      if (nic) nics.add(nic);
    }
    listedNics = nics.size;
  }
  return {
    id,
    name,
    virtualNetworkId,
    virtualNetworkName: under ? vnet.name : nameOf(virtualNetworkId),
    subscriptionId: scope.subscriptionId ?? "",
    resourceGroup: scope.resourceGroup ?? "",
    location,
    routeTableId: idOf(props.routeTable),
    addressPrefix,
    addressPrefixes,
    networkSecurityGroupId: refOrProblem(props, "networkSecurityGroup", own, path),
    natGatewayId: refOrProblem(props, "natGateway", own, path),
    defaultOutboundAccess: outbound ?? null,
    listedNics,
    unread: false,
    malformed: own.all,
  };
}

function refOrProblem(props: Bag, name: string, problems: Problems, path: string): string | null {
  const value = props[name];
  if (value === undefined || value === null) return null;
  const id = idOf(value);
  if (id === null) problems.wrongType(`${path}.${name}`, value, "a reference {id}");
  return id;
}

export interface VirtualNetworkParts {
  vnet: VirtualNetwork;
  subnets: SubnetRecord[];
  /** Its GatewaySubnet names a virtual network gateway; the gateway IDs, where they parse. */
  gatewayReferenced: boolean;
  gatewayIds: string[];
  /** Route Server hubs named by its RouteServerSubnet's IP configurations. */
  routeServerKeys: string[];
  /** `properties.subnets` is there but not a list: the VNet's subnets cannot be read. */
  subnetsUnreadable: boolean;
  problems: Problem[];
}

export function virtualNetworkOf(row: ArmRow): VirtualNetworkParts {
  const props = bag(row.properties);
  const problems = new Problems(row.id);
  const addressPrefixes = stringsOf(
    list(bag(props.addressSpace).addressPrefixes),
    problems,
    "properties.addressSpace.addressPrefixes",
  );
  const peeringsRaw = arrayField(props, "virtualNetworkPeerings", problems, "properties");
  const vnet: VirtualNetwork = {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    location: text(row.location),
    addressPrefixes,
    peerings: (peeringsRaw ?? []).map(peeringOf),
    exemption: exemptionOf(row),
  };
  const subnets: SubnetRecord[] = [];
  const parent = vnetParts(row.id);
  // One Problems for every subnet of the row, reset per subnet (clean subnets allocate nothing).
  const scratch = new Problems(row.id);
  let gatewayReferenced = false;
  const gatewayIds: string[] = [];
  const routeServerKeys: string[] = [];
  if (!isObject(row.properties) && row.properties !== undefined)
    problems.wrongType("properties", row.properties, "an object");
  // ARM and Resource Graph always send the list (empty for a VNet without subnets): without one,
  // the VNet's subnets cannot be known.
  const raw = Array.isArray(props.subnets) ? (props.subnets as unknown[]) : null;
  if (raw === null)
    problems.add(
      "properties.subnets",
      props.subnets === undefined
        ? "is missing"
        : `is ${kindOfValue(props.subnets)}, expected an array`,
    );
  for (let i = 0; raw && i < raw.length; i++) {
    const s = raw[i];
    const path = `properties.subnets[${i}]`;
    if (!isObject(s)) {
      problems.wrongType(path, s, "a subnet object");
      continue;
    }
    const name = text(s.name) ?? (text(s.id) ? nameOf(s.id as string) : null);
    if (!name) {
      problems.add(path, "has neither a name nor an id");
      continue;
    }
    const id = text(s.id) ?? `${row.id}/subnets/${name}`;
    const sprops = bag(s.properties);
    if (s.properties !== undefined && !isObject(s.properties))
      problems.wrongType(`${path}.properties`, s.properties, "an object");
    scratch.reset();
    const subnet = subnetOf(id, name, sprops, vnet.location, scratch, path, parent);
    subnets.push({ key: keyOf(id), subnet });
    const lower = name.toLowerCase();
    // A gateway's or Route Server's IP configurations point back from its subnet.
    if (lower === "gatewaysubnet" || lower === "routeserversubnet") {
      for (const configId of list(sprops.ipConfigurations).map(idOf)) {
        const configKey = configId?.toLowerCase() ?? "";
        if (lower === "gatewaysubnet" && configKey.includes("/virtualnetworkgateways/")) {
          gatewayReferenced = true;
          const gatewayId = parentOfChild(configId!, "ipConfigurations");
          if (gatewayId) gatewayIds.push(gatewayId);
        } else if (configKey.includes("/virtualhubs/")) {
          const hubId = parentOfChild(configId!, "ipConfigurations");
          if (hubId) routeServerKeys.push(keyOf(hubId));
        }
      }
    }
  }
  return {
    vnet,
    subnets,
    gatewayReferenced,
    gatewayIds,
    routeServerKeys,
    subnetsUnreadable: raw === null,
    problems: problems.all,
  };
}

export function gatewayOf(row: ArmRow): Gateway {
  const props = bag(row.properties);
  const virtualNetworkKeys: string[] = [];
  for (const config of list(props.ipConfigurations)) {
    const c = bag(config);
    const subnetId = idOf(bag(c.properties).subnet) ?? idOf(c.subnet);
    const vnetId = subnetId ? parentOfChild(subnetId, "subnets") : null;
    if (vnetId && !virtualNetworkKeys.includes(keyOf(vnetId)))
      virtualNetworkKeys.push(keyOf(vnetId));
  }
  return {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    gatewayType: text(props.gatewayType),
    defaultSiteId: idOf(props.gatewayDefaultSite),
    enableBgp: optionalFlag(props.enableBgp) ?? null,
    virtualNetworkKeys,
  };
}

export function gatewayConnectionOf(row: ArmRow): GatewayConnection | null {
  const props = bag(row.properties);
  const gateway = keyOfRef(props.virtualNetworkGateway1);
  if (!gateway) return null;
  return {
    id: row.id,
    gatewayKey: gateway,
    localNetworkGatewayKey: keyOfRef(props.localNetworkGateway2),
    connectionType: text(props.connectionType),
    enableBgp: optionalFlag(props.enableBgp) ?? null,
  };
}

export function localNetworkGatewayOf(row: ArmRow): string[] {
  const props = bag(row.properties);
  return list(bag(props.localNetworkAddressSpace).addressPrefixes).filter(
    (p): p is string => typeof p === "string",
  );
}

// Azure's default outbound rules: every NSG has them, whether or not an export lists them.
const DEFAULT_OUTBOUND: NsgRule[] = [
  rule("AllowVnetOutBound", 65000, "Allow", ["VirtualNetwork"], ["VirtualNetwork"]),
  rule("AllowInternetOutBound", 65001, "Allow", ["*"], ["Internet"]),
  rule("DenyAllOutBound", 65500, "Deny", ["*"], ["*"]),
];
function rule(
  name: string,
  priority: number,
  access: "Allow" | "Deny",
  source: string[],
  destination: string[],
): NsgRule {
  return {
    name,
    priority,
    access,
    protocol: "*",
    sourceAddresses: source,
    sourceApplicationSecurityGroups: false,
    destinationApplicationSecurityGroups: false,
    destinationAddresses: destination,
    destinationPorts: ["*"],
  };
}

function prefixesOf(props: Bag, one: string, many: string, problems: Problems, path: string) {
  const out: string[] = [];
  const single = props[one];
  if (typeof single === "string" && single.trim() !== "") out.push(single.trim());
  else if (single != null && typeof single !== "string")
    problems.wrongType(`${path}.${one}`, single, "a string");
  const arr = arrayField(props, many, problems, path);
  if (arr) for (const p of stringsOf(arr, problems, `${path}.${many}`)) out.push(p.trim());
  return out;
}

export function networkSecurityGroupOf(row: ArmRow): NetworkSecurityGroup {
  const props = bag(row.properties);
  const problems = new Problems(row.id);
  const outbound: NsgRule[] = [];
  let listsDefaults = false;
  for (const field of ["securityRules", "defaultSecurityRules"] as const) {
    const raw = arrayField(props, field, problems, "properties");
    if (field === "defaultSecurityRules" && raw && raw.length > 0) listsDefaults = true;
    for (let i = 0; raw && i < raw.length; i++) {
      const path = `properties.${field}[${i}]`;
      const r = raw[i];
      if (!isObject(r)) {
        problems.wrongType(path, r, "a rule object");
        continue;
      }
      const p = propertiesOf(r);
      const direction = text(p.direction)?.toLowerCase();
      if (direction === "inbound") continue;
      const priority = typeof p.priority === "number" ? p.priority : Number(p.priority);
      const access = text(p.access)?.toLowerCase();
      if (direction !== "outbound" || !Number.isFinite(priority) || !access) {
        problems.add(path, "has no valid direction, priority or access");
        continue;
      }
      outbound.push({
        name: text(r.name) ?? `rule-${i}`,
        priority,
        access: access === "allow" ? "Allow" : "Deny",
        protocol: text(p.protocol) ?? "*",
        sourceAddresses: prefixesOf(
          p,
          "sourceAddressPrefix",
          "sourceAddressPrefixes",
          problems,
          path,
        ),
        sourceApplicationSecurityGroups: list(p.sourceApplicationSecurityGroups).length > 0,
        destinationApplicationSecurityGroups:
          list(p.destinationApplicationSecurityGroups).length > 0,
        destinationAddresses: prefixesOf(
          p,
          "destinationAddressPrefix",
          "destinationAddressPrefixes",
          problems,
          path,
        ),
        destinationPorts: prefixesOf(
          p,
          "destinationPortRange",
          "destinationPortRanges",
          problems,
          path,
        ),
      });
    }
  }
  if (!listsDefaults) outbound.push(...DEFAULT_OUTBOUND);
  outbound.sort((a, b) => a.priority - b.priority);
  return { id: row.id, name: text(row.name) ?? nameOf(row.id), outbound, malformed: problems.all };
}

export function natGatewayOf(row: ArmRow): NatGateway {
  const props = bag(row.properties);
  let publicIpCount = 0;
  for (const field of ["publicIpAddresses", "publicIpPrefixes", "publicIpAddressesV6"])
    publicIpCount += list(props[field]).filter((r) => idOf(r) !== null).length;
  return { id: row.id, publicIpCount };
}

export function publicIpOf(row: ArmRow): { key: string; address: string | null } {
  return { key: keyOf(row.id), address: text(bag(row.properties).ipAddress) };
}

export function loadBalancerOf(row: ArmRow): LoadBalancer {
  const props = bag(row.properties);
  const frontends = list(props.frontendIPConfigurations)
    .filter(isObject)
    .map((f) => {
      const p = propertiesOf(f);
      const subnetId = idOf(p.subnet);
      const vnetId = subnetId ? parentOfChild(subnetId, "subnets") : null;
      return {
        id: text(f.id) ?? `${row.id}/frontendIPConfigurations/${text(f.name) ?? ""}`,
        privateIpAddress: text(p.privateIPAddress),
        virtualNetworkKey: vnetId ? keyOf(vnetId) : null,
        publicIp: idOf(p.publicIPAddress) !== null,
      };
    });
  const backendNics = new Map<string, string[]>();
  for (const pool of list(props.backendAddressPools).filter(isObject)) {
    const poolId = text(pool.id);
    if (!poolId) continue;
    const p = propertiesOf(pool);
    const nics: string[] = [];
    const add = (configId: string | null) => {
      const nicId = configId ? parentOfChild(configId, "ipConfigurations") : null;
      if (nicId && !nics.includes(keyOf(nicId))) nics.push(keyOf(nicId));
    };
    for (const c of list(p.backendIPConfigurations)) add(idOf(c));
    for (const a of list(p.loadBalancerBackendAddresses))
      add(idOf(propertiesOf(bag(a)).networkInterfaceIPConfiguration));
    backendNics.set(keyOf(poolId), nics);
  }
  const rulePools = new Map<string, string[]>();
  for (const r of list(props.loadBalancingRules).filter(isObject)) {
    const p = propertiesOf(r);
    const frontend = keyOfRef(p.frontendIPConfiguration);
    if (!frontend) continue;
    const pools = [keyOfRef(p.backendAddressPool), ...list(p.backendAddressPools).map(keyOfRef)];
    const known = rulePools.get(frontend) ?? [];
    for (const pool of pools) if (pool && !known.includes(pool)) known.push(pool);
    rulePools.set(frontend, known);
  }
  const outboundPools: string[] = [];
  for (const r of list(props.outboundRules).filter(isObject)) {
    const pool = keyOfRef(propertiesOf(r).backendAddressPool);
    if (pool && !outboundPools.includes(pool)) outboundPools.push(pool);
  }
  return {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    frontends,
    backendNics,
    rulePools,
    outboundPools,
    declaration: tagValue(row, DECLARATION_TAG),
  };
}

/** What a NIC row adds: its subnets and VM (impact), IPs (next hops), outbound and filters. */
export interface NicParts {
  t: "networkInterface";
  key: string;
  id: string;
  subnetKeys: string[];
  vmKey: string | null;
  /** The private IP of the first IP configuration (nearly every NIC has one). */
  ip: string | null;
  /** The subnet of the first IP configuration. */
  subnetKey: string | null;
  /** Further [private IP, subnet key] pairs of NICs with several IP configurations. */
  moreIps: [string, string | null][] | null;
  publicIp: boolean;
  poolKeys: string[];
  ipForwarding: boolean | null;
  nsgId: string | null;
  declaration: string | null;
}

export function nicOf(row: ArmRow, key: string): NicParts {
  const props = bag(row.properties);
  const subnetKeys: string[] = [];
  let first: string | null = null;
  let firstSubnet: string | null = null;
  let moreIps: [string, string | null][] | null = null;
  let configs = 0;
  let publicIp = false;
  let poolKeys: string[] = NO_KEYS;
  for (const config of list(props.ipConfigurations)) {
    const p = bag(bag(config).properties);
    const subnetId = idOf(p.subnet);
    const subnetKey = subnetId ? keyOf(subnetId) : null;
    if (subnetKey && !subnetKeys.includes(subnetKey)) subnetKeys.push(subnetKey);
    const ip = text(p.privateIPAddress);
    if (configs++ === 0) {
      first = ip;
      firstSubnet = subnetKey;
    } else if (ip) (moreIps ??= []).push([ip, subnetKey]);
    if (p.publicIPAddress != null && idOf(p.publicIPAddress) !== null) publicIp = true;
    const pools = list(p.loadBalancerBackendAddressPools);
    if (pools.length > 0) {
      if (poolKeys === NO_KEYS) poolKeys = [];
      for (const pool of pools) {
        const k = keyOfRef(pool);
        if (k && !poolKeys.includes(k)) poolKeys.push(k);
      }
    }
  }
  const vmId = idOf(props.virtualMachine);
  return {
    t: "networkInterface",
    key,
    id: row.id,
    subnetKeys,
    vmKey: vmId && keyOf(vmId),
    ip: first,
    subnetKey: firstSubnet ?? subnetKeys[0] ?? null,
    moreIps,
    publicIp,
    poolKeys,
    ipForwarding: optionalFlag(props.enableIPForwarding) ?? null,
    nsgId: idOf(props.networkSecurityGroup),
    declaration: tagValue(row, DECLARATION_TAG),
  };
}
const NO_KEYS: string[] = [];
