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

/** The normalised, indexed estate. Every map is keyed by lower-cased resource ID. */
export interface Inventory {
  subnets: Map<string, Subnet>;
  routeTables: Map<string, RouteTable>;
  virtualNetworks: Map<string, VirtualNetwork>;
  /** VNets known to hold a virtual network gateway. */
  gatewayVirtualNetworks: Set<string>;
  /** VNet key → IDs of its virtual network gateways (as the data spells them), when known. */
  gatewaysByVirtualNetwork: Map<string, string[]>;
  /** Subnet key → IDs of NICs in the subnet that are attached to a VM (for effective routes). */
  vmNicsBySubnet: Map<string, string[]>;
  subscriptionNames: Map<string, string>;
  /** Per subnet key; absent maps mean the inventory has no rows of that type. */
  nicCountBySubnet: Map<string, number> | null;
  windowsVmCountBySubnet: Map<string, number> | null;
  windowsScaleSetInstancesBySubnet: Map<string, number> | null;
}

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

/** Builds the inventory from ARM rows. Duplicate IDs (any case) count once: the first wins. */
export function buildInventory(rows: Iterable<ArmRow>): Inventory {
  const byType = new Map<string, ArmRow[]>();
  const seen = new Set<string>();
  for (const row of rows) {
    const key = keyOf(row.id);
    if (seen.has(key)) continue;
    seen.add(key);
    const type = row.type.toLowerCase();
    let group = byType.get(type);
    if (!group) byType.set(type, (group = []));
    group.push(row);
  }
  const rowsOf = (type: string) => byType.get(type) ?? [];

  const inventory: Inventory = {
    subnets: new Map(),
    routeTables: new Map(),
    virtualNetworks: new Map(),
    gatewayVirtualNetworks: new Set(),
    gatewaysByVirtualNetwork: new Map(),
    vmNicsBySubnet: new Map(),
    subscriptionNames: new Map(),
    nicCountBySubnet: null,
    windowsVmCountBySubnet: null,
    windowsScaleSetInstancesBySubnet: null,
  };

  for (const row of rowsOf(AUDITED_TYPES.subscription)) {
    const sub = text(row.subscriptionId) ?? parseResourceId(row.id).subscriptionId;
    const display = text(row.displayName) ?? text(row.name);
    if (sub && display) inventory.subscriptionNames.set(sub.toLowerCase(), display);
  }

  const routeTableSubnets: { subnetId: string; routeTableId: string }[] = [];
  for (const row of rowsOf(AUDITED_TYPES.routeTable)) {
    const props = bag(row.properties);
    const scope = scopeOf(row);
    inventory.routeTables.set(keyOf(row.id), {
      id: row.id,
      name: text(row.name) ?? nameOf(row.id),
      ...scope,
      location: text(row.location),
      routes: list(props.routes).filter(isObject).map(toRoute),
      disableBgpRoutePropagation: flag(props.disableBgpRoutePropagation),
      exemption: exemptionOf(row),
    });
    for (const s of list(props.subnets)) {
      const subnetId = idOf(s);
      if (subnetId) routeTableSubnets.push({ subnetId, routeTableId: row.id });
    }
  }
  for (const row of rowsOf(AUDITED_TYPES.route)) {
    const tableId = parentOfChild(row.id, "routes");
    const table = tableId ? inventory.routeTables.get(keyOf(tableId)) : undefined;
    if (!table) continue;
    const route = toRoute({ ...row, name: text(row.name) ?? nameOf(row.id) });
    if (!table.routes.some((r) => r.name.toLowerCase() === route.name.toLowerCase()))
      table.routes.push(route);
  }

  for (const row of rowsOf(AUDITED_TYPES.virtualNetwork)) {
    const props = bag(row.properties);
    const vnet: VirtualNetwork = {
      id: row.id,
      name: text(row.name) ?? nameOf(row.id),
      location: text(row.location),
      peerings: list(props.virtualNetworkPeerings).map(toPeering),
      exemption: exemptionOf(row),
    };
    inventory.virtualNetworks.set(keyOf(row.id), vnet);
    for (const s of list(props.subnets)) {
      if (!isObject(s)) continue;
      const name = text(s.name) ?? (text(s.id) ? nameOf(s.id as string) : null);
      if (!name) continue;
      const id = text(s.id) ?? `${row.id}/subnets/${name}`;
      addSubnet(inventory, id, name, bag(s.properties), vnet.location);
      // A gateway's IP configurations point back from its GatewaySubnet.
      if (name.toLowerCase() === "gatewaysubnet") {
        const configs = list(bag(s.properties).ipConfigurations);
        for (const configId of configs.map(idOf)) {
          if (!configId?.toLowerCase().includes("/virtualnetworkgateways/")) continue;
          inventory.gatewayVirtualNetworks.add(keyOf(row.id));
          const gatewayId = parentOfChild(configId, "ipConfigurations");
          if (gatewayId) addGateway(inventory, keyOf(row.id), gatewayId);
        }
      }
    }
  }
  for (const row of rowsOf(AUDITED_TYPES.peering)) {
    const vnetId = parentOfChild(row.id, "virtualNetworkPeerings");
    const vnet = vnetId ? inventory.virtualNetworks.get(keyOf(vnetId)) : undefined;
    if (vnet) vnet.peerings.push(toPeering(row));
  }
  for (const row of rowsOf(AUDITED_TYPES.subnet)) {
    addSubnet(inventory, row.id, text(row.name) ?? nameOf(row.id), bag(row.properties), null);
  }
  // Subnets known only from a route table's back-reference (their VNet is not in the inventory).
  for (const { subnetId, routeTableId } of routeTableSubnets) {
    const subnet = inventory.subnets.get(keyOf(subnetId));
    if (!subnet)
      addSubnet(inventory, subnetId, nameOf(subnetId), { routeTable: { id: routeTableId } }, null);
    else if (subnet.routeTableId === null) subnet.routeTableId = routeTableId;
  }

  for (const row of rowsOf(AUDITED_TYPES.gateway)) {
    for (const config of list(bag(row.properties).ipConfigurations)) {
      const c = bag(config);
      const subnetId = idOf(bag(c.properties).subnet) ?? idOf(c.subnet);
      const vnetId = subnetId ? parentOfChild(subnetId, "subnets") : null;
      if (vnetId) {
        inventory.gatewayVirtualNetworks.add(keyOf(vnetId));
        addGateway(inventory, keyOf(vnetId), row.id);
      }
    }
  }

  indexImpact(inventory, rowsOf);
  return inventory;
}

function addGateway(inventory: Inventory, vnetKey: string, gatewayId: string): void {
  const ids = inventory.gatewaysByVirtualNetwork.get(vnetKey) ?? [];
  if (!ids.some((id) => keyOf(id) === keyOf(gatewayId))) ids.push(gatewayId);
  inventory.gatewaysByVirtualNetwork.set(vnetKey, ids);
}

/** Tag that exempts a route table's or VNet's subnets; its value is the justification. */
export const EXEMPTION_TAG = "kms-route-audit-exempt";

function exemptionOf(row: ArmRow): string | null {
  // Tag names are case-insensitive in Azure.
  for (const [name, value] of Object.entries(bag(row.tags))) {
    if (name.toLowerCase() === EXEMPTION_TAG)
      return typeof value === "string" && value.trim() ? value.trim() : "exempt";
  }
  return null;
}

function scopeOf(row: ArmRow): { subscriptionId: string; resourceGroup: string } {
  const parsed = parseResourceId(row.id);
  return {
    subscriptionId: text(row.subscriptionId) ?? parsed.subscriptionId ?? "",
    resourceGroup: text(row.resourceGroup) ?? parsed.resourceGroup ?? "",
  };
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

function addSubnet(
  inventory: Inventory,
  id: string,
  name: string,
  props: Bag,
  location: string | null,
): void {
  const key = keyOf(id);
  const routeTableId = idOf(props.routeTable);
  const existing = inventory.subnets.get(key);
  if (existing) {
    existing.routeTableId ??= routeTableId;
    return;
  }
  const virtualNetworkId = parentOfChild(id, "subnets") ?? id;
  const parsed = parseResourceId(id);
  inventory.subnets.set(key, {
    id,
    name,
    virtualNetworkId,
    virtualNetworkName: nameOf(virtualNetworkId),
    subscriptionId: parsed.subscriptionId ?? "",
    resourceGroup: parsed.resourceGroup ?? "",
    location: location ?? inventory.virtualNetworks.get(keyOf(virtualNetworkId))?.location ?? null,
    routeTableId,
  });
}

function increment(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function isWindows(props: Bag): boolean {
  const storage = bag(props.storageProfile);
  const osType = text(bag(storage.osDisk).osType);
  if (osType) return osType.toLowerCase() === "windows";
  if (isObject(bag(props.osProfile).windowsConfiguration)) return true;
  const publisher = text(bag(storage.imageReference).publisher)?.toLowerCase() ?? "";
  return publisher.includes("windows");
}

/** NICs, Windows VMs and Windows uniform scale-set instances per subnet, when the rows exist. */
function indexImpact(inventory: Inventory, rowsOf: (type: string) => ArmRow[]): void {
  const nics = rowsOf(AUDITED_TYPES.networkInterface);
  const vms = rowsOf(AUDITED_TYPES.virtualMachine);
  const scaleSets = rowsOf(AUDITED_TYPES.scaleSet);

  const subnetsOfNic = new Map<string, Set<string>>();
  const vmOfNic = new Map<string, string>();
  for (const nic of nics) {
    const props = bag(nic.properties);
    const subnets = new Set<string>();
    for (const config of list(props.ipConfigurations)) {
      const subnetId = idOf(bag(bag(config).properties).subnet);
      if (subnetId) subnets.add(keyOf(subnetId));
    }
    subnetsOfNic.set(keyOf(nic.id), subnets);
    const vmId = idOf(props.virtualMachine);
    if (vmId) {
      vmOfNic.set(keyOf(nic.id), keyOf(vmId));
      for (const s of subnets) {
        const ids = inventory.vmNicsBySubnet.get(s) ?? [];
        ids.push(nic.id);
        inventory.vmNicsBySubnet.set(s, ids);
      }
    }
  }
  if (nics.length > 0) {
    inventory.nicCountBySubnet = new Map();
    for (const subnets of subnetsOfNic.values())
      for (const s of subnets) increment(inventory.nicCountBySubnet, s);
  }

  if (vms.length > 0) {
    inventory.windowsVmCountBySubnet = new Map();
    const nicsOfVm = new Map<string, Set<string>>();
    for (const [nic, vm] of vmOfNic) {
      let set = nicsOfVm.get(vm);
      if (!set) nicsOfVm.set(vm, (set = new Set()));
      set.add(nic);
    }
    for (const vm of vms) {
      const props = bag(vm.properties);
      if (!isWindows(props)) continue;
      const vmNics = new Set(nicsOfVm.get(keyOf(vm.id)) ?? []);
      for (const ref of list(bag(props.networkProfile).networkInterfaces)) {
        const nicId = idOf(ref);
        if (nicId) vmNics.add(keyOf(nicId));
      }
      const subnets = new Set<string>();
      for (const nic of vmNics) for (const s of subnetsOfNic.get(nic) ?? []) subnets.add(s);
      for (const s of subnets) increment(inventory.windowsVmCountBySubnet, s);
    }
  }

  if (scaleSets.length > 0) {
    inventory.windowsScaleSetInstancesBySubnet = new Map();
    for (const vmss of scaleSets) {
      const props = bag(vmss.properties);
      // Flexible scale sets' instances are ordinary VM and NIC rows, already counted above.
      if (text(props.orchestrationMode)?.toLowerCase() === "flexible") continue;
      const profile = bag(props.virtualMachineProfile);
      if (!isWindows(profile)) continue;
      const capacity = Number(bag(vmss.sku).capacity);
      if (!Number.isFinite(capacity) || capacity <= 0) continue;
      const subnets = new Set<string>();
      for (const nicConfig of list(bag(profile.networkProfile).networkInterfaceConfigurations)) {
        for (const ipConfig of list(bag(bag(nicConfig).properties).ipConfigurations)) {
          const subnetId = idOf(bag(bag(ipConfig).properties).subnet);
          if (subnetId) subnets.add(keyOf(subnetId));
        }
      }
      for (const s of subnets) increment(inventory.windowsScaleSetInstancesBySubnet, s, capacity);
    }
  }
}
