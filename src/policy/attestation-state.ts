import { createHash } from "node:crypto";
import { decidingEndpoint, pathInWords, type Finding, type Status } from "../model.js";
import { TOOL_VERSION } from "../version.js";

/**
 * What the scanner attests for a subnet (README "Azure Policy", the mapping):
 *
 * | scanner status | attested complianceState |
 * | Compliant      | Compliant                |
 * | NonCompliant   | NonCompliant             |
 * | Unverified     | Unknown                  |
 * | Exempt         | the state without the exemption (NonCompliant or Unknown) |
 * | NotApplicable  | nothing: the definition does not apply to platform subnets |
 *
 * Exempt is not attested as such: Azure Policy shows an exempted resource as Exempt whatever its
 * attestation ("Azure Policy compliance states"), from its own exemption; a subnet the scanner
 * exempts through the tag alone stays visible to the policy team, who grant exemptions in Policy.
 * So an attestation never depends on which exemptions the scanner could read.
 */

export type ComplianceState = "Compliant" | "NonCompliant" | "Unknown";

export function attestedStateOf(finding: Finding): ComplianceState | null {
  const status: Status =
    finding.status === "Exempt"
      ? (finding.exemption?.statusWithout ?? "Unverified")
      : finding.status;
  switch (status) {
    case "Compliant":
      return "Compliant";
    case "NonCompliant":
      return "NonCompliant";
    case "Unverified":
      return "Unknown";
    default:
      return null;
  }
}

/** The attestation's name at the subnet: one per assignment (and definition of an initiative). */
export function attestationName(assignmentId: string, referenceId: string | null): string {
  const hash = createHash("sha256")
    .update(`${assignmentId.toLowerCase()}|${referenceId?.toLowerCase() ?? ""}`)
    .digest("hex")
    .slice(0, 20);
  return `kms-route-audit-${hash}`;
}

export interface Evidence {
  description: string;
  sourceUri?: string;
}

/** The attestation properties the scanner writes (Attestation, api-version 2024-10-01). */
export interface AttestationBody {
  policyAssignmentId: string;
  policyDefinitionReferenceId?: string;
  complianceState: ComplianceState;
  comments: string;
  evidence: Evidence[];
  assessmentDate: Date;
  expiresOn: Date;
  metadata: Record<string, unknown>;
}

/** An attestation as read back (GET). */
export interface ExistingAttestation {
  policyAssignmentId?: string;
  policyDefinitionReferenceId?: string;
  complianceState?: string;
  comments?: string;
  evidence?: { description?: string; sourceUri?: string }[];
  expiresOn?: Date;
  assessmentDate?: Date;
}

/** How long an attestation lives, from the timer's schedule (README "Azure Policy"). */
export interface AttestationLifetime {
  /** The longest time between two scheduled runs. */
  intervalInMs: number;
}

const DAY_MS = 24 * 60 * 60_000;

/**
 * expiresOn = run time + two missed runs + a margin (the larger of a day and two runs). An
 * unchanged attestation is left alone until it would expire within two missed runs plus one run;
 * then it is renewed. So a scanner that stops leaves Compliant behind for at most
 * 2 runs + margin, and a running one writes an unchanged subnet about once per margin.
 */
export function expiryOf(lifetime: AttestationLifetime, runTime: Date): Date {
  const i = lifetime.intervalInMs;
  return new Date(runTime.getTime() + 2 * i + Math.max(DAY_MS, 2 * i));
}

export function renewBeforeInMs(lifetime: AttestationLifetime): number {
  return 3 * lifetime.intervalInMs;
}

/** Comments: the status, the reasons and the deciding hop (capped at 1,000 characters). */
export function commentsOf(finding: Finding): string {
  const parts = [`kms-route-audit: ${finding.status}`];
  if (finding.status === "Exempt" && finding.exemption)
    parts[0] += ` (otherwise ${finding.exemption.statusWithout}; ${finding.exemption.source === "tag" ? "exemption tag" : "Azure Policy exemption"})`;
  parts.push(`reasons ${finding.reasons.join(", ") || "none"}`);
  const deciding = decidingEndpoint(finding);
  if (deciding)
    parts.push(
      `deciding path (${deciding.set} ${deciding.ip}:${deciding.port}): ${pathInWords(deciding.path)}`,
    );
  const text = `${parts.join(". ")}.`;
  return text.length <= 1000 ? text : `${text.slice(0, 997)}...`;
}

export interface EvidenceOptions {
  runId: string;
  runTime: Date;
  /** A link to the run's rows (Log Analytics), when the workspace is known. */
  sourceUri: string | null;
}

export function evidenceOf(finding: Finding, o: EvidenceOptions): Evidence[] {
  const query = `KmsRouteAudit_CL | where RunId == '${o.runId}' and SubnetId =~ '${finding.subnetId}'`;
  return [
    {
      description: `kms-route-audit run ${o.runId} (${o.runTime.toISOString()}) judged the subnet ${finding.status}; its row in Log Analytics: ${query}`,
      ...(o.sourceUri ? { sourceUri: o.sourceUri } : {}),
    },
  ];
}

export function desiredAttestation(
  finding: Finding,
  state: ComplianceState,
  o: EvidenceOptions & {
    assignmentId: string;
    referenceId: string | null;
    lifetime: AttestationLifetime;
  },
): AttestationBody {
  return {
    policyAssignmentId: o.assignmentId,
    ...(o.referenceId ? { policyDefinitionReferenceId: o.referenceId } : {}),
    complianceState: state,
    comments: commentsOf(finding),
    evidence: evidenceOf(finding, o),
    assessmentDate: o.runTime,
    expiresOn: expiryOf(o.lifetime, o.runTime),
    metadata: {
      scanner: "kms-route-audit",
      scannerVersion: TOOL_VERSION,
      runId: o.runId,
      status: finding.status,
      severity: finding.severity,
      reasons: finding.reasons,
    },
  };
}

export type WriteDecision = "create" | "change" | "renew" | "unchanged";

/**
 * Whether to write: no attestation yet, one that says something else (state, comments,
 * assignment, definition reference, evidence link), or one that would expire within
 * renewBeforeInMs. The evidence's words name the run that assessed it: an unchanged verdict keeps
 * the evidence (and assessmentDate) of the run that first reported it until it is renewed.
 */
export function writeDecision(
  existing: ExistingAttestation | null,
  desired: AttestationBody,
  now: Date,
  lifetime: AttestationLifetime,
): WriteDecision {
  if (existing === null) return "create";
  const same =
    existing.complianceState === desired.complianceState &&
    (existing.comments ?? "") === desired.comments &&
    (existing.policyAssignmentId ?? "").toLowerCase() ===
      desired.policyAssignmentId.toLowerCase() &&
    (existing.policyDefinitionReferenceId ?? "").toLowerCase() ===
      (desired.policyDefinitionReferenceId ?? "").toLowerCase() &&
    sameSources(existing.evidence ?? [], desired.evidence);
  if (!same) return "change";
  const expires = existing.expiresOn?.getTime();
  if (expires === undefined || Number.isNaN(expires)) return "renew";
  return expires - now.getTime() < renewBeforeInMs(lifetime) ? "renew" : "unchanged";
}

function sameSources(a: { sourceUri?: string }[], b: Evidence[]): boolean {
  const key = (list: { sourceUri?: string }[]) =>
    list
      .map((e) => e.sourceUri ?? "")
      .sort()
      .join("\n");
  return a.length === b.length && key(a) === key(b);
}
