import type { ArmRow } from "../../src/inventory/arm-row.js";
import { createRandom } from "../random.js";

/**
 * Makes an estate NIC-heavy, the way enterprise tenants are (issue 12: NICs and VMs are 97% of the
 * rows): on `share` of the workload subnets, `nics` NICs and `vms` VMs. Every VNet row passes
 * through (a few subnets turned private); NIC and VM rows follow each VNet. Rows stream, so an
 * estate of any size never sits in memory at once.
 *
 * The NICs vary the way the audit must tell apart: most have IP forwarding explicitly off (as
 * Resource Graph reports it), a few leave it unstated or on, carry an instance public IP or a NIC
 * NSG; the first VM has a second NIC in the same subnet (one VM, counted once); some NICs belong to
 * no VM (private endpoints). VMs are Windows, Ubuntu, RHEL and SLES pay-as-you-go or BYOS, RHEL
 * through Azure Hybrid Benefit, or of no recognisable OS (not counted).
 */
export interface NicHeavyOptions {
  /** Share of workload subnets with NICs and VMs, 0..1; default 0.6. */
  share?: number;
  /** NICs per such subnet; default 10. */
  nics?: number;
  /** VMs per such subnet (each with one NIC, the first with two); default 6. */
  vms?: number;
  /** Share of those subnets made private (defaultOutboundAccess false); default 0.1. */
  privateShare?: number;
  seed?: number;
}

/** The NSG some NICs name: default rules only (it allows outbound to the Internet). */
export const NIC_NSG_NAME = "nsg-nic-baseline";

const PLATFORM = new Set([
  "gatewaysubnet",
  "azurefirewallsubnet",
  "azurefirewallmanagementsubnet",
  "azurebastionsubnet",
  "routeserversubnet",
]);

type Family = "windows" | "ubuntu" | "rhel" | "rhelByos" | "sles" | "rhelHybrid" | "none";
const FAMILIES: [Family, number][] = [
  ["windows", 0.5],
  ["ubuntu", 0.2],
  ["rhel", 0.1],
  ["rhelByos", 0.05],
  ["sles", 0.05],
  ["rhelHybrid", 0.05],
  ["none", 0.05],
];

function storageOf(family: Family): Record<string, unknown> {
  const image = (publisher: string, offer: string, sku: string) => ({ publisher, offer, sku });
  switch (family) {
    case "windows":
      return {
        storageProfile: {
          imageReference: image("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter"),
          osDisk: { osType: "Windows" },
        },
      };
    case "ubuntu":
      return {
        storageProfile: {
          imageReference: image("Canonical", "ubuntu-24_04-lts", "server"),
          osDisk: { osType: "Linux" },
        },
      };
    case "rhel":
      return {
        storageProfile: {
          imageReference: image("RedHat", "RHEL", "9-lvm-gen2"),
          osDisk: { osType: "Linux" },
        },
      };
    case "rhelByos":
      return {
        storageProfile: {
          imageReference: image("RedHat", "rhel-byos", "rhel-lvm94"),
          osDisk: { osType: "Linux" },
        },
      };
    case "sles":
      return {
        storageProfile: {
          imageReference: image("SUSE", "sles-15-sp6", "gen2"),
          osDisk: { osType: "Linux" },
        },
      };
    case "rhelHybrid":
      // A custom image turned pay-as-you-go by Azure Hybrid Benefit's license type.
      return {
        licenseType: "RHEL_BASE",
        storageProfile: { osDisk: { osType: "Linux" } },
      };
    case "none":
      return {};
  }
}

export function* withNicHeavyImpact(
  rows: Iterable<ArmRow>,
  options: NicHeavyOptions = {},
): Generator<ArmRow> {
  const share = options.share ?? 0.6;
  const nics = options.nics ?? 10;
  const vms = Math.min(options.vms ?? 6, nics);
  const privateShare = options.privateShare ?? 0.1;
  const random = createRandom(options.seed ?? 12);
  let nsgId: string | null = null;
  for (const row of rows) {
    if (row.type.toLowerCase() !== "microsoft.network/virtualnetworks") {
      yield row;
      continue;
    }
    const props = (row.properties ?? {}) as { subnets?: { id: string; name: string }[] };
    const subscriptionId = row.subscriptionId ?? "";
    const rg = row.id.slice(0, row.id.toLowerCase().indexOf("/providers/"));
    if (nsgId === null) {
      nsgId = `${rg}/providers/Microsoft.Network/networkSecurityGroups/${NIC_NSG_NAME}`;
      yield {
        id: nsgId,
        name: NIC_NSG_NAME,
        type: "microsoft.network/networksecuritygroups",
        location: row.location,
        subscriptionId,
        resourceGroup: row.resourceGroup,
        properties: { securityRules: [] },
      };
    }
    const added: ArmRow[] = [];
    const subnets = (props.subnets ?? []).map((subnet) => {
      if (PLATFORM.has(subnet.name.toLowerCase()) || random() >= share) return subnet;
      const makePrivate = random() < privateShare;
      for (let n = 0; n < nics; n++) {
        const nicName = `nic-${subnet.name}-${row.name ?? "vnet"}-${n}`;
        const nicId = `${rg}/providers/Microsoft.Network/networkInterfaces/${nicName}`;
        // NIC n < vms belongs to VM n; the last NIC is the first VM's second one.
        const vmIndex = n < vms ? n : n === nics - 1 && nics > vms ? 0 : null;
        const vmId =
          vmIndex === null
            ? null
            : `${rg}/providers/Microsoft.Compute/virtualMachines/vm-${subnet.name}-${row.name ?? "vnet"}-${vmIndex}`;
        const roll = random();
        const config: Record<string, unknown> = {
          subnet: { id: subnet.id },
          privateIPAllocationMethod: "Dynamic",
        };
        if (roll < 0.01)
          config.publicIPAddress = {
            id: `${rg}/providers/Microsoft.Network/publicIPAddresses/pip-${nicName}`,
          };
        const nic: Record<string, unknown> = {
          ipConfigurations: [{ name: "ipconfig1", properties: config }],
          ...(roll >= 0.01 && roll < 0.015
            ? {}
            : { enableIPForwarding: roll >= 0.015 && roll < 0.02 }),
          ...(roll >= 0.02 && roll < 0.04 ? { networkSecurityGroup: { id: nsgId } } : {}),
          ...(vmId ? { virtualMachine: { id: vmId } } : {}),
        };
        added.push({
          id: nicId,
          name: nicName,
          type: "microsoft.network/networkinterfaces",
          location: row.location,
          subscriptionId,
          resourceGroup: row.resourceGroup,
          properties: nic,
        });
        if (vmId && vmIndex === n) {
          const family = pick(random());
          added.push({
            id: vmId,
            name: vmId.slice(vmId.lastIndexOf("/") + 1),
            type: "microsoft.compute/virtualmachines",
            location: row.location,
            subscriptionId,
            resourceGroup: row.resourceGroup,
            properties: {
              hardwareProfile: { vmSize: "Standard_D2s_v5" },
              ...storageOf(family),
              networkProfile: { networkInterfaces: [{ id: nicId }] },
            },
          });
        }
      }
      if (!makePrivate) return subnet;
      const subnetProps = (subnet as { properties?: Record<string, unknown> }).properties ?? {};
      return { ...subnet, properties: { ...subnetProps, defaultOutboundAccess: false } };
    });
    yield { ...row, properties: { ...props, subnets } };
    yield* added;
  }
}

function pick(roll: number): Family {
  let sum = 0;
  for (const [family, weight] of FAMILIES) {
    sum += weight;
    if (roll < sum) return family;
  }
  return "windows";
}
