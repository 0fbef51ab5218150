import { readFileSync } from "node:fs";
import type { ArmRow } from "../../src/inventory/arm-row.js";

/**
 * A spoke estate under Azure Policy, built from the REST shapes of route tables, VNets,
 * subscriptions (resourcecontainers with managementGroupAncestorsChain) and the policy objects
 * (policyresources: assignments, definitions, exemptions, as "Azure Policy assignment structure"
 * and "Azure Policy exemption structure" show them).
 *
 * Subscription SUB sits in management group corp under contoso. VNet spoke (rg-net) has:
 * - app-ok:      0.0.0.0/0 to the gateway, /32 Internet routes for every KMS IP → Compliant
 * - app-tunnel:  0.0.0.0/0 to the gateway → NonCompliant (its route fix is what a deny rejects)
 * - app-nva:     0.0.0.0/0 to an appliance IP nobody holds → Unverified
 * - app-waived:  like app-tunnel, with an Azure Policy exemption (Waiver) at the subnet → Exempt
 * - app-tagged:  like app-tunnel, its route table tagged kms-route-audit-exempt until 2030 → Exempt
 * - GatewaySubnet → NotApplicable
 */

export const SUB = "5a0c7e2b-8d3f-4b6a-9c1e-2f4d6a8b0c1e";
export const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const RG = `/subscriptions/${SUB}/resourceGroups/rg-net`;
export const NET = `${RG}/providers/Microsoft.Network`;
export const VNET = `${NET}/virtualNetworks/spoke`;
export const subnetId = (name: string) => `${VNET}/subnets/${name}`;
export const MG = (name: string) => `/providers/Microsoft.Management/managementGroups/${name}`;
export const ASSIGNMENT = `${MG("corp")}/providers/Microsoft.Authorization/policyAssignments/kms-activation`;
export const OUR_DEFINITION = `${MG("contoso")}/providers/Microsoft.Authorization/policyDefinitions/kms-activation-attested`;
export const ALZ_ASSIGNMENT = `${MG("corp")}/providers/Microsoft.Authorization/policyAssignments/deny-udr-nexthop`;
export const KMS_IPS = ["20.118.99.224", "40.83.235.53", "23.102.135.246"];

export function fixture(name: string): ArmRow {
  return JSON.parse(
    readFileSync(new URL(`../../../test/fixtures/policy/${name}`, import.meta.url), "utf8"),
  ) as ArmRow;
}

function routeTable(
  name: string,
  routes: [string, string, string?][],
  tags?: Record<string, string>,
): ArmRow {
  return {
    id: `${NET}/routeTables/${name}`,
    name,
    type: "microsoft.network/routetables",
    location: "westeurope",
    subscriptionId: SUB,
    resourceGroup: "rg-net",
    ...(tags ? { tags } : {}),
    properties: {
      disableBgpRoutePropagation: true,
      routes: routes.map(([prefix, hop, ip], i) => ({
        name: `r${i}`,
        properties: {
          addressPrefix: prefix,
          nextHopType: hop,
          ...(ip ? { nextHopIpAddress: ip } : {}),
        },
      })),
    },
  };
}

export const HUB = `${NET}/virtualNetworks/hub`;
export const FIREWALL = `${NET}/azureFirewalls/azfw-hub`;
export const FIREWALL_POLICY = `${NET}/firewallPolicies/fwp-hub`;

/** A hub VNet peered with the spoke, with an Azure Firewall that egresses with its public IP. */
function hubRows(): ArmRow[] {
  const base = { location: "westeurope", subscriptionId: SUB, resourceGroup: "rg-net" };
  return [
    {
      ...base,
      id: HUB,
      name: "hub",
      type: "microsoft.network/virtualnetworks",
      properties: {
        addressSpace: { addressPrefixes: ["10.0.0.0/16"] },
        subnets: [
          {
            id: `${HUB}/subnets/AzureFirewallSubnet`,
            name: "AzureFirewallSubnet",
            properties: { addressPrefix: "10.0.1.0/26" },
          },
        ],
        virtualNetworkPeerings: [
          {
            name: "hub-to-spoke",
            properties: { remoteVirtualNetwork: { id: VNET }, allowForwardedTraffic: true },
          },
        ],
      },
    },
    {
      ...base,
      id: FIREWALL,
      name: "azfw-hub",
      type: "microsoft.network/azurefirewalls",
      properties: {
        sku: { name: "AZFW_VNet", tier: "Standard" },
        ipConfigurations: [
          {
            name: "ipconfig",
            properties: {
              privateIPAddress: "10.0.1.4",
              subnet: { id: `${HUB}/subnets/AzureFirewallSubnet` },
              publicIPAddress: { id: `${NET}/publicIPAddresses/pip-azfw` },
            },
          },
        ],
        firewallPolicy: { id: FIREWALL_POLICY },
      },
    },
    {
      ...base,
      id: FIREWALL_POLICY,
      name: "fwp-hub",
      type: "microsoft.network/firewallpolicies",
      properties: { ruleCollectionGroups: [] },
    },
    {
      ...base,
      id: `${NET}/publicIPAddresses/pip-azfw`,
      name: "pip-azfw",
      type: "microsoft.network/publicipaddresses",
      properties: { ipAddress: "20.50.1.10" },
    },
  ];
}

/** The network: route tables, the VNet, the subscription with its management groups. */
export function networkRows(
  options: { taggedUntil?: string; hubFirewall?: boolean } = {},
): ArmRow[] {
  const tunnel: [string, string][] = [["0.0.0.0/0", "VirtualNetworkGateway"]];
  const bypass: [string, string][] = KMS_IPS.map((ip) => [`${ip}/32`, "Internet"]);
  const subnet = (name: string, table?: string) => ({
    id: subnetId(name),
    name,
    properties: {
      addressPrefix: `10.1.${name.length}.0/24`,
      ...(table ? { routeTable: { id: `${NET}/routeTables/${table}` } } : {}),
    },
  });
  return [
    {
      id: `/subscriptions/${SUB}`,
      name: "corp-prod",
      type: "microsoft.resources/subscriptions",
      subscriptionId: SUB,
      properties: {
        state: "Enabled",
        managementGroupAncestorsChain: [
          { displayName: "Corp", name: "corp" },
          { displayName: "Contoso", name: "contoso" },
          { displayName: "Tenant Root Group", name: TENANT },
        ],
      },
    },
    routeTable("rt-ok", [...tunnel, ...bypass]),
    routeTable("rt-tunnel", tunnel),
    routeTable("rt-nva", [["0.0.0.0/0", "VirtualAppliance", "10.250.0.4"]]),
    routeTable("rt-waived", tunnel),
    routeTable("rt-tagged", tunnel, {
      "kms-route-audit-exempt": `until=${options.taggedUntil ?? "2030-01-31"}; datacenter exit in Q1`,
    }),
    {
      id: VNET,
      name: "spoke",
      type: "microsoft.network/virtualnetworks",
      location: "westeurope",
      subscriptionId: SUB,
      resourceGroup: "rg-net",
      properties: {
        addressSpace: { addressPrefixes: ["10.1.0.0/16"] },
        subnets: [
          subnet("app-ok", "rt-ok"),
          subnet("app-tunnel", "rt-tunnel"),
          subnet("app-nva", "rt-nva"),
          subnet("app-waived", "rt-waived"),
          subnet("app-tagged", "rt-tagged"),
          subnet("GatewaySubnet"),
        ],
        virtualNetworkPeerings: options.hubFirewall
          ? [
              {
                name: "spoke-to-hub",
                properties: { remoteVirtualNetwork: { id: HUB }, useRemoteGateways: false },
              },
            ]
          : [],
      },
    },
    ...(options.hubFirewall ? hubRows() : []),
  ];
}

export function exemption(
  scope: string,
  name: string,
  properties: Record<string, unknown>,
): ArmRow {
  return {
    id: `${scope}/providers/Microsoft.Authorization/policyExemptions/${name}`,
    name,
    type: "microsoft.authorization/policyexemptions",
    ...(scope.startsWith("/subscriptions/") ? { subscriptionId: SUB } : {}),
    properties,
  };
}

export function assignment(id: string, properties: Record<string, unknown>): ArmRow {
  return {
    id,
    name: id.slice(id.lastIndexOf("/") + 1),
    type: "microsoft.authorization/policyassignments",
    properties: { enforcementMode: "Default", ...properties },
  };
}

/** Our Manual definition and its assignment at corp, the ALZ deny and its assignment, exemptions. */
export function policyRows(options: { alz?: boolean } = {}): ArmRow[] {
  const rows: ArmRow[] = [
    {
      id: OUR_DEFINITION,
      name: "kms-activation-attested",
      type: "microsoft.authorization/policydefinitions",
      properties: JSON.parse(
        readFileSync(
          new URL("../../../infra/policy/kms-activation-attested.json", import.meta.url),
          "utf8",
        ),
      ) as Record<string, unknown>,
    },
    assignment(ASSIGNMENT, {
      displayName: "Windows activation reaches KMS (kms-route-audit)",
      policyDefinitionId: OUR_DEFINITION,
      scope: MG("corp"),
      notScopes: [],
    }),
    exemption(subnetId("app-waived"), "waive-app", {
      policyAssignmentId: ASSIGNMENT,
      exemptionCategory: "Waiver",
      expiresOn: "2030-06-30T00:00:00Z",
      displayName: "app-waived migration",
      description: "Moving to the hub firewall in H1",
    }),
    // Expired: reported on app-nva, not honoured.
    exemption(subnetId("app-nva"), "old-waiver", {
      policyAssignmentId: ASSIGNMENT,
      exemptionCategory: "Waiver",
      expiresOn: "2026-01-31T00:00:00Z",
      description: "appliance replacement (expired)",
    }),
    // Another assignment's exemption of the whole group: not ours, ignored.
    exemption(RG, "other-assignment", {
      policyAssignmentId: `${MG("corp")}/providers/Microsoft.Authorization/policyAssignments/allowed-locations`,
      exemptionCategory: "Mitigated",
    }),
  ];
  if (options.alz !== false)
    rows.push(
      fixture("Deny-UDR-With-Specific-NextHop.json"),
      assignment(ALZ_ASSIGNMENT, {
        displayName: "Deny UDRs with next hop Internet or VirtualNetworkGateway",
        policyDefinitionId:
          "/providers/Microsoft.Management/managementGroups/contoso/providers/Microsoft.Authorization/policyDefinitions/Deny-UDR-With-Specific-NextHop",
        scope: MG("corp"),
        notScopes: [],
        parameters: { excludedDestinations: { value: ["Internet"] } },
      }),
    );
  return rows;
}
