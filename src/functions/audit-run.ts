import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../logging/logger.js";
import type { ScanResult } from "../model.js";
import { DefaultAzureCredential } from "@azure/identity";
import {
  createBlobPendingStoreFromUrl,
  createFilePendingStore,
  type PendingStore,
} from "../outputs/log-analytics/index.js";
import type { SinkReport } from "../outputs/sink.js";
import {
  liveScanOptions,
  logAnalyticsSinkFromSettings,
  writeToSinks,
  type LiveScanOverrides,
  type LiveScope,
} from "../scan-setup.js";
import type { Settings } from "../settings.js";
import { createFactsStage } from "../facts/facts-stage.js";
import { runScanWithInventory } from "../scan.js";
import { remediateScanned, type RemediationReport } from "../remediate/remediate.js";

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

export interface AuditRun {
  result: ScanResult;
  reports: SinkReport[];
  /** The plan or the changes made, when KMS_AUDIT_REMEDIATION asked for them and `remediate`. */
  remediation: RemediationReport | null;
}

/** The live scan every function runs: Resource Graph in `scope`, then Log Analytics if `write`. */
export async function runLiveAudit(options: {
  settings: Settings;
  env: Record<string, string | undefined>;
  scope?: LiveScope;
  write: boolean;
  runId: string;
  /** Without the run ID bound: it is bound here. */
  logger: Logger;
  overrides?: LiveScanOverrides;
  signal?: AbortSignal;
  /** Run KMS_AUDIT_REMEDIATION's plan or apply after the audit (the timer; never HTTP). */
  remediate?: boolean;
}): Promise<AuditRun> {
  const { settings } = options;
  // runScan binds the run ID itself; the lines of this function and the sinks get it here.
  const logger = options.logger.child({ runId: options.runId });
  const started = Date.now();
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
  const scanOptions = await liveScanOptions({
    settings,
    scope: options.scope,
    logger: options.logger,
    signal: options.signal,
    newRunId: () => options.runId,
    overrides: options.overrides,
  });
  const network = {
    cloud: settings.cloud,
    armEndpoint: settings.armEndpoint,
    ...(options.overrides?.credential ? { credential: options.overrides.credential } : {}),
  };
  // Confirmation against ARM when the settings ask for it (KMS_AUDIT_CONFIRM_GATEWAY_ROUTES,
  // KMS_AUDIT_VERIFY_EFFECTIVE_ROUTES), as the CLI's flags do.
  const scanned = await runScanWithInventory({
    ...scanOptions,
    facts: createFactsStage({
      learnedRoutes: settings.confirmGatewayRoutes,
      effectiveRoutes: settings.verifyEffectiveRoutes,
      network,
    }),
  });
  const { result } = scanned;
  let remediation: RemediationReport | null = null;
  if (options.remediate && settings.remediation !== "off") {
    remediation = await remediateScanned(
      scanned,
      { mode: settings.remediation, replaceConflicting: false, network },
      { cloud: settings.cloud, logger, signal: options.signal },
    );
    // The audit trail: one line per change, with the run ID, in Application Insights.
    for (const change of remediation.changes) logger.info({ change }, "remediation change");
    logger.info({ mode: remediation.mode, counts: remediation.counts }, "remediation finished");
  }
  const reports = await writeToSinks(result, sinks, { logger, signal: options.signal });
  logger.info(
    {
      complete: result.run.complete,
      errors: result.run.errors.length,
      counts: result.run.counts,
      sinks: reports.map(({ sink, delivered, failed }) => ({ sink, delivered, failed })),
      durationInMs: Date.now() - started,
    },
    "audit finished",
  );
  return { result, reports, remediation };
}

/** Records the sinks could not deliver in this run. */
export function failedRecords(reports: readonly SinkReport[]): number {
  return reports.reduce((n, r) => n + r.failed, 0);
}
