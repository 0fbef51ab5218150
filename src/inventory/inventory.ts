import type { ArmRow } from "./arm-row.js";
import {
  fingerprintOf,
  subnetOf,
  toRecord,
  type InventoryRecord,
  type SubnetRecord,
} from "./inventory-record.js";
import type { Impact } from "../model.js";
import type { OsFamily } from "./records/compute.js";
import { Problems } from "./fields.js";
import { keyOf, nameOf } from "./resource-id.js";
import type {
  ApplianceNic,
  HubConnection,
  EffectiveRoutesRead,
  Inventory,
  Peering,
  PrivateIpHolder,
  Problem,
  Route,
  RouteTable,
} from "./types.js";

export type * from "./types.js";

/** Builds the inventory from ARM rows. Duplicate IDs (any case) count once (see InventoryBuilder). */
export function buildInventory(rows: Iterable<ArmRow>): Inventory {
  const builder = new InventoryBuilder();
  for (const row of rows) builder.add(row);
  return builder.finish();
}

/** What the impact counts need of a VM row: its key, family and the NICs it names. */
interface CountedVm {
  key: string;
  family: OsFamily;
  nicKeys: string[];
}

/** What the builder keeps of a NIC beyond its subnets, for NICs that have more (most do not). */
interface NicExtra {
  id: string;
  subnetKey: string | null;
  publicIp: boolean;
  poolKeys: string[];
  nsgId: string | null;
  ipForwarding: boolean | null;
  declaration: string | null;
}

/**
 * Builds the inventory one row at a time (through its record, see inventory-record.ts), keeping
 * only what the audit needs, so a large estate can stream through it. The result is the same as
 * if the rows were grouped by type and handled type by type: records whose handling depends on
 * records of a later type wait until `finish`.
 *
 * Duplicates: rows with one ID (any case) count once. When a later copy says something else than
 * the first (its record's fingerprint differs), the resource is marked conflicting: the audit
 * treats it as unknown, never as whichever copy came first.
 */
export interface InventoryBuilderOptions {
  /** Keep what addFacts needs to resolve next hops that facts read later name (live scans). */
  keepForFacts?: boolean;
}

export class InventoryBuilder {
  constructor(private readonly options: InventoryBuilderOptions = {}) {}

  /** Key → the record kept for it, to compare a duplicate with. */
  private readonly seen = new Map<string, InventoryRecord>();
  private readonly inventory: Inventory = {
    subnets: new Map(),
    routeTables: new Map(),
    virtualNetworks: new Map(),
    gatewayVirtualNetworks: new Set(),
    gatewaysByVirtualNetwork: new Map(),
    gateways: new Map(),
    connectionsByGateway: new Map(),
    localNetworkGateways: new Map(),
    firewalls: new Map(),
    firewallPolicies: new Map(),
    ruleCollectionGroups: new Map(),
    ipGroups: new Map(),
    virtualHubs: new Map(),
    routeServersByVirtualNetwork: new Map(),
    bgpConnectionsByHub: new Map(),
    hubConnectionsByVirtualNetwork: new Map(),
    routingIntents: new Map(),
    natGateways: new Map(),
    publicIpAddresses: new Map(),
    loadBalancers: new Map(),
    networkSecurityGroups: new Map(),
    privateIps: new Map(),
    applianceNics: new Map(),
    nicsBySubnet: new Map(),
    vmNicsBySubnet: new Map(),
    learnedRoutes: new Map(),
    effectiveRoutes: new Map(),
    subscriptionNames: new Map(),
    managementGroupsBySubscription: new Map(),
    policy: {
      assignments: new Map(),
      definitions: new Map(),
      setDefinitions: new Map(),
      exemptions: [],
      rows: 0,
    },
    impactBySubnet: new Map(),
    defaultImpact: NO_IMPACT,
    nicIps: null,
    conflicting: new Set(),
    problems: [],
    errors: [],
  };
  private readonly routeTableSubnets: {
    subnet: { key: string; id: string };
    routeTableId: string;
  }[] = [];
  private readonly routes: { tableKey: string; route: Route; problems: Problem[] }[] = [];
  private readonly peerings: { vnetKey: string; peering: Peering }[] = [];
  private readonly subnetRows: SubnetRecord[] = [];
  private readonly hubConnections: HubConnection[] = [];
  private readonly hubVnets: { hubKey: string; vnetKey: string }[] = [];
  /** Every NIC's subnets (impact, next hops); what some NICs add besides. */
  private readonly subnetsOfNic = new Map<string, string[]>();
  private readonly nicExtras = new Map<string, NicExtra>();
  /** Flat [ip, NIC key, NIC ID, subnet key, "f" (IP forwarding off) or ""] per private IP. */
  private readonly nicIps: (string | null)[] = [];
  private readonly nicsOfVm = new Map<string, string[]>();
  /** NICs that may be appliances: IP forwarding, a declaration, or in a load-balancer pool. */
  private readonly vmDeclarations = new Map<string, string>();
  private readonly effectiveRoutes: { nicKey: string; read: EffectiveRoutesRead }[] = [];
  private vmRows = 0;
  private readonly countedVms: CountedVm[] = [];
  private readonly scaleSetInstances = new Map<string, number>();
  /** Counts Resource Graph aggregated per subnet (null: that subnet's row was malformed). */
  private readonly aggregatedImpact = new Map<string, readonly number[] | null>();
  private aggregatedNics = 0;
  private aggregatedVms = 0;
  private scaleSetRows = 0;
  private rowCount = 0;
  private finished = false;

  /** Rows added, duplicates and unaudited types included. */
  get rows(): number {
    return this.rowCount;
  }

  add(row: ArmRow): void {
    this.addRecord(toRecord(row), row.id);
  }

  private addRecord(record: InventoryRecord, id: string): void {
    if (this.finished) throw new Error("InventoryBuilder: add after finish");
    this.rowCount += 1;
    const first = this.seen.get(record.key);
    if (first !== undefined) {
      this.compareDuplicate(first, record, id);
      return;
    }
    // What a duplicate is compared with: the record, or (NICs) what the builder keeps of it.
    this.seen.set(
      record.key,
      record.t === "other" || record.t === "subscription"
        ? OTHER
        : record.t === "networkInterface"
          ? NIC
          : record,
    );
    const inventory = this.inventory;
    switch (record.t) {
      case "subscription":
        if (record.displayName !== null)
          inventory.subscriptionNames.set(record.subscriptionKey, record.displayName);
        if (record.managementGroups !== null)
          inventory.managementGroupsBySubscription.set(
            record.subscriptionKey,
            record.managementGroups,
          );
        return;
      case "policyAssignment":
        inventory.policy.rows += 1;
        this.report(record.problems);
        if (record.assignment) inventory.policy.assignments.set(record.key, record.assignment);
        return;
      case "policyDefinition":
        inventory.policy.rows += 1;
        inventory.policy.definitions.set(record.key, record.definition);
        return;
      case "policySetDefinition":
        inventory.policy.rows += 1;
        inventory.policy.setDefinitions.set(record.key, record.set);
        return;
      case "policyExemption":
        inventory.policy.rows += 1;
        this.report(record.problems);
        if (record.exemption) inventory.policy.exemptions.push(record.exemption);
        return;
      case "routeTable":
        inventory.routeTables.set(record.key, record.table);
        this.report(record.table.malformed);
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
        this.report(record.problems);
        if (record.subnetsUnreadable) {
          inventory.errors.push({
            code: "RESOURCE_MALFORMED",
            target: record.vnet.id,
            message: `virtual network ${record.vnet.id}: properties.subnets is not a list, so its subnets could not be read`,
          });
        }
        for (const s of record.subnets) this.addSubnet(s);
        if (record.gatewayReferenced) inventory.gatewayVirtualNetworks.add(record.key);
        for (const gatewayId of record.gatewayIds) this.addGateway(record.key, gatewayId);
        for (const hubKey of record.routeServerKeys)
          this.hubVnets.push({ hubKey, vnetKey: record.key });
        return;
      case "peering":
        this.peerings.push({ vnetKey: record.vnetKey, peering: record.peering });
        return;
      case "subnet":
        this.subnetRows.push(record);
        return;
      case "gateway":
        inventory.gateways.set(record.key, record.gateway);
        for (const vnetKey of record.gateway.virtualNetworkKeys) {
          inventory.gatewayVirtualNetworks.add(vnetKey);
          this.addGateway(vnetKey, record.gateway.id);
        }
        return;
      case "connection": {
        const list = inventory.connectionsByGateway.get(record.connection.gatewayKey);
        if (list) list.push(record.connection);
        else inventory.connectionsByGateway.set(record.connection.gatewayKey, [record.connection]);
        return;
      }
      case "localNetworkGateway":
        inventory.localNetworkGateways.set(record.key, record.prefixes);
        return;
      case "firewall":
        inventory.firewalls.set(record.key, record.firewall);
        this.report(record.firewall.malformed);
        for (const ip of record.firewall.privateIpAddresses)
          this.addPrivateIp(ip, {
            kind: "firewall",
            key: record.key,
            virtualNetworkKey: record.firewall.virtualNetworkKey,
            hubKey: record.firewall.virtualHubKey,
          });
        return;
      case "firewallPolicy":
        inventory.firewallPolicies.set(record.key, record.policy);
        this.report(record.policy.malformed);
        return;
      case "ruleCollectionGroup":
        inventory.ruleCollectionGroups.set(record.key, record.group);
        this.report(record.group.malformed);
        return;
      case "ipGroup":
        inventory.ipGroups.set(record.key, record.group);
        this.report(record.group.malformed);
        return;
      case "virtualHub":
        inventory.virtualHubs.set(record.key, record.hub);
        if (record.hub.virtualNetworkKey)
          this.hubVnets.push({ hubKey: record.key, vnetKey: record.hub.virtualNetworkKey });
        this.hubConnections.push(...record.connections);
        return;
      case "hubConnection":
        this.hubConnections.push(record.connection);
        this.report(record.connection.malformed);
        return;
      case "routingIntent":
        inventory.routingIntents.set(record.intent.hubKey, record.intent);
        this.report(record.intent.malformed);
        return;
      case "bgpConnection": {
        const list = inventory.bgpConnectionsByHub.get(record.connection.hubKey);
        if (list) list.push(record.connection);
        else inventory.bgpConnectionsByHub.set(record.connection.hubKey, [record.connection]);
        return;
      }
      case "hubIpConfiguration":
        this.hubVnets.push({ hubKey: record.hubKey, vnetKey: record.vnetKey });
        return;
      case "natGateway":
        inventory.natGateways.set(record.key, record.natGateway);
        return;
      case "publicIp":
        inventory.publicIpAddresses.set(record.key, record.address);
        return;
      case "loadBalancer":
        inventory.loadBalancers.set(record.key, record.loadBalancer);
        for (const f of record.loadBalancer.frontends)
          if (f.privateIpAddress && !f.publicIp)
            this.addPrivateIp(f.privateIpAddress, {
              kind: "loadBalancer",
              key: record.key,
              virtualNetworkKey: f.virtualNetworkKey,
              frontendId: f.id,
            });
        return;
      case "networkSecurityGroup":
        inventory.networkSecurityGroups.set(record.key, record.nsg);
        this.report(record.nsg.malformed);
        return;
      case "networkInterface":
        this.addNic(record);
        return;
      case "virtualMachine":
        this.vmRows += 1;
        if (record.family !== "unknown") this.countedVms.push(record);
        if (record.declaration !== null) this.vmDeclarations.set(record.key, record.declaration);
        return;
      case "scaleSet":
        this.scaleSetRows += 1;
        if (record.family === "windows")
          for (const s of record.subnetKeys) increment(this.scaleSetInstances, s, record.instances);
        return;
      case "virtualNetworkImpact":
        this.report(record.problems);
        if (record.unattributed > 0)
          inventory.errors.push({
            code: "RESOURCE_MALFORMED",
            target: record.key,
            message: `impact counts ${record.key}: ${record.unattributed} entries name no subnet, so the NIC and VM counts of some subnets are unknown`,
          });
        for (const subnet of record.subnets) {
          this.aggregatedImpact.set(subnet.subnetKey, subnet.counts);
          if (subnet.vmNic) this.addVmNic(subnet.subnetKey, subnet.vmNic);
        }
        return;
      case "impactTotals":
        if (record.networkInterfaces === null || record.virtualMachines === null) {
          inventory.errors.push({
            code: "RESOURCE_MALFORMED",
            target: record.key,
            message: `impact totals ${record.key} are not counts: whether the estate has NICs and VMs is unknown`,
          });
          return;
        }
        this.aggregatedNics += record.networkInterfaces;
        this.aggregatedVms += record.virtualMachines;
        return;
      case "learnedRoutes":
        inventory.learnedRoutes.set(record.ownerKey, record.read);
        return;
      case "effectiveRoutes":
        this.effectiveRoutes.push(record);
        return;
      case "other":
        return;
    }
  }

  private report(problems: readonly Problem[]): void {
    for (const p of problems) this.inventory.problems.push(p);
  }

  private compareDuplicate(first: InventoryRecord, again: InventoryRecord, id: string): void {
    if (first === OTHER || again.t === "other" || this.inventory.conflicting.has(again.key)) return;
    if (first === NIC) {
      if (again.t !== "networkInterface" || this.sameNic(again)) return;
    } else if (fingerprintOf(first) === fingerprintOf(again)) return;
    this.inventory.conflicting.add(again.key);
    this.inventory.problems.push({
      resourceId: id,
      field: "(row)",
      issue:
        "appears more than once with different contents; what depends on it is unknown (not first-wins)",
    });
  }

  private addNic(record: InventoryRecord & { t: "networkInterface" }): void {
    this.subnetsOfNic.set(record.key, record.subnetKeys);
    const forwardingOff = record.ipForwarding === false ? "f" : "";
    if (record.ip)
      this.nicIps.push(record.ip, record.key, record.id, record.subnetKey, forwardingOff);
    for (const [ip, subnetKey] of record.moreIps ?? [])
      this.nicIps.push(ip, record.key, record.id, subnetKey, forwardingOff);
    if (
      record.publicIp ||
      record.poolKeys.length > 0 ||
      record.nsgId !== null ||
      record.ipForwarding === true ||
      record.declaration !== null
    )
      this.nicExtras.set(record.key, {
        id: record.id,
        subnetKey: record.subnetKey,
        publicIp: record.publicIp,
        poolKeys: record.poolKeys,
        nsgId: record.nsgId,
        ipForwarding: record.ipForwarding,
        declaration: record.declaration,
      });
    if (record.vmKey !== null) {
      const nics = this.nicsOfVm.get(record.vmKey);
      if (nics) nics.push(record.key);
      else this.nicsOfVm.set(record.vmKey, [record.key]);
      for (const subnet of record.subnetKeys) this.addVmNic(subnet, record.id);
    }
  }

  /** Whether a duplicate NIC row says what the first said (its subnets, and what it adds). */
  private sameNic(again: InventoryRecord & { t: "networkInterface" }): boolean {
    const subnets = this.subnetsOfNic.get(again.key) ?? [];
    const extra = this.nicExtras.get(again.key);
    return (
      subnets.join() === again.subnetKeys.join() &&
      (extra?.publicIp ?? false) === again.publicIp &&
      (extra?.nsgId?.toLowerCase() ?? null) === (again.nsgId?.toLowerCase() ?? null) &&
      (extra?.poolKeys ?? []).join() === again.poolKeys.join() &&
      (extra ? extra.ipForwarding === again.ipForwarding : again.ipForwarding !== true)
    );
  }

  /** One VM NIC per subnet stands for it (the lowest ID, whatever the row order). */
  private addVmNic(subnetKey: string, nicId: string): void {
    const vmNics = this.inventory.vmNicsBySubnet;
    const known = vmNics.get(subnetKey);
    if (known === undefined || keyOf(nicId) < keyOf(known)) vmNics.set(subnetKey, nicId);
  }

  private addPrivateIp(ip: string, holder: PrivateIpHolder): void {
    const list = this.inventory.privateIps.get(ip);
    if (!list) this.inventory.privateIps.set(ip, [holder]);
    else if (!list.some((h) => h.key === holder.key)) list.push(holder);
  }

  /** Resolves what waited for later types and returns the inventory. */
  finish(): Inventory {
    if (this.finished) throw new Error("InventoryBuilder: finish called twice");
    this.finished = true;
    const inventory = this.inventory;
    // Route rows add to their table the routes it does not already name (in any case).
    const routeNames = new Map<RouteTable, Set<string>>();
    for (const { tableKey, route, problems } of this.routes) {
      const table = inventory.routeTables.get(tableKey);
      if (!table) continue;
      table.routesUnreadable = false;
      let names = routeNames.get(table);
      if (!names) routeNames.set(table, (names = new Set(table.routes.map((r) => lower(r.name)))));
      if (names.has(lower(route.name))) continue;
      names.add(lower(route.name));
      table.routes.push(route);
      if (problems.length > 0) {
        table.malformed = [...table.malformed, ...problems];
        this.report(problems);
      }
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
          subnet: {
            ...subnetOf(ref.id, nameOf(ref.id), {}, null, new Problems(ref.id), "properties"),
            unread: true,
          },
        });
      const added = inventory.subnets.get(ref.key)!;
      if (added.routeTableId === null) added.routeTableId = routeTableId;
    }
    this.indexHubs();
    // A NIC's effective routes stand for its subnet.
    for (const { nicKey, read } of this.effectiveRoutes) {
      const subnetKey = this.subnetsOfNic.get(nicKey)?.[0];
      if (subnetKey && !inventory.effectiveRoutes.has(subnetKey))
        inventory.effectiveRoutes.set(subnetKey, read);
    }
    this.indexNics();
    this.indexImpact();
    if (this.options.keepForFacts) {
      inventory.nicIps = this.nicIps.slice();
      this.keptAppliances = new Map(this.appliances);
      this.keptExtras = new Map(this.nicExtras);
    }
    // What only the build needed goes now, before the audit allocates its findings.
    for (const list of [
      this.routeTableSubnets,
      this.routes,
      this.peerings,
      this.subnetRows,
      this.countedVms,
      this.hubConnections,
      this.hubVnets,
      this.effectiveRoutes,
    ])
      list.length = 0;
    for (const map of [
      this.seen,
      this.subnetsOfNic,
      this.nicExtras,
      this.nicsOfVm,
      this.appliances,
      this.vmDeclarations,
    ])
      map.clear();
    return inventory;
  }

  private addSubnet({ key, subnet }: SubnetRecord): void {
    const inventory = this.inventory;
    const existing = inventory.subnets.get(key);
    if (existing) {
      // The VNet row and a subnet row (or a second export) describe one subnet: they must agree.
      for (const field of ["routeTableId", "networkSecurityGroupId", "natGatewayId"] as const) {
        const a = existing[field];
        const b = subnet[field];
        if (a !== null && b !== null && keyOf(a) !== keyOf(b) && !inventory.conflicting.has(key)) {
          inventory.conflicting.add(key);
          this.report([
            {
              resourceId: subnet.id,
              field,
              issue: `is ${b} in one row and ${a} in another; the subnet's verdict is unknown`,
            },
          ]);
        }
        if (a === null) existing[field] = b;
      }
      existing.addressPrefix ??= subnet.addressPrefix;
      existing.addressPrefixes ??= subnet.addressPrefixes;
      existing.defaultOutboundAccess ??= subnet.defaultOutboundAccess;
      existing.listedNics ??= subnet.listedNics;
      return;
    }
    if (subnet.location === null) {
      subnet.location =
        inventory.virtualNetworks.get(keyOf(subnet.virtualNetworkId))?.location ?? null;
    }
    inventory.subnets.set(key, subnet);
    this.report(subnet.malformed);
  }

  private addGateway(vnetKey: string, gatewayId: string): void {
    const ids = this.inventory.gatewaysByVirtualNetwork.get(vnetKey);
    if (!ids) this.inventory.gatewaysByVirtualNetwork.set(vnetKey, [gatewayId]);
    else if (!ids.some((id) => keyOf(id) === keyOf(gatewayId))) ids.push(gatewayId);
  }

  /** Route Servers per VNet; hub connections per spoke VNet. */
  private indexHubs(): void {
    const inventory = this.inventory;
    for (const { hubKey, vnetKey } of this.hubVnets) {
      const hub = inventory.virtualHubs.get(hubKey);
      if (hub && hub.kind !== "routeServer") continue;
      if (hub) hub.virtualNetworkKey ??= vnetKey;
      const list = inventory.routeServersByVirtualNetwork.get(vnetKey);
      if (!list) inventory.routeServersByVirtualNetwork.set(vnetKey, [hubKey]);
      else if (!list.includes(hubKey)) list.push(hubKey);
    }
    const seen = new Set<string>();
    for (const connection of this.hubConnections) {
      const key = keyOf(connection.id);
      if (seen.has(key) || connection.remoteVirtualNetworkKey === null) continue;
      seen.add(key);
      const list = inventory.hubConnectionsByVirtualNetwork.get(connection.remoteVirtualNetworkKey);
      if (list) list.push(connection);
      else
        inventory.hubConnectionsByVirtualNetwork.set(connection.remoteVirtualNetworkKey, [
          connection,
        ]);
    }
  }

  /**
   * NIC facts per subnet (outbound methods, NSGs), and the NICs that a route, a Route Server peer
   * or a load balancer names as a next hop, indexed by private IP.
   */
  private indexNics(): void {
    const inventory = this.inventory;
    if (this.subnetsOfNic.size === 0) return;
    const outboundPools = new Set<string>();
    const knownPools = new Set<string>();
    for (const lb of inventory.loadBalancers.values()) {
      for (const pool of lb.backendNics.keys()) knownPools.add(pool);
      for (const pool of lb.outboundPools) outboundPools.add(pool);
    }
    const add = (nicKey: string, nic: NicExtra | undefined, conflicting: boolean) => {
      const inOutbound = nic !== undefined && nic.poolKeys.some((p) => outboundPools.has(p));
      const poolUnknown =
        nic !== undefined && !inOutbound && nic.poolKeys.some((p) => !knownPools.has(p));
      if (!nic?.publicIp && !inOutbound && !poolUnknown && !conflicting && !nic?.nsgId) return;
      for (const s of this.subnetsOfNic.get(nicKey) ?? []) {
        let entry = inventory.nicsBySubnet.get(s);
        if (!entry) {
          entry = { withPublicIp: 0, withOutboundRule: 0, outboundUnknown: 0, nsgIds: [] };
          inventory.nicsBySubnet.set(s, entry);
        }
        if (nic?.publicIp) entry.withPublicIp += 1;
        if (inOutbound) entry.withOutboundRule += 1;
        if (poolUnknown || conflicting) entry.outboundUnknown += 1;
        const nsgId = nic?.nsgId;
        if (nsgId && !entry.nsgIds.some((id) => keyOf(id) === keyOf(nsgId)))
          entry.nsgIds.push(nsgId);
      }
    };
    for (const [nicKey, nic] of this.nicExtras) add(nicKey, nic, inventory.conflicting.has(nicKey));
    for (const key of inventory.conflicting)
      if (!this.nicExtras.has(key) && this.subnetsOfNic.has(key)) add(key, undefined, true);
    // Next-hop IPs: routes, Route Server peers and learned routes name them.
    const wanted = new Set<string>();
    for (const table of inventory.routeTables.values())
      for (const route of table.routes)
        if (route.nextHopIpAddress) wanted.add(route.nextHopIpAddress.trim());
    for (const list of inventory.bgpConnectionsByHub.values())
      for (const c of list) if (c.peerIp) wanted.add(c.peerIp);
    for (const read of inventory.learnedRoutes.values())
      if (read.ok) for (const r of read.routes) if (r.nextHop) wanted.add(r.nextHop);
    const ips = this.nicIps;
    for (let i = 0; i < ips.length; i += 5) {
      const ip = ips[i]!;
      if (!wanted.has(ip)) continue;
      const nicKey = ips[i + 1]!;
      const subnetKey = ips[i + 3];
      const nic = this.applianceNicOf(nicKey, ips[i + 2]!, subnetKey ?? null, ips[i + 4] === "f");
      this.addPrivateIp(ip, {
        kind: "nic",
        key: nicKey,
        virtualNetworkKey: subnetKey ? vnetKeyOfSubnet(subnetKey) : nic.virtualNetworkKey,
        nic,
      });
    }
    // The NIC side names its pools authoritatively (backendIPConfigurations is read-only and often
    // missing from exports): add each NIC to its pools, and keep the backends for the audit
    // (appliances behind an internal load balancer).
    const pools = new Map<string, string[]>();
    for (const lb of inventory.loadBalancers.values())
      for (const [pool, nics] of lb.backendNics) pools.set(pool, nics);
    for (const [nicKey, nic] of this.nicExtras)
      for (const pool of nic.poolKeys) {
        const nics = pools.get(pool);
        if (nics && !nics.includes(nicKey)) nics.push(nicKey);
      }
    for (const lb of inventory.loadBalancers.values())
      for (const nics of lb.backendNics.values())
        for (const nicKey of nics) {
          const extra = this.nicExtras.get(nicKey);
          const subnets = this.subnetsOfNic.get(nicKey);
          if (!extra && !subnets) continue;
          inventory.applianceNics.set(
            nicKey,
            this.applianceNicOf(
              nicKey,
              extra?.id ?? nicKey,
              extra?.subnetKey ?? subnets?.[0] ?? null,
              false,
            ),
          );
        }
    // VM tags declare the appliance too (on its NICs).
    for (const [vmKey, declaration] of this.vmDeclarations)
      for (const nicKey of this.nicsOfVm.get(vmKey) ?? []) {
        const nic = this.appliances.get(nicKey);
        if (nic && nic.declaration === null) {
          nic.declaration = declaration;
          nic.declaredOn = vmKey;
        }
      }
  }

  private keptAppliances: Map<string, ApplianceNic> | null = null;
  private keptExtras: Map<string, NicExtra> | null = null;

  /**
   * Rows the facts stage read after the inventory was built (live): learned and effective routes,
   * hub connections, routing intents, Route Server peers, firewall policies and rule collection
   * groups. Next hops they name are resolved against the NICs read at build time.
   */
  addFacts(rows: Iterable<ArmRow>): void {
    const inventory = this.inventory;
    const wanted = new Set<string>();
    for (const row of rows) {
      const record = toRecord(row);
      switch (record.t) {
        case "learnedRoutes":
          inventory.learnedRoutes.set(record.ownerKey, record.read);
          if (record.read.ok)
            for (const r of record.read.routes) if (r.nextHop) wanted.add(r.nextHop);
          break;
        case "hubConnection": {
          const c = record.connection;
          if (!c.remoteVirtualNetworkKey) break;
          const list =
            inventory.hubConnectionsByVirtualNetwork.get(c.remoteVirtualNetworkKey) ?? [];
          if (!list.some((x) => keyOf(x.id) === keyOf(c.id))) list.push(c);
          inventory.hubConnectionsByVirtualNetwork.set(c.remoteVirtualNetworkKey, list);
          this.report(c.malformed);
          break;
        }
        case "routingIntent":
          inventory.routingIntents.set(record.intent.hubKey, record.intent);
          this.report(record.intent.malformed);
          break;
        case "bgpConnection": {
          const list = inventory.bgpConnectionsByHub.get(record.connection.hubKey) ?? [];
          if (!list.some((x) => keyOf(x.id) === record.key)) list.push(record.connection);
          inventory.bgpConnectionsByHub.set(record.connection.hubKey, list);
          if (record.connection.peerIp) wanted.add(record.connection.peerIp);
          break;
        }
        case "ruleCollectionGroup":
          inventory.ruleCollectionGroups.set(record.key, record.group);
          this.report(record.group.malformed);
          break;
        case "firewallPolicy":
          inventory.firewallPolicies.set(record.key, record.policy);
          this.report(record.policy.malformed);
          break;
        default:
          throw new Error(`addFacts: ${row.type} is not a fact`);
      }
    }
    const ips = inventory.nicIps;
    if (!ips || wanted.size === 0) return;
    if (this.keptAppliances) for (const [k, v] of this.keptAppliances) this.appliances.set(k, v);
    if (this.keptExtras) for (const [k, v] of this.keptExtras) this.nicExtras.set(k, v);
    for (let i = 0; i < ips.length; i += 5) {
      const ip = ips[i]!;
      if (!wanted.has(ip)) continue;
      const nicKey = ips[i + 1]!;
      const subnetKey = ips[i + 3] ?? null;
      const nic = this.applianceNicOf(nicKey, ips[i + 2]!, subnetKey, ips[i + 4] === "f");
      this.addPrivateIp(ip, {
        kind: "nic",
        key: nicKey,
        virtualNetworkKey: subnetKey ? vnetKeyOfSubnet(subnetKey) : nic.virtualNetworkKey,
        nic,
      });
    }
  }

  /** One appliance view per NIC (next hops, load-balancer backends), shared by every index. */
  private readonly appliances = new Map<string, ApplianceNic>();
  private applianceNicOf(
    nicKey: string,
    id: string,
    subnetKey: string | null,
    forwardingOff: boolean,
  ): ApplianceNic {
    let nic = this.appliances.get(nicKey);
    if (nic) return nic;
    const extra = this.nicExtras.get(nicKey);
    const subnet = extra?.subnetKey ?? subnetKey;
    nic = {
      id: extra?.id ?? id,
      key: nicKey,
      subnetKey: subnet,
      virtualNetworkKey: subnet ? vnetKeyOfSubnet(subnet) : null,
      ipForwarding: extra ? extra.ipForwarding : forwardingOff ? false : null,
      publicIp: extra?.publicIp ?? false,
      declaration: extra?.declaration ?? null,
      declaredOn: extra?.declaration != null ? (extra?.id ?? id) : null,
    };
    this.appliances.set(nicKey, nic);
    return nic;
  }

  /**
   * The impact counts per subnet: NICs, VMs per OS family, Windows uniform scale-set instances.
   * A count is null when the inventory has no rows of its type. Subnets share one Impact object
   * per distinct set of counts (most have none).
   */
  private indexImpact(): void {
    const inventory = this.inventory;
    // Counts Resource Graph aggregated stand for the subnet's rows (the NIC and VM rows read beside
    // them are a subset, read for what they add to paths).
    const hasNics = this.subnetsOfNic.size > 0 || this.aggregatedNics > 0;
    const hasVms = this.vmRows > 0 || this.aggregatedVms > 0;
    const hasScaleSets = this.scaleSetRows > 0;
    // [NICs, Windows VMs, Windows scale-set instances, Linux VMs, RHEL PAYG VMs, SLES PAYG VMs]
    const counts = new Map<string, number[]>();
    const row = (s: string) => {
      let r = counts.get(s);
      if (!r) counts.set(s, (r = [0, 0, 0, 0, 0, 0]));
      return r;
    };
    for (const subnets of this.subnetsOfNic.values()) for (const s of subnets) row(s)[0]! += 1;
    // A VM's NICs are those that name it and those it names; its subnets those of its NICs.
    // Nearly every VM has one NIC in one subnet: small arrays, not sets.
    const nics: string[] = [];
    const subnets: string[] = [];
    const column = { windows: 1, linux: 3, rhelPayGo: 4, slesPayGo: 5 } as const;
    for (const vm of this.countedVms) {
      if (vm.family === "unknown") continue;
      nics.length = 0;
      subnets.length = 0;
      for (const nic of this.nicsOfVm.get(vm.key) ?? []) if (!nics.includes(nic)) nics.push(nic);
      for (const nic of vm.nicKeys) if (!nics.includes(nic)) nics.push(nic);
      for (const nic of nics)
        for (const s of this.subnetsOfNic.get(nic) ?? []) if (!subnets.includes(s)) subnets.push(s);
      for (const s of subnets) {
        const r = row(s);
        r[column[vm.family]]! += 1;
        // RHEL and SLES are Linux too.
        if (vm.family === "rhelPayGo" || vm.family === "slesPayGo") r[3]! += 1;
      }
    }
    for (const [s, instances] of this.scaleSetInstances) row(s)[2]! += instances;
    const unknown = new Set<string>();
    for (const [s, aggregated] of this.aggregatedImpact) {
      const r = row(s);
      if (aggregated === null) {
        unknown.add(s);
        continue;
      }
      [r[0], r[1], r[3], r[4], r[5]] = aggregated as [number, number, number, number, number];
    }
    const trie = new Map<unknown, unknown>();
    const intern = (r: readonly number[]): Impact => {
      const values = [
        hasNics ? r[0]! : null,
        hasVms ? r[1]! : null,
        hasScaleSets ? r[2]! : null,
        hasVms ? r[3]! : null,
        hasVms ? r[4]! : null,
        hasVms ? r[5]! : null,
      ];
      let node = trie;
      for (let i = 0; i < values.length - 1; i++) {
        let next = node.get(values[i]) as Map<unknown, unknown> | undefined;
        if (!next) node.set(values[i], (next = new Map()));
        node = next;
      }
      let impact = node.get(values[5]) as Impact | undefined;
      if (!impact) {
        impact = {
          networkInterfaces: values[0]!,
          windowsVirtualMachines: values[1]!,
          windowsScaleSetInstances: values[2]!,
          linuxVirtualMachines: values[3]!,
          rhelPayAsYouGoVirtualMachines: values[4]!,
          slesPayAsYouGoVirtualMachines: values[5]!,
        };
        node.set(values[5], impact);
      }
      return impact;
    };
    inventory.defaultImpact = intern([0, 0, 0, 0, 0, 0]);
    for (const [s, r] of counts)
      inventory.impactBySubnet.set(s, unknown.has(s) ? NO_IMPACT : intern(r));
  }
}

const NO_IMPACT: Impact = {
  networkInterfaces: null,
  windowsVirtualMachines: null,
  windowsScaleSetInstances: null,
  linuxVirtualMachines: null,
  rhelPayAsYouGoVirtualMachines: null,
  slesPayAsYouGoVirtualMachines: null,
};

/** A sentinel for rows of types the audit ignores: duplicates of them are never compared. */
const OTHER: InventoryRecord = { t: "other", key: "" };
/** A sentinel for NICs: a duplicate is compared with what the builder keeps of the first. */
const NIC: InventoryRecord = { t: "other", key: "nic" };

function vnetKeyOfSubnet(subnetKey: string): string {
  const at = subnetKey.lastIndexOf("/subnets/");
  return at > 0 ? subnetKey.slice(0, at) : subnetKey;
}

function lower(name: string): string {
  return name.toLowerCase();
}

function increment(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
