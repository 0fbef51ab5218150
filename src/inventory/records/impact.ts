import type { ArmRow } from "../arm-row.js";
import { Problems, text } from "../fields.js";
import { keyOf } from "../resource-id.js";
import type { Problem } from "../types.js";

/**
 * Impact counts that Resource Graph aggregated for one subnet, in the order of the inventory's
 * impact columns but scale sets (which stay rows): NICs, Windows, Linux, RHEL PAYG, SLES PAYG VMs.
 * null when the row is malformed: the subnet's impact is then unknown, never zero.
 */
export interface SubnetImpactParts {
  t: "subnetImpact";
  key: string;
  /** null when neither `subnetId` nor the row ID names the subnet. */
  subnetKey: string | null;
  counts: [number, number, number, number, number] | null;
  /** One NIC of the subnet attached to a VM (lower-cased ID), for the NIC facts. */
  vmNic: string | null;
  problems: Problem[];
}

const COLUMNS = [
  "networkInterfaces",
  "windowsVirtualMachines",
  "linuxVirtualMachines",
  "rhelPayAsYouGoVirtualMachines",
  "slesPayAsYouGoVirtualMachines",
] as const;

/** The suffix Resource Graph's aggregate puts after the subnet ID to make the row's ID. */
export const IMPACT_ID_SUFFIX = "/kmsRouteAuditImpact";

export function subnetImpactOf(row: ArmRow, key: string): SubnetImpactParts {
  const problems = new Problems(row.id);
  const subnetId =
    text(row.subnetId) ??
    (row.id.toLowerCase().endsWith(IMPACT_ID_SUFFIX.toLowerCase())
      ? row.id.slice(0, -IMPACT_ID_SUFFIX.length)
      : null);
  if (!subnetId) problems.add("subnetId", "is missing: the counts belong to no subnet");
  const counts: number[] = [];
  for (const column of COLUMNS) {
    const value = row[column];
    if (typeof value === "number" && Number.isInteger(value) && value >= 0) counts.push(value);
    else problems.add(column, "is not a count (a whole number from 0)");
  }
  return {
    t: "subnetImpact",
    key,
    subnetKey: subnetId ? keyOf(subnetId) : null,
    counts: counts.length === COLUMNS.length ? (counts as SubnetImpactParts["counts"]) : null,
    vmNic: text(row.vmNic),
    problems: problems.all,
  };
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
