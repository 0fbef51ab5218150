import type { ArmRow } from "../arm-row.js";
import { Problems, bag, list, text } from "../fields.js";
import { keyOf } from "../resource-id.js";
import type { Problem } from "../types.js";

/**
 * Impact counts that Resource Graph aggregated for the subnets of one VNet, in the order of the
 * inventory's impact columns but scale sets (which stay rows): NICs, Windows, Linux, RHEL PAYG,
 * SLES PAYG VMs. A subnet's counts are null when its entry is malformed: its impact is then
 * unknown, never zero.
 */
export interface VirtualNetworkImpactParts {
  t: "virtualNetworkImpact";
  key: string;
  subnets: SubnetImpact[];
  /** Entries that name no subnet: some subnet's counts are unknown. */
  unattributed: number;
  problems: Problem[];
}

export interface SubnetImpact {
  subnetKey: string;
  counts: [number, number, number, number, number] | null;
  /** One NIC of the subnet attached to a VM (lower-cased ID), for the NIC facts. */
  vmNic: string | null;
}

const COLUMNS = [
  "networkInterfaces",
  "windowsVirtualMachines",
  "linuxVirtualMachines",
  "rhelPayAsYouGoVirtualMachines",
  "slesPayAsYouGoVirtualMachines",
] as const;

export function virtualNetworkImpactOf(row: ArmRow, key: string): VirtualNetworkImpactParts {
  const problems = new Problems(row.id);
  const subnets: SubnetImpact[] = [];
  let unattributed = 0;
  if (!Array.isArray(row.subnets)) {
    problems.wrongType("subnets", row.subnets, "a list of subnet counts");
    unattributed += 1;
  }
  list(row.subnets).forEach((entry, i) => {
    const e = bag(entry);
    const subnetId = text(e.subnetId);
    if (!subnetId) {
      problems.add(`subnets[${i}].subnetId`, "is missing: the counts belong to no subnet");
      unattributed += 1;
      return;
    }
    const counts: number[] = [];
    for (const column of COLUMNS) {
      const value = e[column];
      if (typeof value === "number" && Number.isInteger(value) && value >= 0) counts.push(value);
      else problems.add(`subnets[${i}].${column}`, "is not a count (a whole number from 0)");
    }
    subnets.push({
      subnetKey: keyOf(subnetId),
      counts: counts.length === COLUMNS.length ? (counts as SubnetImpact["counts"]) : null,
      vmNic: text(e.vmNic),
    });
  });
  return { t: "virtualNetworkImpact", key, subnets, unattributed, problems: problems.all };
}

export interface ImpactTotalsParts {
  t: "impactTotals";
  key: string;
  networkInterfaces: number | null;
  virtualMachines: number | null;
}

export function impactTotalsOf(row: ArmRow, key: string): ImpactTotalsParts {
  const count = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null);
  return {
    t: "impactTotals",
    key,
    networkInterfaces: count(row.networkInterfaces),
    virtualMachines: count(row.virtualMachines),
  };
}
