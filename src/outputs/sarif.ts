import { createHash } from "node:crypto";
import { REASONS, type ReasonCode } from "../reasons.js";
import type { Finding, ScanResult, Severity } from "../model.js";
import { TOOL_VERSION } from "../version.js";

const LEVEL: Record<Severity, "error" | "warning" | "note" | "none"> = {
  high: "error",
  medium: "warning",
  low: "note",
  none: "none",
};

const ATTENTION = new Set(["NonCompliant", "Unverified"]);

const DEFAULT_HELP =
  "See the finding's path (endpoints[].path) for the hop that decided it, and its remediation for the fix per cause.";
const ROUTES_HELP =
  "Add a route with next hop Internet for every endpoint IP to the subnet's route table (a NAT gateway too in a private subnet); see the finding's remediation for exact commands.";

/** What to do about each reason (SARIF rule help). */
const HELP: Partial<Record<ReasonCode, string>> = {
  KMS_ROUTES_MISSING: ROUTES_HELP,
  KMS_ROUTES_INCOMPLETE: ROUTES_HELP,
  LEGACY_KMS_IP_ONLY: ROUTES_HELP,
  KMS_ROUTE_WRONG_NEXT_HOP: ROUTES_HELP,
  DEFAULT_ROUTE_BLACKHOLED: ROUTES_HELP,
  TUNNELED_ON_PREMISES: ROUTES_HELP,
  VPN_DEFAULT_SITE: ROUTES_HELP,
  BGP_DEFAULT_ROUTE_LEARNED: ROUTES_HELP,
  FIREWALL_FORCED_TUNNELED:
    "The firewall sends Internet-bound traffic on-premises: add /32 routes with next hop Internet for the endpoint IPs on the workload subnet (or split-tunnel them on AzureFirewallSubnet).",
  FIREWALL_DENIES_PORT:
    "Add a network rule that allows TCP to the endpoint IPs from the subnet, in a rule collection processed before the deny (the finding's remediation has the firewall policy rule collection group).",
  PRIVATE_SUBNET_NO_OUTBOUND:
    "Give the private subnet an explicit outbound method: a NAT gateway with a public IP (routes to the Internet alone never work there).",
  NSG_DENIES_PORT:
    "Add an outbound allow rule for TCP to the endpoint IPs above the deny in the NSG (see the finding's remediation).",
  NVA_POLICY_UNKNOWN:
    "Declare what the appliance lets through (tag kms-route-audit-egress on its NIC, VM or load balancer, or --declarations), or route the endpoint IPs around it.",
  BGP_DEFAULT_ROUTE_POSSIBLE:
    "Read the gateway's learned routes (--confirm-gateway-routes) or add /32 routes with next hop Internet for the endpoint IPs, which no learned route can beat.",
  ROUTE_SERVER_ROUTES_UNKNOWN:
    "Read the Route Server peers' learned routes (a live scan with --confirm-gateway-routes, or export them as facts rows).",
  VIRTUAL_HUB_ROUTES_UNKNOWN:
    "Read the hub connection's effective routes (live, or export them as facts rows), or configure an Internet routing intent.",
  SERVICE_TAG_ROUTE_UNRESOLVED: "Supply Azure's service-tag file (--service-tags).",
  NEXT_HOP_NOT_IN_INVENTORY:
    "Include the next hop (firewall, appliance NIC or load balancer) in the scan or the export.",
};

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
              help: { text: HELP[code] ?? DEFAULT_HELP },
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
