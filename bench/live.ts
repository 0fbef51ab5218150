/**
 * Live benchmarks against the loopback emulators of kit/emulators:
 * - Resource Graph: the real source (real SDK, DefaultAzureCredential via a loopback managed
 *   identity, in a child process) against a quota and a per-page latency; pages used vs the
 *   minimum, 429s, and wall time vs the bound the quota sets.
 * - Log Analytics: the real sink against the Logs Ingestion emulator (1 MB per request);
 *   requests used vs ceil(bytes / 1 MB) and the largest request.
 */
import { createLogger } from "../src/logging/logger.js";
import { builtInCatalog } from "../src/catalog/catalog.js";
import { runAudit } from "../src/run-audit.js";
import { createLogAnalyticsSink } from "../src/outputs/log-analytics/index.js";
import { createMemoryPendingStore } from "../src/outputs/log-analytics/pending-store.js";
import { toFindingRows } from "../src/outputs/log-analytics/rows.js";
import { FINDINGS_TABLE } from "../src/outputs/log-analytics/schema.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { startResourceGraphEmulator } from "../kit/emulators/resource-graph.js";
import { startLogsIngestionEmulator } from "../kit/emulators/logs-ingestion.js";
import { memorySource, staticCredential } from "../kit/support/arm.js";
import { createLoopbackCertificate } from "../kit/support/tls.js";
import { startIdentityEndpoint } from "../kit/support/identity-endpoint.js";
import { runSourceInChild } from "../kit/support/source-process.js";
import { generateEstate } from "./estate-generator.js";

export interface LiveGraphFigures {
  subnets: number;
  rows: { subscriptions: number; resources: number };
  quota: { limit: number; windowInMs: number };
  latencyInMs: number;
  pages: number;
  minimumPages: number;
  throttled: number;
  elapsedMs: number;
  boundMs: number;
  rowsRead: number;
  errors: number;
}

/**
 * Lower bound of a paced scan: pages are sequential; every full quota window but the last costs a
 * whole window, and the pages of the last window cost at least their latency each.
 */
export function quotaBoundInMs(pages: number, limit: number, windowInMs: number, latency: number) {
  const windows = Math.ceil(pages / limit);
  const lastWindowPages = pages - (windows - 1) * limit;
  return (windows - 1) * windowInMs + lastWindowPages * latency;
}

export async function benchResourceGraph(options: {
  subnets: number;
  quota: { limit: number; windowInMs: number };
  latencyInMs: number;
}): Promise<LiveGraphFigures> {
  const rows = [...generateEstate({ subnets: options.subnets, seed: 7 })];
  const subscriptions = rows.filter((r) => r.type === "microsoft.resources/subscriptions").length;
  const resources = rows.length - subscriptions;
  const certificate = await createLoopbackCertificate();
  const identity = await startIdentityEndpoint();
  const emulator = await startResourceGraphEmulator({
    rows,
    isValidToken: (t) => identity.isValidToken(t),
    quota: options.quota,
    latencyInMs: options.latencyInMs,
  });
  try {
    const run = await runSourceInChild(
      { cloud: "AzureCloud", armEndpoint: emulator.url },
      { NODE_EXTRA_CA_CERTS: certificate.caFile, ...identity.env(), KMS_AUDIT_LOG_LEVEL: "warn" },
      600_000,
    );
    const minimumPages = Math.ceil(subscriptions / 1000) + Math.ceil(resources / 1000);
    const sent = emulator.requests.length;
    return {
      subnets: options.subnets,
      rows: { subscriptions, resources },
      quota: options.quota,
      latencyInMs: options.latencyInMs,
      pages: sent,
      minimumPages,
      throttled: emulator.throttled,
      elapsedMs: run.elapsedMs,
      boundMs: quotaBoundInMs(
        minimumPages,
        options.quota.limit,
        options.quota.windowInMs,
        options.latencyInMs,
      ),
      rowsRead: run.rows.length,
      errors: run.errors.length,
    };
  } finally {
    await emulator.close();
    await identity.close();
    await certificate.dispose();
  }
}

export interface LiveLogsFigures {
  findings: number;
  findingBytes: number;
  requests: number;
  minimumRequests: number;
  maxUncompressedBytes: number;
  maxCompressedBytes: number;
  rejected: number;
  elapsedMs: number;
}

export async function benchLogAnalytics(options: { subnets: number }): Promise<LiveLogsFigures> {
  const rows: ArmRow[] = [...generateEstate({ subnets: options.subnets, seed: 7 })];
  const logger = createLogger({ level: "warn" });
  const result = (
    await runAudit(
      {
        source: memorySource(rows),
        cloud: "AzureCloud",
        catalog: builtInCatalog("AzureCloud"),
      },
      { logger },
    )
  ).result;
  const DCR = "dcr-00000000000000000000000000000000";
  const emulator = await startLogsIngestionEmulator({ dcrId: DCR });
  try {
    const sink = createLogAnalyticsSink({
      endpoint: emulator.url,
      dcrId: DCR,
      pendingStore: createMemoryPendingStore(),
      credential: staticCredential,
      clientOptions: { tlsOptions: { ca: emulator.certificate.cert } },
    });
    const started = performance.now();
    await sink.write(result, { logger });
    const elapsedMs = performance.now() - started;
    // The payload: the JSON array of every finding row, as one request would carry it.
    const findingRows = toFindingRows(result);
    const findingBytes =
      findingRows.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0) +
      findingRows.length +
      1;
    const findings = emulator.requests.filter((r) => r.stream === FINDINGS_TABLE.stream);
    return {
      findings: result.findings.length,
      findingBytes,
      requests: findings.length,
      minimumRequests: Math.ceil(findingBytes / 1_000_000),
      maxUncompressedBytes: Math.max(...findings.map((r) => r.uncompressedBytes)),
      maxCompressedBytes: Math.max(...findings.map((r) => r.compressedBytes)),
      rejected: findings.filter((r) => r.status !== 204).length,
      elapsedMs,
    };
  } finally {
    await emulator.close();
  }
}
