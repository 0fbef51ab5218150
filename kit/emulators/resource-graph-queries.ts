import { createHash } from "node:crypto";
import type { ArmRow } from "../../src/inventory/arm-row.js";

/**
 * What Resource Graph answers to the query shapes beyond "rows of these types": the emulator's
 * reading of their KQL, written from the KQL documentation (mv-expand with its row limit,
 * `contains` case-insensitive on the JSON text of a dynamic value, `summarize` over an inner or
 * left-outer `join`), not from the source's code.
 */

export type QueryShape =
  | { kind: "rows"; nicRowsNeeded: boolean; taggedVms: string | null }
  | { kind: "nextHopNics" }
  | { kind: "impactTotals" }
  | { kind: "impactPartition"; partition: number; partitions: number };

const NIC = "microsoft.network/networkinterfaces";
const VM = "microsoft.compute/virtualmachines";
const ROUTE_TABLE = "microsoft.network/routetables";
const BGP_CONNECTION = "microsoft.network/virtualhubs/bgpconnections";
/** mv-expand's row limit in these queries (`limit 400`, the most Resource Graph allows). */
const EXPAND_LIMIT = 400;

/**
 * Resource Graph's documented per-query limits (concepts/query-language: at most 3 `join`, 2
 * `mv-expand`, 3 `union` legs; no custom join strategies): a query past them is refused (400).
 */
export function limitProblem(query: string): string | null {
  const count = (re: RegExp) => query.match(re)?.length ?? 0;
  if (count(/\bjoin\b/g) > 3) return "more than 3 join operators";
  if (count(/\bmv-expand\b/g) > 2) return "more than 2 mv-expand operators";
  if (count(/\bunion\b/g) > 2) return "more than 3 union legs";
  if (/\bhint\.strategy\b/.test(query)) return "custom join strategies are not allowed";
  const limit = /\bmv-expand\b[^|]*\blimit\s+(\d+)/.exec(query);
  if (limit && Number(limit[1]) > 400) return "mv-expand limit above 400";
  return null;
}

export function shapeOf(query: string): QueryShape {
  const partition = /\bhash\(\s*virtualNetworkId\s*,\s*(\d+)\s*\)\s*==\s*(\d+)/.exec(query);
  if (partition)
    return {
      kind: "impactPartition",
      partitions: Number(partition[1]),
      partition: Number(partition[2]),
    };
  if (/\|\s*summarize\s+networkInterfaces\s*=\s*countif/.test(query))
    return { kind: "impactTotals" };
  if (/nextHopIpAddress/.test(query) && /\bjoin\b/.test(query)) return { kind: "nextHopNics" };
  const nicRowsNeeded = new RegExp(`or \\(type =~ '${NIC}'\\s+and`).test(query);
  const tagged = new RegExp(`type =~ '${VM}' and tostring\\(tags\\) contains '([^']+)'`).exec(
    query,
  );
  return { kind: "rows", nicRowsNeeded, taggedVms: tagged?.[1] ?? null };
}

function bagOf(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
/** KQL tostring() of a dynamic value: strings as they are, null as "", the rest as JSON. */
function kqlString(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
function contains(haystack: string, needle: string): boolean {
  return haystack.toLowerCase().includes(needle.toLowerCase());
}
function isNotEmpty(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

/** The NIC row condition of the live source's resources query, evaluated for one NIC row. */
export function nicRowNeeded(row: ArmRow): boolean {
  const props = bagOf(row.properties);
  const configs = kqlString(props.ipConfigurations);
  return (
    isNotEmpty(props.networkSecurityGroup) ||
    kqlString(props.enableIPForwarding).toLowerCase() !== "false" ||
    contains(configs, "publicIPAddress") ||
    contains(configs, "loadBalancerBackendAddressPools") ||
    contains(kqlString(row.tags), "kms-route-audit-egress")
  );
}

export function vmTagged(row: ArmRow, tag: string): boolean {
  return contains(kqlString(row.tags), tag);
}

/** NICs holding a private IP that a route or a Route Server peer names as next hop. */
export function nextHopNics(rows: readonly ArmRow[]): ArmRow[] {
  const ips = new Set<string>();
  for (const r of rows) {
    if (r.type === ROUTE_TABLE)
      for (const route of listOf(bagOf(r.properties).routes).slice(0, EXPAND_LIMIT)) {
        const ip = kqlString(bagOf(bagOf(route).properties).nextHopIpAddress);
        if (ip) ips.add(ip);
      }
    if (r.type === BGP_CONNECTION) {
      const ip = kqlString(bagOf(r.properties).peerIp);
      if (ip) ips.add(ip);
    }
  }
  return rows.filter(
    (r) =>
      r.type === NIC &&
      listOf(bagOf(r.properties).ipConfigurations)
        .slice(0, EXPAND_LIMIT)
        .some((c) => ips.has(kqlString(bagOf(bagOf(c).properties).privateIPAddress))),
  );
}

export function impactTotals(rows: readonly ArmRow[], vnetsScale = 1): Record<string, unknown> {
  let networkInterfaces = 0;
  let virtualMachines = 0;
  let mostIpConfigurations: number | null = null;
  const vnets = new Set<string>();
  for (const r of rows) {
    if (r.type === VM) virtualMachines += 1;
    if (r.type !== NIC) continue;
    networkInterfaces += 1;
    const configs = bagOf(r.properties).ipConfigurations;
    const length = Array.isArray(configs) ? configs.length : null;
    if (length !== null) mostIpConfigurations = Math.max(mostIpConfigurations ?? 0, length);
    const first = kqlString(bagOf(bagOf(bagOf(listOf(configs)[0]).properties).subnet).id);
    if (first) vnets.add(vnetOf(first.toLowerCase()));
  }
  return {
    id: "kms-route-audit/impacttotals",
    type: "kms-route-audit/impacttotals",
    networkInterfaces,
    virtualMachines,
    // dcountif is an estimate; `vnetsScale` lets a test make it a bad one.
    virtualNetworks: Math.round(vnets.size * vnetsScale),
    mostIpConfigurations,
  };
}

/** KQL substring(s, 0, indexof(s, '/subnets/')): indexof -1 gives substring(s, 0, -1), "" here. */
function vnetOf(subnetId: string): string {
  const at = subnetId.indexOf("/subnets/");
  return at < 0 ? "" : subnetId.slice(0, at);
}

/** hash(virtualNetworkId, partitions): any stable hash does, if every partition query agrees. */
export function partitionOf(virtualNetworkId: string, partitions: number): number {
  return createHash("sha256").update(virtualNetworkId).digest().readUInt32BE(0) % partitions;
}

type Family = "windows" | "rhelPayGo" | "slesPayGo" | "linux" | "unknown";

/** The query's `case()` over a VM row. */
function familyOf(row: ArmRow): Family {
  const props = bagOf(row.properties);
  const storage = bagOf(props.storageProfile);
  const image = bagOf(storage.imageReference);
  const osTypeValue = bagOf(storage.osDisk).osType;
  const osType =
    typeof osTypeValue === "string" && osTypeValue.trim() !== "" ? osTypeValue.toLowerCase() : "";
  const publisher = typeof image.publisher === "string" ? image.publisher.toLowerCase() : "";
  const offer = typeof image.offer === "string" ? image.offer.toLowerCase() : "";
  const license = typeof props.licenseType === "string" ? props.licenseType.toUpperCase() : "";
  const os = bagOf(props.osProfile);
  const isBag = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  if (osType === "windows") return "windows";
  if (osType === "" && isBag(os.windowsConfiguration)) return "windows";
  if (osType === "" && publisher.includes("windows")) return "windows";
  if (osType === "" && publisher === "" && !isBag(os.linuxConfiguration)) return "unknown";
  if (publisher === "redhat")
    return offer.includes("byos") || license === "RHEL_BYOS" ? "linux" : "rhelPayGo";
  if (publisher === "suse")
    return offer.includes("byos") || license === "SLES_BYOS" ? "linux" : "slesPayGo";
  if (license.startsWith("RHEL_") && license !== "RHEL_BYOS") return "rhelPayGo";
  if (license.startsWith("SLES") && license !== "SLES_BYOS") return "slesPayGo";
  return "linux";
}

/** One partition of the impact aggregate: one row per subnet. */
export function impactPartition(
  rows: readonly ArmRow[],
  partition: number,
  partitions: number,
): Record<string, unknown>[] {
  // Every partition of a split at once: large estates are asked for a hundred of them.
  let bySplit = aggregated.get(rows);
  if (!bySplit) aggregated.set(rows, (bySplit = new Map<number, Record<string, unknown>[][]>()));
  let all = bySplit.get(partitions);
  if (!all) bySplit.set(partitions, (all = aggregate(rows, partitions)));
  return all[partition] ?? [];
}

const aggregated = new WeakMap<readonly ArmRow[], Map<number, Record<string, unknown>[][]>>();

function aggregate(rows: readonly ArmRow[], partitions: number): Record<string, unknown>[][] {
  const families = new Map<string, Family>();
  for (const r of rows) if (r.type === VM) families.set(r.id.toLowerCase(), familyOf(r));
  // distinct nicKey, subnetId, vmKey
  const pairs = new Map<string, { nicKey: string; subnetId: string; vmKey: string }>();
  for (const r of rows) {
    if (r.type !== NIC) continue;
    const props = bagOf(r.properties);
    const vmKey = kqlString(bagOf(props.virtualMachine).id).toLowerCase();
    for (const c of listOf(props.ipConfigurations).slice(0, EXPAND_LIMIT)) {
      const subnetId = kqlString(bagOf(bagOf(bagOf(c).properties).subnet).id).toLowerCase();
      if (!subnetId) continue;
      const nicKey = r.id.toLowerCase();
      pairs.set(`${nicKey}|${subnetId}|${vmKey}`, { nicKey, subnetId, vmKey });
    }
  }
  interface Group {
    nics: number;
    vmNic: string | null;
    vms: Map<string, Family | null>;
  }
  const bySubnet = new Map<string, Group>();
  for (const { nicKey, subnetId, vmKey } of pairs.values()) {
    let g = bySubnet.get(subnetId);
    if (!g) bySubnet.set(subnetId, (g = { nics: 0, vmNic: null, vms: new Map() }));
    g.nics += 1;
    if (vmKey) {
      if (g.vmNic === null || nicKey < g.vmNic) g.vmNic = nicKey;
      g.vms.set(vmKey, families.get(vmKey) ?? null);
    }
  }
  // One row per VNet, listing its subnets.
  const byVnet = new Map<string, Record<string, unknown>[]>();
  for (const [subnetId, g] of bySubnet) {
    const families = [...g.vms.values()];
    const count = (f: (x: Family | null) => boolean) => families.filter(f).length;
    const vnet = vnetOf(subnetId);
    let list = byVnet.get(vnet);
    if (!list) byVnet.set(vnet, (list = []));
    list.push({
      subnetId,
      networkInterfaces: g.nics,
      windowsVirtualMachines: count((f) => f === "windows"),
      linuxVirtualMachines: count((f) => f === "linux" || f === "rhelPayGo" || f === "slesPayGo"),
      rhelPayAsYouGoVirtualMachines: count((f) => f === "rhelPayGo"),
      slesPayAsYouGoVirtualMachines: count((f) => f === "slesPayGo"),
      vmNic: g.vmNic ?? "",
    });
  }
  const out: Record<string, unknown>[][] = Array.from({ length: partitions }, () => []);
  for (const [vnet, subnets] of byVnet)
    out[partitionOf(vnet, partitions)]!.push({
      id: `${vnet}/kmsRouteAuditImpact`,
      type: "kms-route-audit/virtualnetworkimpact",
      subnets,
    });
  return out;
}
