import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../logging/logger.js";
import { DefaultAzureCredential } from "@azure/identity";
import {
  createBlobPendingStoreFromUrl,
  createFilePendingStore,
  type PendingStore,
} from "../outputs/log-analytics/index.js";
import { remediationAction } from "../actions/remediation-action.js";
import type { AuditAction } from "../actions/action.js";
import { runAudit, type AuditOutcome } from "../run-audit.js";
import {
  armNetworkOptions,
  attestationActionFromSettings,
  livePlan,
  logAnalyticsSinkFromSettings,
  type LiveScanOverrides,
  type LiveScope,
} from "../scan-setup.js";
import type { Settings } from "../settings.js";

/** What the registered functions get by default, and tests replace. */
export interface FunctionDependencies {
  /** Read at each invocation, never at import. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Credential and client transport (tests: the loopback certificate). */
  overrides?: LiveScanOverrides;
}

/**
 * Where a Function App keeps rows Log Analytics did not take: the blob container of
 * KMS_AUDIT_PENDING_BLOB_URL (the app's own storage, reached with its identity; the Bicep sets it),
 * so they survive the instance; without it, KMS_AUDIT_PENDING_DIR or the instance's temporary
 * directory (Flex Consumption has no lasting local disk: those rows live as long as the instance).
 */
export function functionsPendingStore(
  settings: Settings,
  env: Record<string, string | undefined>,
  overrides: LiveScanOverrides = {},
): PendingStore {
  if (settings.pendingBlobUrl) {
    return createBlobPendingStoreFromUrl(
      settings.pendingBlobUrl,
      overrides.credential ?? new DefaultAzureCredential(),
    );
  }
  const directory = env.KMS_AUDIT_PENDING_DIR?.trim()
    ? settings.pendingDirectory
    : join(tmpdir(), "kms-route-audit", "pending");
  return createFilePendingStore(directory);
}

/** The live audit every function runs: the settings' plan in `scope`, Log Analytics if `write`. */
export async function runLiveAudit(options: {
  settings: Settings;
  env: Record<string, string | undefined>;
  scope?: LiveScope;
  write: boolean;
  runId: string;
  logger: Logger;
  overrides?: LiveScanOverrides;
  signal?: AbortSignal;
  /** Run KMS_AUDIT_REMEDIATION's plan or apply after the audit (the timer; never HTTP). */
  remediate?: boolean;
  /**
   * Write Azure Policy attestations after the audit when KMS_AUDIT_POLICY_ASSIGNMENT_ID is set
   * (the timer; never HTTP).
   */
  attest?: boolean;
}): Promise<AuditOutcome> {
  const { settings } = options;
  // Sinks first: a bad Log Analytics setting fails before the tenant is read, not after.
  const sinks = options.write
    ? [
        logAnalyticsSinkFromSettings(
          settings,
          functionsPendingStore(settings, options.env, options.overrides),
          options.overrides,
        ),
      ]
    : [];
  const plan = await livePlan({
    settings,
    scope: options.scope,
    signal: options.signal,
    newRunId: () => options.runId,
    overrides: options.overrides,
  });
  const actions: AuditAction[] =
    options.remediate && settings.remediation !== "off"
      ? [
          remediationAction({
            mode: settings.remediation,
            replaceConflicting: false,
            network: armNetworkOptions(settings, options.overrides),
          }),
        ]
      : [];
  const attestations = options.attest
    ? attestationActionFromSettings(settings, "apply", options.overrides)
    : null;
  if (attestations) actions.push(attestations);
  return runAudit({ ...plan, actions, sinks }, { logger: options.logger });
}
