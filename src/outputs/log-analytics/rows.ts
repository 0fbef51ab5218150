import { decidingPathOf, type Finding, type RunError, type ScanResult } from "../../model.js";
import type { FindingRow, RunRow } from "./schema.js";

/** Key of one finding row; a resent row keeps it, so dashboards can drop duplicates. */
export function findingRecordId(runId: string, subnetId: string): string {
  return `${runId}/${subnetId.toLowerCase()}`;
}

export function toFindingRow(result: ScanResult, finding: Finding): FindingRow {
  const { run } = result;
  return {
    TimeGenerated: run.finishedAt,
    RunId: run.id,
    RecordId: findingRecordId(run.id, finding.subnetId),
    RunComplete: run.complete,
    Cloud: run.cloud,
    SubnetId: finding.subnetId,
    SubnetName: finding.subnetName,
    VirtualNetworkId: finding.virtualNetworkId,
    VirtualNetworkName: finding.virtualNetworkName,
    SubscriptionId: finding.subscriptionId,
    SubscriptionName: finding.subscriptionName,
    ResourceGroup: finding.resourceGroup,
    Location: finding.location,
    RouteTableId: finding.routeTableId,
    Status: finding.status,
    Severity: finding.severity,
    Reasons: [...finding.reasons],
    MissingRoutes: [...finding.missingRoutes],
    Endpoints: finding.endpoints.map((e) => ({
      set: e.set,
      host: e.host,
      ip: e.ip,
      port: e.port,
      reachable: e.reachable,
      reason: e.reason,
      nextHopType: e.nextHopType,
      addressPrefix: e.addressPrefix,
      routeName: e.routeName,
      decidedBy: e.decidedBy,
      path: e.path.map((h) => ({ kind: h.kind, resourceId: h.resourceId, detail: h.detail })),
    })),
    GatewayRoutesPossible: finding.gatewayRoutesPossible,
    WindowsVmCount: finding.impact.windowsVirtualMachines,
    WindowsScaleSetInstanceCount: finding.impact.windowsScaleSetInstances,
    NicCount: finding.impact.networkInterfaces,
    LinuxVmCount: finding.impact.linuxVirtualMachines,
    RhelPayGoVmCount: finding.impact.rhelPayAsYouGoVirtualMachines,
    SlesPayGoVmCount: finding.impact.slesPayAsYouGoVirtualMachines,
    EndpointSets: [...finding.endpointSets],
    DecidingPath: decidingPathOf(finding),
    SchemaVersion: result.schemaVersion,
    Summary: finding.summary,
  };
}

export function toFindingRows(result: ScanResult): FindingRow[] {
  return result.findings.map((f) => toFindingRow(result, f));
}

/** What the sink knows about delivery when it writes the run row. */
export interface DeliveryCounts {
  findingRecords: number;
  failedRecords: number;
  resentRecords: number;
  pendingRecords: number;
  /**
   * What went wrong with delivery (rows dropped, a pending store that holds foreign names or
   * cannot be written): added to the run's own errors in Errors and ErrorCount, so dashboards and
   * the failed-runs alert see them. `Complete` still says whether the scan was complete.
   */
  deliveryErrors?: readonly RunError[];
}

export function toRunRow(result: ScanResult, delivery: DeliveryCounts): RunRow {
  const { run } = result;
  const duration = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return {
    TimeGenerated: run.finishedAt,
    RunId: run.id,
    StartedAt: run.startedAt,
    FinishedAt: run.finishedAt,
    DurationMs: Number.isFinite(duration) ? Math.max(0, duration) : 0,
    Cloud: run.cloud,
    Source: run.source.kind,
    Inputs: [...run.source.inputs],
    Scope: {
      subscriptions: [...run.scope.subscriptions],
      managementGroups: [...run.scope.managementGroups],
    },
    Complete: run.complete,
    Errors: [...run.errors, ...(delivery.deliveryErrors ?? [])].map((e) => ({
      code: e.code,
      message: e.message,
      target: e.target ?? null,
    })),
    ErrorCount: run.errors.length + (delivery.deliveryErrors?.length ?? 0),
    Warnings: run.warnings.map((e) => ({
      code: e.code,
      message: e.message,
      target: e.target ?? null,
    })),
    WarningCount: run.warnings.length,
    SchemaVersion: result.schemaVersion,
    NonCompliant: run.counts.NonCompliant,
    Unverified: run.counts.Unverified,
    Exempt: run.counts.Exempt,
    Compliant: run.counts.Compliant,
    NotApplicable: run.counts.NotApplicable,
    Total: run.counts.total,
    FindingRecords: delivery.findingRecords,
    FailedRecords: delivery.failedRecords,
    ResentRecords: delivery.resentRecords,
    PendingRecords: delivery.pendingRecords,
    Endpoints: run.endpoints.map((e) => ({ set: e.set, host: e.host, ip: e.ip, port: e.port })),
  };
}
