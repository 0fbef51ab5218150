import { keyOf, parseResourceId } from "../inventory/resource-id.js";
import type { Inventory } from "../inventory/types.js";
import type { CloudName, Finding, RunError } from "../model.js";
import { mapWithConcurrency } from "../azure/network-client.js";
import { describeError } from "../errors.js";
import {
  attestationName,
  attestedStateOf,
  desiredAttestation,
  writeDecision,
  type AttestationLifetime,
  type ComplianceState,
  type WriteDecision,
} from "../policy/attestation-state.js";
import { AttestationConflict, type AttestationsClient } from "../policy/attestations-client.js";
import { scopeOfPolicyId } from "../policy/types.js";
import type { ActionReport, AuditAction } from "./action.js";

/**
 * Azure Policy attestations as an action (README "Azure Policy"): after the audit, one attestation
 * per audited subnet in the assignment's scope, at the subnet (resource scope), with the state the
 * mapping of attestation-state.ts gives, the reasons and deciding hop as comments, evidence naming
 * the run, assessmentDate = the run's start and expiresOn two missed runs later plus a margin.
 * Each is read first and written only when it would say something else or is due for renewal, so
 * a second run over the same estate writes nothing.
 *
 * Never written: subnets the run could not read (known only from a route table's reference, or
 * Unverified in a run that is incomplete: their unknowns may come from what was not read),
 * platform subnets (the definition does not apply to them), subnets outside the assignment's
 * scope or in its notScopes.
 */

export interface AttestationActionOptions {
  assignmentId: string;
  /** The definition's reference ID when the assignment is an initiative's. */
  definitionReferenceId: string | null;
  /** plan: read and report what would be written; apply: write it. */
  mode: "plan" | "apply";
  lifetime: AttestationLifetime;
  /** A link the evidence points at (the Log Analytics workspace's logs), when known. */
  evidenceUri: string | null;
  client: AttestationsClient;
  /** Subnets handled at once; default 4. */
  concurrency?: number;
}

export type SkipReason =
  "notApplicable" | "outOfScope" | "excluded" | "scopeUnknown" | "notRead" | "incompleteScan";

export interface AttestationItem {
  subnetId: string;
  status: Finding["status"];
  state: ComplianceState | null;
  /** What was (apply) or would be (plan) done. */
  outcome: WriteDecision | "skipped" | "failed";
  /** Why it was skipped. */
  skipped?: SkipReason;
  /** Whether it was written in this run (apply mode, create/change/renew). */
  written: boolean;
  error?: string;
}

export interface AttestationActionReport extends ActionReport {
  mode: "plan" | "apply";
  assignmentId: string;
  items: AttestationItem[];
  counts: Record<WriteDecision | "skipped" | "failed" | "written", number>;
}

interface AssignmentScope {
  scope: string;
  notScopes: string[];
}

function assignmentScopeOf(inventory: Inventory, assignmentId: string): AssignmentScope | null {
  const row = inventory.policy.assignments.get(keyOf(assignmentId));
  if (row) return { scope: row.scope, notScopes: row.notScopes };
  const scope = scopeOfPolicyId(assignmentId);
  return scope === null ? null : { scope, notScopes: [] };
}

const MG = /^\/providers\/microsoft\.management\/managementgroups\/([^/]+)$/i;

/** Whether `id` is at or below `scope`: true, false, or null when the hierarchy is unknown. */
export function isWithin(inventory: Inventory, id: string, scope: string): boolean | null {
  const key = keyOf(id);
  const scopeKey = keyOf(scope).replace(/\/+$/, "");
  const mg = MG.exec(scopeKey);
  if (mg) {
    const sub = parseResourceId(id).subscriptionId?.toLowerCase();
    if (!sub) return false;
    const chain = inventory.managementGroupsBySubscription.get(sub);
    if (!chain) return null;
    return chain.includes(mg[1]!.toLowerCase());
  }
  return key === scopeKey || key.startsWith(`${scopeKey}/`);
}

export function attestationAction(
  options: AttestationActionOptions,
): AuditAction<AttestationActionReport> {
  return {
    name: "attestations",
    async run({ result, inventory, logger, signal, now }) {
      const log = logger.child({ action: "attestations", assignmentId: options.assignmentId });
      const scope = assignmentScopeOf(inventory, options.assignmentId);
      if (scope === null) throw new Error(`${options.assignmentId} is not a policy assignment ID`);
      if (!inventory.policy.assignments.has(keyOf(options.assignmentId)))
        log.warn(
          { scope: scope.scope },
          "attestations: the assignment is not in the inventory (policy not read); its scope comes from its ID and its notScopes are unknown",
        );
      const name = attestationName(options.assignmentId, options.definitionReferenceId);
      const runTime = new Date(result.run.startedAt);
      const complete = result.run.complete;

      const skip = (
        f: Finding,
        why: SkipReason,
        state: ComplianceState | null,
      ): AttestationItem => ({
        subnetId: f.subnetId,
        status: f.status,
        state,
        outcome: "skipped",
        skipped: why,
        written: false,
      });

      const handle = async (f: Finding): Promise<AttestationItem> => {
        const state = attestedStateOf(f);
        if (state === null) return skip(f, "notApplicable", null);
        const within = isWithin(inventory, f.subnetId, scope.scope);
        if (within === null) return skip(f, "scopeUnknown", state);
        if (!within) return skip(f, "outOfScope", state);
        if (scope.notScopes.some((n) => isWithin(inventory, f.subnetId, n) === true))
          return skip(f, "excluded", state);
        if (inventory.subnets.get(keyOf(f.subnetId))?.unread) return skip(f, "notRead", state);
        // In a partial run only what read data decided is attested (a partial scan never
        // reports an unread subnet Compliant; an Unverified one may be unverified by the gap).
        if (!complete && state === "Unknown") return skip(f, "incompleteScan", state);
        const desired = desiredAttestation(f, state, {
          assignmentId: options.assignmentId,
          referenceId: options.definitionReferenceId,
          lifetime: options.lifetime,
          runId: result.run.id,
          runTime,
          sourceUri: options.evidenceUri,
        });
        const item: AttestationItem = {
          subnetId: f.subnetId,
          status: f.status,
          state,
          outcome: "unchanged",
          written: false,
        };
        try {
          for (let attempt = 0; ; attempt++) {
            const existing = await options.client.get(f.subnetId, name, signal);
            const decision = writeDecision(existing, desired, now(), options.lifetime);
            item.outcome = decision;
            if (decision === "unchanged" || options.mode === "plan") return item;
            try {
              await options.client.put(f.subnetId, name, desired, signal);
              item.written = true;
              log.info(
                { subnetId: f.subnetId, complianceState: state, decision, attestation: name },
                "attestation written",
              );
              return item;
            } catch (error) {
              // Someone wrote it at the same moment: read what is there now and decide again.
              if (error instanceof AttestationConflict && attempt === 0) continue;
              throw error;
            }
          }
        } catch (error) {
          if (signal?.aborted) throw error;
          item.outcome = "failed";
          item.error = describeError(error);
          log.warn({ subnetId: f.subnetId, error: item.error }, "attestation not written");
          return item;
        }
      };

      const items = await mapWithConcurrency(result.findings, options.concurrency ?? 4, handle);
      const counts: AttestationActionReport["counts"] = {
        create: 0,
        change: 0,
        renew: 0,
        unchanged: 0,
        skipped: 0,
        failed: 0,
        written: 0,
      };
      for (const i of items) {
        counts[i.outcome] += 1;
        if (i.written) counts.written += 1;
      }
      const errors: RunError[] = items
        .filter((i) => i.outcome === "failed")
        .map((i) => ({
          code: "ATTESTATION_FAILED",
          target: i.subnetId,
          message: `attestation of ${i.subnetId} not written: ${i.error ?? "failed"}`,
        }));
      log.info({ mode: options.mode, counts }, "attestations finished");
      return {
        action: "attestations",
        failed: counts.failed,
        errors,
        mode: options.mode,
        assignmentId: options.assignmentId,
        items,
        counts,
      };
    },
  };
}

const PORTALS: Record<CloudName, string> = {
  AzureCloud: "https://portal.azure.com",
  AzureUSGovernment: "https://portal.azure.us",
  AzureChinaCloud: "https://portal.azure.cn",
};

/** The Azure portal's Logs blade of the Log Analytics workspace, as evidence. */
export function workspaceLogsUri(cloud: CloudName, workspaceId: string): string {
  return `${PORTALS[cloud]}/#@/resource${workspaceId.trim()}/logs`;
}
