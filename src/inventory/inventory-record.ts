import { AUDITED_TYPES, type ArmRow } from "./arm-row.js";
import { isObject } from "./load-estate.js";
import { keyOf, nameOf, parentOfChild, parseResourceId } from "./resource-id.js";

export interface Route {
  name: string;
  addressPrefix: unknown;
  /** As written in the data; compare case-insensitively. Null when the route has none. */
  nextHopType: string | null;
  nextHopIpAddress: string | null;
}

export interface RouteTable {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string | null;
  routes: Route[];
  disableBgpRoutePropagation: boolean;
  /**
   * The row had no `routes` list (ARM and Resource Graph always send one, empty or not), and no
   * route rows filled it in: its routes are unknown, never assumed to be none.
   */
  routesUnreadable: boolean;
  /** Justification from the exemption tag, when the table carries one. */
  exemption: string | null;
}

export interface Subnet {
  id: string;
  name: string;
  virtualNetworkId: string;
  virtualNetworkName: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string | null;
  /** The route table ID as the data names it; null when the subnet has none. */
  routeTableId: string | null;
}

export interface Peering {
  remoteVirtualNetworkKey: string | null;
  useRemoteGateways: boolean;
}

export interface VirtualNetwork {
  id: string;
  name: string;
  location: string | null;
  peerings: Peering[];
  exemption: string | null;
}

/** A subnet as one row describes it, with its lower-cased key. */
export interface SubnetRecord {
  key: string;
  subnet: Subnet;
}

/**
 * What the inventory keeps of one ARM row: a pure function of the row (the InventoryBuilder indexes
 * records, in row order, against each other). `key` is the row's lower-cased ID; IDs used only to
 * join rows are lower-cased here too.
 */
export type InventoryRecord =
  | { t: "other"; key: string }
  | { t: "subscription"; key: string; subscriptionKey: string; displayName: string }
  | { t: "routeTable"; key: string; table: RouteTable; subnets: { key: string; id: string }[] }
  | { t: "route"; key: string; tableKey: string; route: Route }
  | {
      t: "virtualNetwork";
      key: string;
      vnet: VirtualNetwork;
      subnets: SubnetRecord[];
      /** Its GatewaySubnet names a virtual network gateway; the gateway IDs, where they parse. */
      gatewayReferenced: boolean;
      gatewayIds: string[];
    }
  | { t: "peering"; key: string; vnetKey: string; peering: Peering }
  | { t: "subnet"; key: string; subnet: Subnet }
  | { t: "gateway"; key: string; id: string; vnetKeys: string[] }
  | { t: "networkInterface"; key: string; id: string; subnetKeys: string[]; vmKey: string | null }
  | { t: "virtualMachine"; key: string; windows: boolean; nicKeys: string[] }
  | { t: "scaleSet"; key: string; windowsInstances: number; subnetKeys: string[] };

type Bag = Record<string, unknown>;

function bag(value: unknown): Bag {
  return isObject(value) ? value : {};
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value : null;
}
function flag(value: unknown): boolean {
  return value === true || (typeof value === "string" && value.toLowerCase() === "true");
}
function idOf(value: unknown): string | null {
  return text(bag(value).id);
}

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
  switch (typeKeyOf(row.type)) {
    case AUDITED_TYPES.subscription: {
      const sub = text(row.subscriptionId) ?? parseResourceId(row.id).subscriptionId;
      const displayName = text(row.displayName) ?? text(row.name);
      return sub && displayName
        ? { t: "subscription", key, subscriptionKey: sub.toLowerCase(), displayName }
        : { t: "other", key };
    }
    case AUDITED_TYPES.routeTable:
      return routeTableRecord(row, key);
    case AUDITED_TYPES.route: {
      const tableId = parentOfChild(row.id, "routes");
      if (!tableId) return { t: "other", key };
      const route = toRoute({ ...row, name: text(row.name) ?? nameOf(row.id) });
      return { t: "route", key, tableKey: keyOf(tableId), route };
    }
    case AUDITED_TYPES.virtualNetwork:
      return virtualNetworkRecord(row, key);
    case AUDITED_TYPES.peering: {
      const vnetId = parentOfChild(row.id, "virtualNetworkPeerings");
      if (!vnetId) return { t: "other", key };
      return { t: "peering", key, vnetKey: keyOf(vnetId), peering: toPeering(row) };
    }
    case AUDITED_TYPES.subnet: {
      const name = text(row.name) ?? nameOf(row.id);
      const routeTableId = idOf(bag(row.properties).routeTable);
      return { t: "subnet", key, subnet: subnetOf(row.id, name, routeTableId, null) };
    }
    case AUDITED_TYPES.gateway: {
      const vnetKeys: string[] = [];
      for (const config of list(bag(row.properties).ipConfigurations)) {
        const c = bag(config);
        const subnetId = idOf(bag(c.properties).subnet) ?? idOf(c.subnet);
        const vnetId = subnetId ? parentOfChild(subnetId, "subnets") : null;
        if (vnetId) vnetKeys.push(keyOf(vnetId));
      }
      return { t: "gateway", key, id: row.id, vnetKeys };
    }
    case AUDITED_TYPES.networkInterface: {
      const props = bag(row.properties);
      const subnetKeys: string[] = [];
      for (const config of list(props.ipConfigurations)) {
        const subnetId = idOf(bag(bag(config).properties).subnet);
        if (subnetId) addOnce(subnetKeys, keyOf(subnetId));
      }
      const vmId = idOf(props.virtualMachine);
      return { t: "networkInterface", key, id: row.id, subnetKeys, vmKey: vmId && keyOf(vmId) };
    }
    case AUDITED_TYPES.virtualMachine: {
      const props = bag(row.properties);
      const windows = isWindows(props);
      const nicKeys: string[] = [];
      if (windows) {
        for (const ref of list(bag(props.networkProfile).networkInterfaces)) {
          const nicId = idOf(ref);
          if (nicId) nicKeys.push(keyOf(nicId));
        }
      }
      return { t: "virtualMachine", key, windows, nicKeys };
    }
    case AUDITED_TYPES.scaleSet:
      return scaleSetRecord(row, key);
    default:
      return { t: "other", key };
  }
}

function routeTableRecord(row: ArmRow, key: string): InventoryRecord {
  const props = bag(row.properties);
  const parsed = parseResourceId(row.id);
  const table: RouteTable = {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    subscriptionId: text(row.subscriptionId) ?? parsed.subscriptionId ?? "",
    resourceGroup: text(row.resourceGroup) ?? parsed.resourceGroup ?? "",
    location: text(row.location),
    routes: list(props.routes).filter(isObject).map(toRoute),
    routesUnreadable: !Array.isArray(props.routes),
    disableBgpRoutePropagation: flag(props.disableBgpRoutePropagation),
    exemption: exemptionOf(row),
  };
  const subnets: { key: string; id: string }[] = [];
  for (const s of list(props.subnets)) {
    const id = idOf(s);
    if (id) subnets.push({ key: keyOf(id), id });
  }
  return { t: "routeTable", key, table, subnets };
}

function virtualNetworkRecord(row: ArmRow, key: string): InventoryRecord {
  const props = bag(row.properties);
  const vnet: VirtualNetwork = {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    location: text(row.location),
    peerings: list(props.virtualNetworkPeerings).map(toPeering),
    exemption: exemptionOf(row),
  };
  const subnets: SubnetRecord[] = [];
  const parent = vnetParts(row.id);
  let gatewayReferenced = false;
  const gatewayIds: string[] = [];
  for (const s of list(props.subnets)) {
    if (!isObject(s)) continue;
    const name = text(s.name) ?? (text(s.id) ? nameOf(s.id as string) : null);
    if (!name) continue;
    const id = text(s.id) ?? `${row.id}/subnets/${name}`;
    const sprops = bag(s.properties);
    const routeTableId = idOf(sprops.routeTable);
    subnets.push({
      key: keyOf(id),
      subnet: subnetOf(id, name, routeTableId, vnet.location, parent),
    });
    // A gateway's IP configurations point back from its GatewaySubnet.
    if (name.toLowerCase() === "gatewaysubnet") {
      for (const configId of list(sprops.ipConfigurations).map(idOf)) {
        if (!configId?.toLowerCase().includes("/virtualnetworkgateways/")) continue;
        gatewayReferenced = true;
        const gatewayId = parentOfChild(configId, "ipConfigurations");
        if (gatewayId) gatewayIds.push(gatewayId);
      }
    }
  }
  return { t: "virtualNetwork", key, vnet, subnets, gatewayReferenced, gatewayIds };
}

function scaleSetRecord(row: ArmRow, key: string): InventoryRecord {
  const props = bag(row.properties);
  const none: InventoryRecord = { t: "scaleSet", key, windowsInstances: 0, subnetKeys: [] };
  // Flexible scale sets' instances are ordinary VM and NIC rows, counted as such.
  if (text(props.orchestrationMode)?.toLowerCase() === "flexible") return none;
  const profile = bag(props.virtualMachineProfile);
  if (!isWindows(profile)) return none;
  const capacity = Number(bag(row.sku).capacity);
  if (!Number.isFinite(capacity) || capacity <= 0) return none;
  const subnetKeys: string[] = [];
  for (const nicConfig of list(bag(profile.networkProfile).networkInterfaceConfigurations)) {
    for (const ipConfig of list(bag(bag(nicConfig).properties).ipConfigurations)) {
      const subnetId = idOf(bag(bag(ipConfig).properties).subnet);
      if (subnetId) addOnce(subnetKeys, keyOf(subnetId));
    }
  }
  return { t: "scaleSet", key, windowsInstances: capacity, subnetKeys };
}

/** What the subnets spelled under a VNet's ID share with it. */
interface VnetParts {
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
  routeTableId: string | null,
  location: string | null,
  vnet?: VnetParts,
): Subnet {
  const under =
    vnet !== undefined && id.lastIndexOf("/subnets/") === vnet.id.length && id.startsWith(vnet.id);
  const virtualNetworkId = under ? vnet.id : (parentOfChild(id, "subnets") ?? id);
  const scope = under && vnet.scope ? vnet.scope : parseResourceId(id);
  return {
    id,
    name,
    virtualNetworkId,
    virtualNetworkName: under ? vnet.name : nameOf(virtualNetworkId),
    subscriptionId: scope.subscriptionId ?? "",
    resourceGroup: scope.resourceGroup ?? "",
    location,
    routeTableId,
  };
}

function addOnce(values: string[], value: string): void {
  if (!values.includes(value)) values.push(value);
}

/** Tag that exempts a route table's or VNet's subnets; its value is the justification. */
const EXEMPTION_TAG = "kms-route-audit-exempt";

function exemptionOf(row: ArmRow): string | null {
  // Tag names are case-insensitive in Azure.
  for (const [name, value] of Object.entries(bag(row.tags))) {
    if (name.toLowerCase() === EXEMPTION_TAG)
      return typeof value === "string" && value.trim() ? value.trim() : "exempt";
  }
  return null;
}

/** Routes come nested ({name, properties:{…}}) from ARM and Resource Graph, flat from SDK dumps. */
function toRoute(raw: Bag): Route {
  const props = isObject(raw.properties) ? raw.properties : raw;
  return {
    name: text(raw.name) ?? "",
    addressPrefix: props.addressPrefix,
    nextHopType: text(props.nextHopType),
    nextHopIpAddress: text(props.nextHopIpAddress),
  };
}

function toPeering(raw: unknown): Peering {
  const outer = bag(raw);
  const props = isObject(outer.properties) ? outer.properties : outer;
  const remote = idOf(props.remoteVirtualNetwork);
  return {
    remoteVirtualNetworkKey: remote ? keyOf(remote) : null,
    useRemoteGateways: flag(props.useRemoteGateways),
  };
}

function isWindows(props: Bag): boolean {
  const storage = bag(props.storageProfile);
  const osType = text(bag(storage.osDisk).osType);
  if (osType) return osType.toLowerCase() === "windows";
  if (isObject(bag(props.osProfile).windowsConfiguration)) return true;
  const publisher = text(bag(storage.imageReference).publisher)?.toLowerCase() ?? "";
  return publisher.includes("windows");
}
