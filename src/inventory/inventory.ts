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
  const builder = new InventoryBuilder();
  for (const row of rows) builder.add(row);
  return builder.finish();
}

/** What the impact counts need of a Windows VM row: its key and the NICs it names. */
interface WindowsVm {
  key: string;
  nicKeys: string[];
}

/**
 * Builds the inventory one row at a time, keeping only what the audit needs (not the rows), so a
 * large estate can stream through it. The result is the same as if the rows were grouped by type
 * and handled type by type (subscriptions, route tables, routes, VNets, peerings, subnets,
 * gateways, NICs, VMs, scale sets): rows whose handling depends on rows of a later type are kept
 * in a compact form until `finish`.
 */
export class InventoryBuilder {
  private readonly seen = new Set<string>();
  private readonly inventory: Inventory = {
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
  private readonly routeTableSubnets: { subnetId: string; routeTableId: string }[] = [];
  private readonly routes: { tableKey: string; route: Route }[] = [];
  private readonly peerings: { vnetKey: string; peering: Peering }[] = [];
  private readonly subnetRows: { id: string; name: string; routeTable: unknown }[] = [];
  private readonly subnetsOfNic = new Map<string, Set<string>>();
  private readonly vmOfNic = new Map<string, string>();
  private nicRows = 0;
  private vmRows = 0;
  private readonly windowsVms: WindowsVm[] = [];
  private readonly scaleSetInstances = new Map<string, number>();
  private scaleSetRows = 0;
  private rowCount = 0;
  private finished = false;

  /** Rows added, duplicates and unaudited types included. */
  get rows(): number {
    return this.rowCount;
  }

  add(row: ArmRow): void {
    if (this.finished) throw new Error("InventoryBuilder: add after finish");
    this.rowCount += 1;
    const key = keyOf(row.id);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    switch (row.type.toLowerCase()) {
      case AUDITED_TYPES.subscription:
        return this.addSubscription(row);
      case AUDITED_TYPES.routeTable:
        return this.addRouteTable(row, key);
      case AUDITED_TYPES.route: {
        const tableId = parentOfChild(row.id, "routes");
        if (tableId) {
          const route = toRoute({ ...row, name: text(row.name) ?? nameOf(row.id) });
          this.routes.push({ tableKey: keyOf(tableId), route });
        }
        return;
      }
      case AUDITED_TYPES.virtualNetwork:
        return this.addVirtualNetwork(row, key);
      case AUDITED_TYPES.peering: {
        const vnetId = parentOfChild(row.id, "virtualNetworkPeerings");
        if (vnetId) this.peerings.push({ vnetKey: keyOf(vnetId), peering: toPeering(row) });
        return;
      }
      case AUDITED_TYPES.subnet:
        this.subnetRows.push({
          id: row.id,
          name: text(row.name) ?? nameOf(row.id),
          routeTable: bag(row.properties).routeTable,
        });
        return;
      case AUDITED_TYPES.gateway:
        for (const config of list(bag(row.properties).ipConfigurations)) {
          const c = bag(config);
          const subnetId = idOf(bag(c.properties).subnet) ?? idOf(c.subnet);
          const vnetId = subnetId ? parentOfChild(subnetId, "subnets") : null;
          if (vnetId) {
            this.inventory.gatewayVirtualNetworks.add(keyOf(vnetId));
            addGateway(this.inventory, keyOf(vnetId), row.id);
          }
        }
        return;
      case AUDITED_TYPES.networkInterface:
        return this.addNetworkInterface(row, key);
      case AUDITED_TYPES.virtualMachine:
        return this.addVirtualMachine(row, key);
      case AUDITED_TYPES.scaleSet:
        return this.addScaleSet(row);
    }
  }

  private addSubscription(row: ArmRow): void {
    const sub = text(row.subscriptionId) ?? parseResourceId(row.id).subscriptionId;
    const display = text(row.displayName) ?? text(row.name);
    if (sub && display) this.inventory.subscriptionNames.set(sub.toLowerCase(), display);
  }

  private addRouteTable(row: ArmRow, key: string): void {
    const props = bag(row.properties);
    const scope = scopeOf(row);
    this.inventory.routeTables.set(key, {
      id: row.id,
      name: text(row.name) ?? nameOf(row.id),
      ...scope,
      location: text(row.location),
      routes: list(props.routes).filter(isObject).map(toRoute),
      routesUnreadable: !Array.isArray(props.routes),
      disableBgpRoutePropagation: flag(props.disableBgpRoutePropagation),
      exemption: exemptionOf(row),
    });
    for (const s of list(props.subnets)) {
      const subnetId = idOf(s);
      if (subnetId) this.routeTableSubnets.push({ subnetId, routeTableId: row.id });
    }
  }

  // VNet rows may be handled on arrival: what they add depends only on other VNet rows (standalone
  // subnet rows, which come after VNets in the type order, wait for finish).
  private addVirtualNetwork(row: ArmRow, key: string): void {
    const inventory = this.inventory;
    const props = bag(row.properties);
    const vnet: VirtualNetwork = {
      id: row.id,
      name: text(row.name) ?? nameOf(row.id),
      location: text(row.location),
      peerings: list(props.virtualNetworkPeerings).map(toPeering),
      exemption: exemptionOf(row),
    };
    inventory.virtualNetworks.set(key, vnet);
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
          inventory.gatewayVirtualNetworks.add(key);
          const gatewayId = parentOfChild(configId, "ipConfigurations");
          if (gatewayId) addGateway(inventory, key, gatewayId);
        }
      }
    }
  }

  private addNetworkInterface(row: ArmRow, key: string): void {
    this.nicRows += 1;
    const props = bag(row.properties);
    const subnets = new Set<string>();
    for (const config of list(props.ipConfigurations)) {
      const subnetId = idOf(bag(bag(config).properties).subnet);
      if (subnetId) subnets.add(keyOf(subnetId));
    }
    this.subnetsOfNic.set(key, subnets);
    const vmId = idOf(props.virtualMachine);
    if (vmId) {
      this.vmOfNic.set(key, keyOf(vmId));
      for (const subnet of subnets) {
        const ids = this.inventory.vmNicsBySubnet.get(subnet) ?? [];
        ids.push(row.id);
        this.inventory.vmNicsBySubnet.set(subnet, ids);
      }
    }
  }

  private addVirtualMachine(row: ArmRow, key: string): void {
    this.vmRows += 1;
    const props = bag(row.properties);
    if (!isWindows(props)) return;
    const nicKeys: string[] = [];
    for (const ref of list(bag(props.networkProfile).networkInterfaces)) {
      const nicId = idOf(ref);
      if (nicId) nicKeys.push(keyOf(nicId));
    }
    this.windowsVms.push({ key, nicKeys });
  }

  private addScaleSet(row: ArmRow): void {
    this.scaleSetRows += 1;
    const props = bag(row.properties);
    // Flexible scale sets' instances are ordinary VM and NIC rows, already counted above.
    if (text(props.orchestrationMode)?.toLowerCase() === "flexible") return;
    const profile = bag(props.virtualMachineProfile);
    if (!isWindows(profile)) return;
    const capacity = Number(bag(row.sku).capacity);
    if (!Number.isFinite(capacity) || capacity <= 0) return;
    const subnets = new Set<string>();
    for (const nicConfig of list(bag(profile.networkProfile).networkInterfaceConfigurations)) {
      for (const ipConfig of list(bag(bag(nicConfig).properties).ipConfigurations)) {
        const subnetId = idOf(bag(bag(ipConfig).properties).subnet);
        if (subnetId) subnets.add(keyOf(subnetId));
      }
    }
    for (const s of subnets) increment(this.scaleSetInstances, s, capacity);
  }

  /** Resolves what waited for later types and returns the inventory. */
  finish(): Inventory {
    if (this.finished) throw new Error("InventoryBuilder: finish called twice");
    this.finished = true;
    const inventory = this.inventory;
    for (const { tableKey, route } of this.routes) {
      const table = inventory.routeTables.get(tableKey);
      if (!table) continue;
      table.routesUnreadable = false;
      if (!table.routes.some((r) => r.name.toLowerCase() === route.name.toLowerCase()))
        table.routes.push(route);
    }
    for (const { vnetKey, peering } of this.peerings) {
      inventory.virtualNetworks.get(vnetKey)?.peerings.push(peering);
    }
    for (const { id, name, routeTable } of this.subnetRows) {
      addSubnet(inventory, id, name, { routeTable }, null);
    }
    // Subnets known only from a route table's back-reference (their VNet is not in the inventory).
    for (const { subnetId, routeTableId } of this.routeTableSubnets) {
      const subnet = inventory.subnets.get(keyOf(subnetId));
      if (!subnet)
        addSubnet(
          inventory,
          subnetId,
          nameOf(subnetId),
          { routeTable: { id: routeTableId } },
          null,
        );
      else if (subnet.routeTableId === null) subnet.routeTableId = routeTableId;
    }
    this.indexImpact();
    this.seen.clear();
    return inventory;
  }

  /** NICs, Windows VMs and Windows uniform scale-set instances per subnet, when the rows exist. */
  private indexImpact(): void {
    const inventory = this.inventory;
    if (this.nicRows > 0) {
      inventory.nicCountBySubnet = new Map();
      for (const subnets of this.subnetsOfNic.values())
        for (const s of subnets) increment(inventory.nicCountBySubnet, s);
    }
    if (this.vmRows > 0) {
      inventory.windowsVmCountBySubnet = new Map();
      const nicsOfVm = new Map<string, Set<string>>();
      for (const [nic, vm] of this.vmOfNic) {
        let set = nicsOfVm.get(vm);
        if (!set) nicsOfVm.set(vm, (set = new Set()));
        set.add(nic);
      }
      for (const vm of this.windowsVms) {
        const vmNics = new Set(nicsOfVm.get(vm.key) ?? []);
        for (const nic of vm.nicKeys) vmNics.add(nic);
        const subnets = new Set<string>();
        for (const nic of vmNics) for (const s of this.subnetsOfNic.get(nic) ?? []) subnets.add(s);
        for (const s of subnets) increment(inventory.windowsVmCountBySubnet, s);
      }
    }
    if (this.scaleSetRows > 0) inventory.windowsScaleSetInstancesBySubnet = this.scaleSetInstances;
  }
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
