import type { ArmRow } from "./arm-row.js";
import {
  subnetOf,
  toRecord,
  type InventoryRecord,
  type Subnet,
  type SubnetRecord,
  type RouteTable,
  type Route,
  type Peering,
  type VirtualNetwork,
} from "./inventory-record.js";
import { keyOf, nameOf } from "./resource-id.js";

export type { Peering, Route, RouteTable, Subnet, VirtualNetwork } from "./inventory-record.js";

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
 * Builds the inventory one row at a time (through its record, see inventory-record.ts), keeping
 * only what the audit needs, so a large estate can stream through it. The result is the same as
 * if the rows were grouped by type and handled type by type (subscriptions, route tables, routes,
 * VNets, peerings, subnets, gateways, NICs, VMs, scale sets): records whose handling depends on
 * records of a later type wait until `finish`.
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
  private readonly routeTableSubnets: {
    subnet: { key: string; id: string };
    routeTableId: string;
  }[] = [];
  private readonly routes: { tableKey: string; route: Route }[] = [];
  private readonly peerings: { vnetKey: string; peering: Peering }[] = [];
  private readonly subnetRows: SubnetRecord[] = [];
  private readonly subnetsOfNic = new Map<string, string[]>();
  private readonly nicsOfVm = new Map<string, string[]>();
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
    this.addRecord(toRecord(row));
  }

  private addRecord(record: InventoryRecord): void {
    if (this.finished) throw new Error("InventoryBuilder: add after finish");
    this.rowCount += 1;
    const sizeBefore = this.seen.size;
    this.seen.add(record.key);
    if (this.seen.size === sizeBefore) return;
    const inventory = this.inventory;
    switch (record.t) {
      case "subscription":
        inventory.subscriptionNames.set(record.subscriptionKey, record.displayName);
        return;
      case "routeTable":
        inventory.routeTables.set(record.key, record.table);
        for (const subnet of record.subnets)
          this.routeTableSubnets.push({ subnet, routeTableId: record.table.id });
        return;
      case "route":
        this.routes.push(record);
        return;
      case "virtualNetwork":
        // VNet records may be indexed on arrival: what they add depends only on other VNet records
        // (standalone subnet records, which come after VNets in the type order, wait for finish).
        inventory.virtualNetworks.set(record.key, record.vnet);
        for (const s of record.subnets) this.addSubnet(s);
        if (record.gatewayReferenced) inventory.gatewayVirtualNetworks.add(record.key);
        for (const id of record.gatewayIds) this.addGateway(record.key, id);
        return;
      case "peering":
        this.peerings.push(record);
        return;
      case "subnet":
        this.subnetRows.push(record);
        return;
      case "gateway":
        for (const vnetKey of record.vnetKeys) {
          inventory.gatewayVirtualNetworks.add(vnetKey);
          this.addGateway(vnetKey, record.id);
        }
        return;
      case "networkInterface":
        this.subnetsOfNic.set(record.key, record.subnetKeys);
        if (record.vmKey !== null) {
          const nics = this.nicsOfVm.get(record.vmKey);
          if (nics) nics.push(record.key);
          else this.nicsOfVm.set(record.vmKey, [record.key]);
          for (const subnet of record.subnetKeys) {
            const ids = inventory.vmNicsBySubnet.get(subnet);
            if (ids) ids.push(record.id);
            else inventory.vmNicsBySubnet.set(subnet, [record.id]);
          }
        }
        return;
      case "virtualMachine":
        this.vmRows += 1;
        if (record.windows) this.windowsVms.push(record);
        return;
      case "scaleSet":
        this.scaleSetRows += 1;
        for (const s of record.subnetKeys)
          increment(this.scaleSetInstances, s, record.windowsInstances);
        return;
      case "other":
        return;
    }
  }

  /** Resolves what waited for later types and returns the inventory. */
  finish(): Inventory {
    if (this.finished) throw new Error("InventoryBuilder: finish called twice");
    this.finished = true;
    const inventory = this.inventory;
    // Route rows add to their table the routes it does not already name (in any case).
    const routeNames = new Map<RouteTable, Set<string>>();
    for (const { tableKey, route } of this.routes) {
      const table = inventory.routeTables.get(tableKey);
      if (!table) continue;
      table.routesUnreadable = false;
      let names = routeNames.get(table);
      if (!names) routeNames.set(table, (names = new Set(table.routes.map((r) => lower(r.name)))));
      if (names.has(lower(route.name))) continue;
      names.add(lower(route.name));
      table.routes.push(route);
    }
    for (const { vnetKey, peering } of this.peerings) {
      inventory.virtualNetworks.get(vnetKey)?.peerings.push(peering);
    }
    for (const record of this.subnetRows) this.addSubnet(record);
    // Subnets known only from a route table's back-reference (their VNet is not in the inventory).
    for (const { subnet: ref, routeTableId } of this.routeTableSubnets) {
      const subnet = inventory.subnets.get(ref.key);
      if (!subnet)
        this.addSubnet({
          key: ref.key,
          subnet: subnetOf(ref.id, nameOf(ref.id), routeTableId, null),
        });
      else if (subnet.routeTableId === null) subnet.routeTableId = routeTableId;
    }
    this.indexImpact();
    // What only the build needed goes now, before the audit allocates its findings.
    for (const list of [
      this.routeTableSubnets,
      this.routes,
      this.peerings,
      this.subnetRows,
      this.windowsVms,
    ])
      list.length = 0;
    for (const map of [this.seen, this.subnetsOfNic, this.nicsOfVm]) map.clear();
    return inventory;
  }

  private addSubnet({ key, subnet }: SubnetRecord): void {
    const inventory = this.inventory;
    const existing = inventory.subnets.get(key);
    if (existing) {
      existing.routeTableId ??= subnet.routeTableId;
      return;
    }
    if (subnet.location === null) {
      subnet.location =
        inventory.virtualNetworks.get(keyOf(subnet.virtualNetworkId))?.location ?? null;
    }
    inventory.subnets.set(key, subnet);
  }

  private addGateway(vnetKey: string, gatewayId: string): void {
    const ids = this.inventory.gatewaysByVirtualNetwork.get(vnetKey);
    if (!ids) this.inventory.gatewaysByVirtualNetwork.set(vnetKey, [gatewayId]);
    else if (!ids.some((id) => keyOf(id) === keyOf(gatewayId))) ids.push(gatewayId);
  }

  /** NICs, Windows VMs and Windows uniform scale-set instances per subnet, when the rows exist. */
  private indexImpact(): void {
    const inventory = this.inventory;
    if (this.subnetsOfNic.size > 0) {
      const counts = new Map<string, number>();
      for (const subnets of this.subnetsOfNic.values())
        for (const s of subnets) increment(counts, s);
      inventory.nicCountBySubnet = counts;
    }
    if (this.vmRows > 0) {
      const counts = new Map<string, number>();
      // A VM's NICs are those that name it and those it names; its subnets those of its NICs.
      // Nearly every VM has one NIC in one subnet: small arrays, not sets.
      const nics: string[] = [];
      const subnets: string[] = [];
      for (const vm of this.windowsVms) {
        nics.length = 0;
        subnets.length = 0;
        for (const nic of this.nicsOfVm.get(vm.key) ?? []) if (!nics.includes(nic)) nics.push(nic);
        for (const nic of vm.nicKeys) if (!nics.includes(nic)) nics.push(nic);
        for (const nic of nics)
          for (const s of this.subnetsOfNic.get(nic) ?? [])
            if (!subnets.includes(s)) subnets.push(s);
        for (const s of subnets) increment(counts, s);
      }
      inventory.windowsVmCountBySubnet = counts;
    }
    if (this.scaleSetRows > 0) inventory.windowsScaleSetInstancesBySubnet = this.scaleSetInstances;
  }
}

function lower(name: string): string {
  return name.toLowerCase();
}

function increment(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
