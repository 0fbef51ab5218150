import { createHash } from "node:crypto";
import { REASONS, type ReasonCode } from "../audit/reasons.js";
import type { Finding, ScanResult, Severity } from "../model.js";
import { TOOL_VERSION } from "../version.js";

const LEVEL: Record<Severity, "error" | "warning" | "note" | "none"> = {
  high: "error",
  medium: "warning",
  low: "note",
  none: "none",
};

const ATTENTION = new Set(["NonCompliant", "Unverified"]);

function fingerprint(finding: Finding, ruleId: string): string {
  return createHash("sha256").update(`${finding.subnetId.toLowerCase()}|${ruleId}`).digest("hex");
}

/**
 * SARIF 2.1.0 for GitHub code scanning: one result per subnet that needs attention. Cloud
 * resources have no source file, so the subnet's resource ID stands as a relative artifact path;
 * the stable fingerprint lets code scanning track the same subnet across runs.
 */
export function formatSarif(result: ScanResult): string {
  const codes = Object.keys(REASONS) as ReasonCode[];
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "kms-route-audit",
            version: TOOL_VERSION,
            rules: codes.map((code) => ({
              id: code,
              name: code
                .toLowerCase()
                .replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())
                .replace(/^./, (c) => c.toUpperCase()),
              shortDescription: { text: REASONS[code] },
              fullDescription: { text: REASONS[code] },
              help: {
                text: "Add a route with next hop Internet for every KMS IP to the subnet's route table; see the finding's remediation for exact commands.",
              },
            })),
          },
        },
        automationDetails: { id: `kms-route-audit/${result.run.cloud}/` },
        invocations: [
          {
            executionSuccessful: result.run.complete,
            startTimeUtc: result.run.startedAt,
            endTimeUtc: result.run.finishedAt,
            toolExecutionNotifications: result.run.errors.map((e) => ({
              level: "error",
              message: { text: e.message },
            })),
          },
        ],
        results: result.findings
          .filter((f) => ATTENTION.has(f.status))
          .map((f) => {
            const ruleId = f.reasons[0] ?? "KMS_ROUTES_MISSING";
            return {
              ruleId,
              ruleIndex: codes.indexOf(ruleId),
              level: LEVEL[f.severity],
              message: {
                text: `${f.status}: ${f.virtualNetworkName}/${f.subnetName}: ${f.summary}`,
              },
              locations: [
                {
                  physicalLocation: { artifactLocation: { uri: f.subnetId.replace(/^\/+/, "") } },
                  logicalLocations: [
                    { fullyQualifiedName: f.subnetId, name: f.subnetName, kind: "resource" },
                  ],
                },
              ],
              partialFingerprints: { "kmsRouteAuditSubnet/v1": fingerprint(f, ruleId) },
              properties: {
                status: f.status,
                severity: f.severity,
                reasons: f.reasons,
                missingRoutes: f.missingRoutes,
                subscriptionId: f.subscriptionId,
                windowsVirtualMachines: f.impact.windowsVirtualMachines,
              },
            };
          }),
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
