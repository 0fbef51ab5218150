import type { ArmRow } from "../arm-row.js";
import { bag, idOf, isObject, list, tagValue, text, type Bag } from "../fields.js";
import { keyOf } from "../resource-id.js";
import { DECLARATION_TAG } from "./network.js";

/**
 * Operating system families that decide which endpoint sets a subnet needs: Windows activates
 * against KMS, pay-as-you-go RHEL and SLES update from Microsoft-run update servers (RHUI, SUSE's
 * region servers); other Linux needs none of them.
 */
export type OsFamily = "windows" | "rhelPayGo" | "slesPayGo" | "linux" | "unknown";

/**
 * The family from a VM's (or scale set profile's) storage and license. RHEL and SLES images are
 * pay-as-you-go unless the offer is a BYOS one or Azure Hybrid Benefit converted the VM (licenseType
 * RHEL_BYOS / SLES_BYOS): BYOS VMs register with Red Hat or SUSE themselves.
 */
export function osFamilyOf(props: Bag): OsFamily {
  const storage = bag(props.storageProfile);
  const osType = text(bag(storage.osDisk).osType)?.toLowerCase();
  const image = bag(storage.imageReference);
  const publisher = text(image.publisher)?.toLowerCase() ?? "";
  const offer = text(image.offer)?.toLowerCase() ?? "";
  const license = text(props.licenseType)?.toUpperCase() ?? "";
  if (osType === "windows") return "windows";
  if (osType === undefined && isObject(bag(props.osProfile).windowsConfiguration)) return "windows";
  if (osType === undefined && publisher.includes("windows")) return "windows";
  if (osType === undefined && !publisher && !isObject(bag(props.osProfile).linuxConfiguration))
    return "unknown";
  if (publisher === "redhat") {
    const byos = offer.includes("byos") || license === "RHEL_BYOS";
    return byos ? "linux" : "rhelPayGo";
  }
  if (publisher === "suse") {
    const byos = offer.includes("byos") || license === "SLES_BYOS";
    return byos ? "linux" : "slesPayGo";
  }
  // Azure Hybrid Benefit can turn a BYOS image into a pay-as-you-go VM.
  if (license.startsWith("RHEL_") && license !== "RHEL_BYOS") return "rhelPayGo";
  if (license.startsWith("SLES") && license !== "SLES_BYOS") return "slesPayGo";
  return "linux";
}

export interface VmParts {
  t: "virtualMachine";
  key: string;
  family: OsFamily;
  nicKeys: string[];
  declaration: string | null;
}

export function virtualMachineOf(row: ArmRow, key: string): VmParts {
  const props = bag(row.properties);
  const family = osFamilyOf(props);
  const declaration = tagValue(row, DECLARATION_TAG);
  const nicKeys: string[] = [];
  if (family !== "unknown" || declaration !== null) {
    for (const ref of list(bag(props.networkProfile).networkInterfaces)) {
      const nicId = idOf(ref);
      if (nicId) nicKeys.push(keyOf(nicId));
    }
  }
  return { t: "virtualMachine", key, family, nicKeys, declaration };
}

export interface ScaleSetParts {
  family: OsFamily;
  instances: number;
  subnetKeys: string[];
}

export function scaleSetOf(row: ArmRow): ScaleSetParts {
  const props = bag(row.properties);
  const none: ScaleSetParts = { family: "unknown", instances: 0, subnetKeys: [] };
  // Flexible scale sets' instances are ordinary VM and NIC rows, counted as such.
  if (text(props.orchestrationMode)?.toLowerCase() === "flexible") return none;
  const profile = bag(props.virtualMachineProfile);
  const capacity = Number(bag(row.sku).capacity);
  if (!Number.isFinite(capacity) || capacity <= 0) return none;
  const subnetKeys: string[] = [];
  for (const nicConfig of list(bag(profile.networkProfile).networkInterfaceConfigurations)) {
    for (const ipConfig of list(bag(bag(nicConfig).properties).ipConfigurations)) {
      const subnetId = idOf(bag(bag(ipConfig).properties).subnet);
      if (subnetId && !subnetKeys.includes(keyOf(subnetId))) subnetKeys.push(keyOf(subnetId));
    }
  }
  return { family: osFamilyOf(profile), instances: capacity, subnetKeys };
}
