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
    severity: status === "NonCompliant" ? "high" : status === "Unverified" ? "medium" : "none",
    reasons:
      status === "NonCompliant"
        ? ["KMS_ROUTES_INCOMPLETE", "LEGACY_KMS_IP_ONLY"]
        : ["NO_FORCED_TUNNEL"],
    summary: `Subnet snet-${i}: ${status}`,
    missingRoutes: status === "NonCompliant" ? ["20.118.99.224/32", "40.83.235.53/32"] : [],
    gatewayRoutesPossible: i % 2 === 0,
    endpoints: [
      {
        set: "kms",
        host: "azkms.core.windows.net",
        ip: "20.118.99.224",
        port: 1688,
        bypassed: status === "NonCompliant" ? false : true,
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
    },
    remediation: null,
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
    schemaVersion: 1,
    run: {
      id: overrides.id ?? "run-1",
      startedAt: "2026-11-28T10:00:00.000Z",
      finishedAt: overrides.finishedAt ?? "2026-11-28T10:01:30.000Z",
      cloud: "AzureCloud",
      source: { kind: "resource-graph", inputs: [] },
      scope: { subscriptions: [], managementGroups: ["contoso"] },
      complete,
      errors: complete ? [] : [{ code: "SCOPE_NOT_READABLE", message: "403", target: "sub-x" }],
      counts,
      endpoints: [{ set: "kms", host: "azkms.core.windows.net", ip: "20.118.99.224", port: 1688 }],
    },
    findings,
  };
}
