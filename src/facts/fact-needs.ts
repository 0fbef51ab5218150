import { isPlatformSubnet } from "../audit/not-applicable.js";
import { learnedRoutesOf } from "../audit/path/learned-routes.js";
import type { ArmRow } from "../inventory/arm-row.js";
import { keyOf } from "../inventory/resource-id.js";
import type { Inventory } from "../inventory/types.js";
import type { Logger } from "../logging/logger.js";
import type { Finding, RunError } from "../model.js";

/**
 * What the facts stage needs to know, pure: which facts could change a verdict, and which of those
 * that could not be read the run must report as errors (src/facts/facts-stage.ts reads them).
 */

export interface FactsContext {
  logger: Logger;
  signal?: AbortSignal;
  /** The pure audit, to find the subnets still in doubt. */
  audit(inventory: Inventory): Finding[];
  /** Adds rows the stage read (InventoryBuilder.addFacts). */
  addFacts(rows: ArmRow[]): void;
}

/** A fact the stage tried to read and could not (or left out for its budget). */
export interface FactFailure {
  code: string;
  target: string;
  message: string;
  /** Which verdicts could depend on it, for factErrors. */
  kind: "learned" | "list" | "effective";
}

export type FactsStage = (inventory: Inventory, context: FactsContext) => Promise<FactFailure[]>;

/** The lists Resource Graph does not hold, for the hubs and policies in the inventory. */
export function listsToRead(inventory: Inventory): {
  id: string;
  list:
    "hubVirtualNetworkConnections" | "routingIntent" | "bgpConnections" | "ruleCollectionGroups";
}[] {
  const out: ReturnType<typeof listsToRead> = [];
  const connectedHubs = new Set<string>();
  for (const list of inventory.hubConnectionsByVirtualNetwork.values())
    for (const c of list) connectedHubs.add(c.hubKey);
  for (const [key, hub] of inventory.virtualHubs) {
    if (hub.kind === "virtualWan") {
      if (!connectedHubs.has(key)) out.push({ id: hub.id, list: "hubVirtualNetworkConnections" });
      if (!inventory.routingIntents.has(key)) out.push({ id: hub.id, list: "routingIntent" });
    } else if (!inventory.bgpConnectionsByHub.has(key))
      out.push({ id: hub.id, list: "bgpConnections" });
  }
  const policies = new Map<string, string>();
  for (const fw of inventory.firewalls.values())
    for (let key = fw.policyKey, id = fw.policyId; key && id && !policies.has(key);) {
      const policy = inventory.firewallPolicies.get(key);
      const missing =
        !policy ||
        policy.ruleCollectionGroupKeys.some((g) => !inventory.ruleCollectionGroups.has(g));
      if (missing) policies.set(key, id);
      else policies.set(key, "");
      id = policy?.basePolicyId ?? null;
      key = policy?.basePolicyKey ?? null;
    }
  for (const id of policies.values()) if (id) out.push({ id, list: "ruleCollectionGroups" });
  return out;
}

/**
 * The learned-route sources the subnets in doubt depend on (their VNets', and those of the
 * firewalls on their paths): each once, in a stable order.
 */
export function learnedSourcesInDoubt(
  inventory: Inventory,
  findings: readonly Finding[],
): { gateways: string[]; peers: string[]; connections: string[] } {
  const vnets = new Set<string>();
  for (const f of findings) {
    if (f.status !== "Unverified") continue;
    vnets.add(keyOf(f.virtualNetworkId));
    for (const e of f.endpoints)
      for (const hop of e.path)
        if (hop.kind === "AzureFirewall" && hop.resourceId) {
          const vnet = inventory.firewalls.get(keyOf(hop.resourceId))?.virtualNetworkKey;
          if (vnet) vnets.add(vnet);
        }
  }
  const gateways = new Map<string, string>();
  const peers = new Map<string, string>();
  const connections = new Map<string, string>();
  for (const vnet of vnets)
    for (const u of learnedRoutesOf(inventory, vnet).unknown) {
      if (!u.resourceId) continue;
      const k = keyOf(u.resourceId);
      if (k.includes("/virtualnetworkgateways/")) gateways.set(k, u.resourceId);
      else if (k.includes("/bgpconnections/")) peers.set(k, u.resourceId);
      else if (k.includes("/hubvirtualnetworkconnections/")) connections.set(k, u.resourceId);
    }
  const sorted = (m: Map<string, string>) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, id]) => id);
  return { gateways: sorted(gateways), peers: sorted(peers), connections: sorted(connections) };
}

/**
 * The facts that could not be read, as the run reports them: an error (the run is incomplete)
 * where a subnet's verdict is still in doubt because of it, a warning otherwise.
 */
export function factErrors(
  failures: readonly FactFailure[],
  inventory: Inventory,
  findings: readonly Finding[],
): { errors: RunError[]; warnings: RunError[] } {
  if (failures.length === 0) return { errors: [], warnings: [] };
  const depended = new Set<string>();
  const doubtful = findings.filter((f) => f.status === "Unverified");
  const sources = learnedSourcesInDoubt(inventory, doubtful);
  for (const id of [...sources.gateways, ...sources.peers, ...sources.connections])
    depended.add(keyOf(id));
  for (const f of doubtful) {
    const read = inventory.effectiveRoutes.get(keyOf(f.subnetId));
    if (read && !read.ok) depended.add(keyOf(read.networkInterfaceId));
  }
  const listsMatter = doubtful.some((f) =>
    f.reasons.some(
      (r) =>
        r.startsWith("VIRTUAL_HUB_") ||
        r.startsWith("ROUTE_SERVER_") ||
        r === "FIREWALL_RULES_UNKNOWN",
    ),
  );
  const errors: RunError[] = [];
  const warnings: RunError[] = [];
  for (const f of failures) {
    const matters = f.kind === "list" ? listsMatter : depended.has(keyOf(f.target));
    const entry = { code: f.code, target: f.target, message: f.message };
    if (matters) errors.push(entry);
    else warnings.push({ ...entry, message: `${f.message} (no verdict depends on it)` });
  }
  return { errors, warnings };
}

/**
 * The gateways whose learned routes can change a verdict: those of every VNet with a subnet that
 * can host VMs and learns routes (its route table does not disable propagation), directly or
 * through a useRemoteGateways peering. Each once (first spelling), sorted.
 */
export function gatewaysToRead(inventory: Inventory): string[] {
  const byKey = new Map<string, string>();
  const vnets = new Set<string>();
  for (const subnet of inventory.subnets.values()) {
    if (isPlatformSubnet(subnet.name) && subnet.name.toLowerCase() !== "azurefirewallsubnet")
      continue;
    const table = subnet.routeTableId
      ? inventory.routeTables.get(keyOf(subnet.routeTableId))
      : undefined;
    if (table?.disableBgpRoutePropagation) continue;
    vnets.add(keyOf(subnet.virtualNetworkId));
  }
  const add = (vnetKey: string) => {
    for (const id of inventory.gatewaysByVirtualNetwork.get(vnetKey) ?? [])
      if (!byKey.has(keyOf(id))) byKey.set(keyOf(id), id);
  };
  for (const vnetKey of vnets) {
    add(vnetKey);
    for (const p of inventory.virtualNetworks.get(vnetKey)?.peerings ?? [])
      if (p.useRemoteGateways && p.remoteVirtualNetworkKey) add(p.remoteVirtualNetworkKey);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, id]) => id);
}

/** The NIC whose effective routes stand for a subnet: the first VM-attached one, by ID. */
export function networkInterfaceFor(inventory: Inventory, subnetId: string): string | null {
  return inventory.vmNicsBySubnet.get(keyOf(subnetId)) ?? null;
}
