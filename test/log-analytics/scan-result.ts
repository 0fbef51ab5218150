import type { Finding, ScanResult, Status } from "../../src/model.js";

const STATUSES: Status[] = ["NonCompliant", "Unverified", "Compliant", "NotApplicable", "Exempt"];

/** A finding for subnet `i`; statuses cycle so every status appears. */
export function aFinding(i: number, runSalt = ""): Finding {
  const sub = "00000000-0000-0000-0000-000000000001";
  const vnet = `/subscriptions/${sub}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-${Math.floor(i / 50)}`;
  const status = STATUSES[i % STATUSES.length] ?? "Compliant";
  return {
    subnetId: `${vnet}/subnets/snet-${i}${runSalt}`,
    subnetName: `snet-${i}`,
    virtualNetworkId: vnet,
    virtualNetworkName: `vnet-${Math.floor(i / 50)}`,
    subscriptionId: sub,
    subscriptionName: i % 7 === 0 ? null : "Production",
    resourceGroup: "rg-net",
    location: "westeurope",
    routeTableId:
      i % 3 === 0
        ? null
        : `/subscriptions/${sub}/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt-${i}`,
    routeTableName: i % 3 === 0 ? null : `rt-${i}`,
    status,
    // DESIGN.md section 3, rule 6: Unverified is low.
    severity: status === "NonCompliant" ? "high" : status === "Unverified" ? "low" : "none",
    reasons:
      status === "NonCompliant"
        ? ["KMS_ROUTES_INCOMPLETE", "LEGACY_KMS_IP_ONLY", "FIREWALL_FORCED_TUNNELED"]
        : ["NO_FORCED_TUNNEL"],
    summary: `Subnet snet-${i}: ${status}`,
    missingRoutes: status === "NonCompliant" ? ["20.118.99.224/32", "40.83.235.53/32"] : [],
    gatewayRoutesPossible: i % 2 === 0,
    endpointSets: ["kms"],
    endpoints: [
      {
        set: "kms",
        host: "azkms.core.windows.net",
        ip: "20.118.99.224",
        port: 1688,
        protocol: "TCP",
        reachable: status === "NonCompliant" ? false : true,
        reason: status === "NonCompliant" ? "FIREWALL_FORCED_TUNNELED" : "REACHABLE_DIRECT",
        path:
          status === "NonCompliant"
            ? [
                {
                  kind: "Route",
                  resourceId: `/subscriptions/${sub}/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt-${i}`,
                  detail: "0.0.0.0/0 -> VirtualAppliance 10.0.1.4 (route 'default-to-nva')",
                },
                {
                  kind: "AzureFirewall",
                  resourceId: `/subscriptions/${sub}/resourceGroups/rg-hub/providers/Microsoft.Network/azureFirewalls/azfw-hub`,
                  detail: "azfw-hub (10.0.1.4): network rule 'allow-kms' allows TCP 1688",
                },
                {
                  kind: "VirtualNetworkGateway",
                  resourceId: null,
                  detail: "on-premises through the virtual network gateway",
                },
              ]
            : [
                { kind: "Route", resourceId: null, detail: "0.0.0.0/0 -> Internet (system route)" },
                {
                  kind: "Internet",
                  resourceId: null,
                  detail: "Internet via default outbound access",
                },
              ],
        nextHopType: status === "NonCompliant" ? "VirtualAppliance" : "Internet",
        addressPrefix: "0.0.0.0/0",
        routeName: status === "NonCompliant" ? "default-to-nva" : null,
        decidedBy: status === "NonCompliant" ? "UserDefinedRoute" : "SystemRoute",
      },
    ],
    impact: {
      networkInterfaces: i % 5,
      windowsVirtualMachines: i % 4,
      windowsScaleSetInstances: null,
      linuxVirtualMachines: i % 3,
      rhelPayAsYouGoVirtualMachines: 0,
      slesPayAsYouGoVirtualMachines: null,
    },
    remediation: null,
    exemption: null,
    unhonouredExemptions: [],
    policyConflicts: [],
  };
}

export function aScanResult(
  count: number,
  overrides: { id?: string; complete?: boolean; finishedAt?: string } = {},
): ScanResult {
  const findings = Array.from({ length: count }, (_, i) => aFinding(i));
  const counts = {
    NonCompliant: 0,
    Unverified: 0,
    Exempt: 0,
    Compliant: 0,
    NotApplicable: 0,
    total: count,
  };
  for (const f of findings) counts[f.status]++;
  const complete = overrides.complete ?? true;
  return {
    schemaVersion: 2,
    run: {
      id: overrides.id ?? "run-1",
      startedAt: "2026-11-28T10:00:00.000Z",
      finishedAt: overrides.finishedAt ?? "2026-11-28T10:01:30.000Z",
      cloud: "AzureCloud",
      source: { kind: "resource-graph", inputs: [] },
      scope: { subscriptions: [], managementGroups: ["contoso"] },
      complete,
      errors: complete ? [] : [{ code: "SCOPE_NOT_READABLE", message: "403", target: "sub-x" }],
      warnings: [],
      counts,
      endpoints: [{ set: "kms", host: "azkms.core.windows.net", ip: "20.118.99.224", port: 1688 }],
    },
    findings,
  };
}
