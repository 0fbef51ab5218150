import { AUDITED_TYPES } from "../../inventory/arm-row.js";
import { DECLARATION_TAG } from "../../inventory/records/network.js";

/**
 * Resource Graph queries of the live source. They are constants: scope (subscriptions, management
 * groups) travels in the request body, never in query text, so no user text reaches KQL.
 */

/**
 * Audited types that live in the `resources` table (Microsoft's "Azure Resource Graph table and
 * resource type reference"): subscriptions live in `resourcecontainers`, firewall policy rule
 * collection groups in `networkresources`. Hub virtual network connections and routing intent are
 * in no table: the facts stage reads them through ARM, and estate files carry them as exported by
 * `az network vhub connection list` / `az network vhub routing-intent list` (README).
 */
export const RESOURCE_TABLE_TYPES: readonly string[] = [
  AUDITED_TYPES.routeTable,
  AUDITED_TYPES.virtualNetwork,
  AUDITED_TYPES.gateway,
  AUDITED_TYPES.connection,
  AUDITED_TYPES.localNetworkGateway,
  AUDITED_TYPES.networkInterface,
  AUDITED_TYPES.virtualMachine,
  AUDITED_TYPES.scaleSet,
  AUDITED_TYPES.firewall,
  AUDITED_TYPES.firewallPolicy,
  AUDITED_TYPES.ipGroup,
  AUDITED_TYPES.virtualHub,
  AUDITED_TYPES.bgpConnection,
  AUDITED_TYPES.hubIpConfiguration,
  AUDITED_TYPES.natGateway,
  AUDITED_TYPES.publicIp,
  AUDITED_TYPES.loadBalancer,
  AUDITED_TYPES.networkSecurityGroup,
];

const NIC = AUDITED_TYPES.networkInterface;
const VM = AUDITED_TYPES.virtualMachine;

/**
 * Row reads of NICs and VMs (every one of them) are what a NIC-heavy tenant is made of (97% of rows
 * and bytes). The verdicts need only some NICs as rows: those that change a path (a public IP, a
 * load-balancer pool, a NIC NSG, IP forwarding on or not stated, an egress declaration), and those
 * a route or Route Server peer names as next hop ({@link NEXT_HOP_NICS_QUERY}); VMs only when tagged
 * with a declaration. Everything else about them is impact, counted by Resource Graph per subnet
 * ({@link impactPartitionQuery}). Every test here is a superset: reading a NIC row that was not
 * needed costs bytes, missing one would cost a verdict.
 */
const NIC_ROW_NEEDED = [
  `(type =~ '${NIC}'`,
  "    and (isnotempty(properties.networkSecurityGroup)",
  "      or not(tostring(properties.enableIPForwarding) =~ 'false')",
  "      or tostring(properties.ipConfigurations) contains 'publicIPAddress'",
  "      or tostring(properties.ipConfigurations) contains 'loadBalancerBackendAddressPools'",
  `      or tostring(tags) contains '${DECLARATION_TAG}'))`,
].join("\n");
const VM_ROW_NEEDED = `(type =~ '${VM}' and tostring(tags) contains '${DECLARATION_TAG}')`;

// Routes, subnets and peerings are child resources that Resource Graph reports inside their parents
// (route table properties.routes, VNet properties.subnets and properties.virtualNetworkPeerings),
// so the parent rows carry them. Only the ARM columns the inventory reads are projected (tags carry
// exemptions); identity, zones, plan, managedBy and the other columns stay on the server.
const COLUMNS = "id, name, type, location, subscriptionId, resourceGroup, tags, sku, properties";
const typeList = (types: readonly string[]) => types.map((t) => `'${t}'`).join(", ");

/** Every row of every audited type: the read of estates without impact aggregation. */
export const RESOURCES_QUERY = [
  "resources",
  `| where type in~ (${typeList(RESOURCE_TABLE_TYPES)})`,
  `| project ${COLUMNS}`,
  "| order by id asc",
].join("\n");

/** The audited types but NICs and VMs in full; of those, only the rows a path needs. */
export const RESOURCES_WITHOUT_IMPACT_QUERY = [
  "resources",
  `| where type in~ (${typeList(RESOURCE_TABLE_TYPES.filter((t) => t !== NIC && t !== VM))})`,
  `    or ${NIC_ROW_NEEDED.replaceAll("\n", "\n    ")}`,
  `    or ${VM_ROW_NEEDED}`,
  `| project ${COLUMNS}`,
  "| order by id asc",
].join("\n");

/** Every NIC and every VM row: the fallback when the impact aggregates cannot be trusted. */
export const IMPACT_ROWS_QUERY = [
  "resources",
  `| where type in~ ('${NIC}', '${VM}')`,
  `| project ${COLUMNS}`,
  "| order by id asc",
].join("\n");

/**
 * NICs that hold the private IP a route or a Route Server peer names as next hop, in full: whether
 * they forward (and are declared) decides the path. Most are already read for IP forwarding; this
 * finds the rest (a next hop with forwarding off drops the traffic).
 */
export const NEXT_HOP_NICS_QUERY = [
  "resources",
  `| where type =~ '${AUDITED_TYPES.routeTable}'`,
  "| mv-expand route = properties.routes limit 400",
  "| project ip = tostring(route.properties.nextHopIpAddress)",
  `| union (resources | where type =~ '${AUDITED_TYPES.bgpConnection}' | project ip = tostring(properties.peerIp))`,
  "| where isnotempty(ip)",
  "| distinct ip",
  "| join kind=inner (",
  "    resources",
  `    | where type =~ '${NIC}'`,
  "    | mv-expand ipConfiguration = properties.ipConfigurations limit 400",
  "    | project ip = tostring(ipConfiguration.properties.privateIPAddress), nicKey = tolower(id)",
  "  ) on ip",
  "| distinct nicKey",
  "| join kind=inner (",
  "    resources",
  `    | where type =~ '${NIC}'`,
  `    | project nicKey = tolower(id), ${COLUMNS}`,
  "  ) on nicKey",
  `| project ${COLUMNS}`,
  "| order by id asc",
].join("\n");

/** Row type of one VNet's impact counts, as {@link impactPartitionQuery} projects them. */
export const VIRTUAL_NETWORK_IMPACT_TYPE = AUDITED_TYPES.virtualNetworkImpact;
/** Row type of the impact totals of one scope (made by the source from {@link IMPACT_TOTALS_QUERY}). */
export const IMPACT_TOTALS_TYPE = AUDITED_TYPES.impactTotals;

/** KQL: the VNet ID of a subnet ID. */
const vnetOf = (subnetId: string) => `substring(${subnetId}, 0, indexof(${subnetId}, '/subnets/'))`;

/**
 * How many NIC and VM rows the scope holds, roughly how many VNets hold NICs (by their first IP
 * configuration: enough to size the partitions), and the longest array the partitions would
 * mv-expand (Resource Graph expands at most 400 elements; past that the counts would be short).
 */
export const IMPACT_TOTALS_QUERY = [
  "resources",
  `| where type in~ ('${NIC}', '${VM}')`,
  `| extend isNic = type =~ '${NIC}', firstSubnet = tolower(tostring(properties.ipConfigurations[0].properties.subnet.id))`,
  "| summarize networkInterfaces = countif(isNic), virtualMachines = countif(not(isNic)),",
  `    virtualNetworks = dcountif(${vnetOf("firstSubnet")}, isNic and isnotempty(firstSubnet)),`,
  "    mostIpConfigurations = max(iff(isNic, array_length(properties.ipConfigurations), 0))",
  // Rows of a page have an id and a type.
  `| project id = '${IMPACT_TOTALS_TYPE}', type = '${IMPACT_TOTALS_TYPE}', networkInterfaces, virtualMachines, virtualNetworks, mostIpConfigurations`,
].join("\n");

/** VNets per partition: a partition's answer stays well under the 1,000 rows of a page. */
export const VIRTUAL_NETWORKS_PER_PARTITION = 800;
/** A partition's answer at or above this many rows may have been cut: its counts are not used. */
export const PARTITION_ROW_LIMIT = 1000;

/**
 * One partition of the impact counts: per VNet (of those whose lower-cased ID hashes to
 * `partition` of `partitions`) one row listing its subnets, each with its NICs, its VMs per OS
 * family and one VM NIC (for the NIC facts). `summarize` answers are not paged (Resource Graph:
 * "first page only"), hence the partitions; a row per VNet rather than per subnet makes a page hold
 * a few thousand subnets. NICs are joined to their VM by the NIC's virtualMachine reference (Azure
 * sets it on every attached NIC); a VM with two NICs in one subnet counts once.
 */
export function impactPartitionQuery(partition: number, partitions: number): string {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 100_000)
    throw new RangeError(`impact partitions must be 1..100000, got ${partitions}`);
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitions)
    throw new RangeError(`impact partition must be 0..${partitions - 1}, got ${partition}`);
  return [
    "resources",
    `| where type =~ '${NIC}'`,
    "| mv-expand ipConfiguration = properties.ipConfigurations limit 400",
    "| extend subnetId = tolower(tostring(ipConfiguration.properties.subnet.id))",
    `| extend virtualNetworkId = ${vnetOf("subnetId")}`,
    `| where isnotempty(subnetId) and hash(virtualNetworkId, ${partitions}) == ${partition}`,
    "| project nicKey = tolower(id), subnetId, virtualNetworkId, vmKey = tolower(tostring(properties.virtualMachine.id))",
    "| distinct nicKey, subnetId, virtualNetworkId, vmKey",
    "| join kind=leftouter (",
    "    resources",
    `    | where type =~ '${VM}'`,
    "    | extend osTypeValue = properties.storageProfile.osDisk.osType,",
    "        image = properties.storageProfile.imageReference",
    "    | extend osType = iff(gettype(osTypeValue) == 'string' and isnotempty(trim(@'\\s+', tostring(osTypeValue))), tolower(tostring(osTypeValue)), ''),",
    "        publisher = iff(gettype(image.publisher) == 'string', tolower(tostring(image.publisher)), ''),",
    "        offer = iff(gettype(image.offer) == 'string', tolower(tostring(image.offer)), ''),",
    "        license = iff(gettype(properties.licenseType) == 'string', toupper(tostring(properties.licenseType)), '')",
    "    | project vmKey = tolower(id), family = case(",
    "        osType == 'windows', 'windows',",
    "        osType == '' and gettype(properties.osProfile.windowsConfiguration) == 'dictionary', 'windows',",
    "        osType == '' and publisher contains 'windows', 'windows',",
    "        osType == '' and publisher == '' and gettype(properties.osProfile.linuxConfiguration) != 'dictionary', 'unknown',",
    "        publisher == 'redhat', iff(offer contains 'byos' or license == 'RHEL_BYOS', 'linux', 'rhelPayGo'),",
    "        publisher == 'suse', iff(offer contains 'byos' or license == 'SLES_BYOS', 'linux', 'slesPayGo'),",
    "        license startswith 'RHEL_' and license != 'RHEL_BYOS', 'rhelPayGo',",
    "        license startswith 'SLES' and license != 'SLES_BYOS', 'slesPayGo',",
    "        'linux')",
    "  ) on vmKey",
    "| summarize nics = count(), vmNic = take_anyif(nicKey, isnotempty(vmKey)) by subnetId, virtualNetworkId, vmKey, family",
    "| summarize networkInterfaces = sum(nics),",
    "    windowsVirtualMachines = countif(family == 'windows'),",
    "    linuxVirtualMachines = countif(family in ('linux', 'rhelPayGo', 'slesPayGo')),",
    "    rhelPayAsYouGoVirtualMachines = countif(family == 'rhelPayGo'),",
    "    slesPayAsYouGoVirtualMachines = countif(family == 'slesPayGo'),",
    "    vmNic = take_anyif(vmNic, isnotempty(vmNic))",
    "    by subnetId, virtualNetworkId",
    "| summarize subnets = make_list(pack('subnetId', subnetId, 'networkInterfaces', networkInterfaces,",
    "    'windowsVirtualMachines', windowsVirtualMachines, 'linuxVirtualMachines', linuxVirtualMachines,",
    "    'rhelPayAsYouGoVirtualMachines', rhelPayAsYouGoVirtualMachines,",
    "    'slesPayAsYouGoVirtualMachines', slesPayAsYouGoVirtualMachines, 'vmNic', vmNic))",
    "    by virtualNetworkId",
    `| project id = strcat(virtualNetworkId, '/kmsRouteAuditImpact'), type = '${VIRTUAL_NETWORK_IMPACT_TYPE}', subnets`,
  ].join("\n");
}

/** Subscription rows: `name` is the display name. */
export const SUBSCRIPTIONS_QUERY = [
  "resourcecontainers",
  `| where type =~ '${AUDITED_TYPES.subscription}'`,
  "| project id, name, type, subscriptionId, properties",
  "| order by id asc",
].join("\n");

/** Firewall policy rule collection groups: in `networkresources`, not `resources`. */
export const RULE_COLLECTION_GROUPS_QUERY = [
  "networkresources",
  `| where type =~ '${AUDITED_TYPES.ruleCollectionGroup}'`,
  "| project id, name, type, subscriptionId, resourceGroup, properties",
  "| order by id asc",
].join("\n");

/**
 * Policy assignments, definitions, initiatives and exemptions: in `policyresources` (Microsoft's
 * "Azure Resource Graph table and resource type reference"). Sent with authorizationScopeFilter
 * AtScopeAboveAndBelow, so assignments and exemptions at the management groups above the audited
 * subscriptions come too. Built-in definitions are read with the rest: a built-in such as "Not
 * allowed resource types" may deny a fix.
 */
export const POLICY_TYPES: readonly string[] = [
  AUDITED_TYPES.policyAssignment,
  AUDITED_TYPES.policyDefinition,
  AUDITED_TYPES.policySetDefinition,
  AUDITED_TYPES.policyExemption,
];

export const POLICY_QUERY = [
  "policyresources",
  `| where type in~ (${POLICY_TYPES.map((t) => `'${t}'`).join(", ")})`,
  "| project id, name, type, subscriptionId, resourceGroup, properties",
  "| order by id asc",
].join("\n");
