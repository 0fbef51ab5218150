import { InputError, OutputError, describeError, oneLine } from "../errors.js";
import type { ByteStream } from "../sources/files/load-estate.js";
import type { Logger } from "../logging/logger.js";
import type { AttestationActionReport } from "../actions/attestation-action.js";
import type { CloudName, ScanResult } from "../model.js";
import { formatResultChunks, type OutputFormat } from "../outputs/format.js";
import { writeChunksToFile, writeChunksToStream } from "../outputs/write-output.js";
import type { ResultSink, SinkReport } from "../outputs/sink.js";
import { safeLine } from "../redact.js";
import { runAudit, type AuditOutcome } from "../run-audit.js";
import { exitCodeFor } from "../run-outcome.js";
import { logAnalyticsConfigured, type Settings } from "../settings.js";
import type { EstateSource } from "../sources/source.js";
import { estateSourceFor, readCatalog, type CatalogFiles } from "./estate-source.js";
import { createProgressReporter, type ProgressStream } from "./progress.js";

export interface ScanCommandOptions {
  input: string[];
  demo: boolean;
  cloud: CloudName;
  subscriptions: string[];
  managementGroups: string[];
  maxInputBytes: number;
  maxInputRows: number;
  format: OutputFormat;
  output: string | null;
  logAnalytics: boolean;
  failOn: "NonCompliant" | "Unverified" | null;
  catalog: CatalogFiles;
  /** Issue 6: confirm BGP-doubtful subnets against ARM (live only). */
  confirmGatewayRoutes?: boolean;
  verifyEffectiveRoutes?: boolean;
  /** Write (or with attestPlan, preview) Azure Policy attestations (README "Azure Policy"). */
  attest?: boolean;
  attestPlan?: boolean;
}

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Standard input, read once as a stream when an --input is "-". */
  stdin: ByteStream;
  env: Record<string, string | undefined>;
  /** Where progress (on a terminal only) and one-line notices go; default: nowhere. */
  stderr?: ProgressStream;
}

export { EXIT } from "../run-outcome.js";

/** Builds the plan from the flags, runs the one audit, renders; returns the exit code (DESIGN.md 5). */
export async function runScanCommand(
  options: ScanCommandOptions,
  settings: Settings,
  io: CommandIo,
  logger: Logger,
): Promise<number> {
  if (options.logAnalytics && !logAnalyticsConfigured(settings)) {
    throw new InputError(
      "--log-analytics needs the settings KMS_AUDIT_LOGS_ENDPOINT and KMS_AUDIT_DCR_ID",
    );
  }
  if (options.attestPlan && !options.attest)
    throw new InputError("--plan previews attestations: use it with --attest");
  if (options.attest && !settings.policyAssignmentId)
    throw new InputError(
      "--attest needs the policy assignment: --policy-assignment or KMS_AUDIT_POLICY_ASSIGNMENT_ID",
    );
  const attestations = options.attest
    ? (await import("../scan-setup.js")).attestationActionFromSettings(
        { ...settings, cloud: options.cloud },
        options.attestPlan ? "plan" : "apply",
      )
    : null;
  const catalog = await readCatalog(options.cloud, options.catalog);
  const source = countingRows(await estateSourceFor(options, settings, io.stdin));
  // Progress only for the live source (files are read in one go), and only on a terminal.
  const progress = createProgressReporter(
    source.kind === "resource-graph" && io.stderr ? io.stderr : null,
  );
  // Live scans read facts before the audit (what Resource Graph does not hold, and learned or
  // effective routes when asked); loaded only then: it brings the Azure network SDK.
  const facts =
    source.kind === "resource-graph" ||
    options.confirmGatewayRoutes ||
    options.verifyEffectiveRoutes
      ? (await import("./facts-flags.js")).factsFor(options, settings)
      : undefined;
  const logAnalytics = options.logAnalytics ? await logAnalyticsSink(settings, io, logger) : null;

  const color =
    !options.output &&
    options.format === "table" &&
    io.stdout.isTTY === true &&
    !("NO_COLOR" in io.env);
  // A stdout that fails (ENOSPC, a closed pipe) does not stop the run: the delivery to Log
  // Analytics still happens, then the CLI ends with the one line that says what failed (exit 2).
  const output: { failure: OutputError | null } = { failure: null };
  const render = async (result: ScanResult) => {
    progress.finish("done");
    // Written in pieces: a large estate's JSON is longer than the longest JavaScript string.
    const chunks = formatResultChunks(result, options.format, { color });
    if (options.output) {
      try {
        await writeChunksToFile(options.output, chunks);
      } catch (error) {
        throw new InputError(`${options.output}: cannot write output: ${describeError(error)}`);
      }
    } else {
      try {
        await writeChunksToStream(io.stdout, chunks);
      } catch (error) {
        if (!(error instanceof OutputError)) throw error;
        output.failure = error;
      }
    }
  };
  let outcome: AuditOutcome;
  try {
    outcome = await runAudit(
      {
        source,
        cloud: options.cloud,
        catalog,
        facts,
        policyAssignment: settings.policyAssignmentId
          ? {
              id: settings.policyAssignmentId,
              definitionReferenceId: settings.policyDefinitionReferenceId,
            }
          : null,
        actions: attestations ? [attestations] : [],
        sinks: logAnalytics ? [logAnalytics.sink] : [],
        // A complete read that found no subnet at all is an input problem, never a clean run: a
        // wrong file (e.g. rows without the VNets), a wrong scope, or an identity that sees nothing.
        noSubnetMessage: () => noSubnetMessage(source),
        render,
        onProgress: progress.onProgress,
      },
      { logger },
    );
  } catch (error) {
    progress.finish("failed");
    throw error;
  }
  if (logAnalytics) logAnalytics.report(outcome.result, outcome.sinks[0]!);
  if (attestations) reportAttestations(outcome, io);
  if (output.failure) throw output.failure;
  return exitCodeFor(outcome, options.failOn);
}

/**
 * One stderr line per attestation that is (or with --plan would be) written, then the counts:
 * what --attest --plan previews.
 */
function reportAttestations(outcome: AuditOutcome, io: CommandIo): void {
  const report = outcome.actions.find((a) => a.action === "attestations") as
    AttestationActionReport | undefined;
  if (!report?.items || !io.stderr) return;
  const verb = report.mode === "plan" ? "would write" : "wrote";
  for (const i of report.items)
    if (i.outcome === "create" || i.outcome === "change" || i.outcome === "renew")
      io.stderr.write(
        `kms-route-audit: attestation: ${verb} ${i.state} (${i.outcome}) for ${safeLine(i.subnetId)}\n`,
      );
    else if (i.outcome === "failed")
      io.stderr.write(
        `kms-route-audit: attestation failed for ${safeLine(i.subnetId)}: ${safeLine(i.error ?? "")}\n`,
      );
  const c = report.counts;
  io.stderr.write(
    `kms-route-audit: attestations (${report.mode}) for ${report.assignmentId}: ${c.create} new, ${c.change} changed, ${c.renew} renewed, ${c.unchanged} unchanged, ${c.skipped} skipped, ${c.failed} failed\n`,
  );
}

/**
 * The Log Analytics sink of the CLI (a file pending store), and the one stderr line that reports its
 * delivery: how many records of this run were not delivered and where they wait, and what else it
 * met. The sink's own warnings stay at the debug levels the user chose.
 */
async function logAnalyticsSink(settings: Settings, io: CommandIo, logger: Logger) {
  const say = (line: string) =>
    io.stderr?.write(`kms-route-audit: Log Analytics: ${safeLine(line)}\n`);
  const { createFilePendingStore, createLogAnalyticsSink, logAnalyticsSinkOptionsFromSettings } =
    await import("../outputs/log-analytics/index.js");
  const store = createFilePendingStore(settings.pendingDirectory);
  const sinkLogger = io.env.KMS_AUDIT_LOG_LEVEL ? logger : logger.child({}, { level: "error" });
  let created: ResultSink | null = null;
  let refused: unknown = null;
  try {
    created = createLogAnalyticsSink(
      logAnalyticsSinkOptionsFromSettings(settings, { pendingStore: store }),
    );
  } catch (error) {
    refused = error;
  }
  const sink: ResultSink = {
    name: "log-analytics",
    write: (result, context) => {
      if (!created) throw refused instanceof Error ? refused : new Error(String(refused));
      return created.write(result, { ...context, logger: sinkLogger });
    },
  };
  const report = (result: ScanResult, r: SinkReport) => {
    if (r.errors.some((e) => e.code === "SINK_FAILED")) {
      say(`not written: ${oneLine(r.cause ?? "no detail")}`);
      return;
    }
    // Everything else the sink met (rows of earlier runs dropped or still waiting, foreign names
    // or corrupt batches in the store, a store that cannot be written) goes on the same line.
    const notes = r.errors
      .filter((e) => e.code !== "LOG_ANALYTICS_UPLOAD_FAILED")
      .map((e) => `${e.code}: ${oneLine(e.message)}`);
    const storeUnusable = r.errors.some((e) => e.code === "LOG_ANALYTICS_PENDING_UNWRITABLE");
    if (r.failed > 0) {
      const pending = r.waitingRecords ?? null;
      const waiting = storeUnusable
        ? `they could not be kept for the next run`
        : pending === null
          ? `kept in ${store.location} for the next run with --log-analytics`
          : `${pending} records wait in ${store.location} for the next run with --log-analytics`;
      say(
        `${r.failed} of ${result.findings.length + 1} records of this run not delivered (${oneLine(r.cause ?? "no detail")}); ${waiting}${notes.length > 0 ? `; ${notes.join("; ")}` : ""}`,
      );
    } else if (notes.length > 0) say(notes.join("; "));
  };
  return { sink, report };
}

/** The source, counting the rows it hands over (for the no-subnet message). */
function countingRows(source: EstateSource): EstateSource & { readonly rows: number } {
  let rows = 0;
  return {
    kind: source.kind,
    inputs: source.inputs,
    scope: source.scope,
    get rows() {
      return rows;
    },
    async *read(context) {
      for await (const batch of source.read(context)) {
        rows += batch.length;
        yield batch;
      }
    },
  };
}

function noSubnetMessage(source: EstateSource & { readonly rows: number }): string {
  const what =
    source.kind === "resource-graph"
      ? `Resource Graph (${scopeLabel(source.scope)})`
      : source.inputs.join(", ");
  const hint =
    source.kind === "resource-graph"
      ? "check the scope and that the identity has Reader on it"
      : "an estate needs its virtual networks (with their subnets) or route tables; export one with kms-route-audit export (see README)";
  return `${what}: no subnet to audit in ${source.rows} rows read; ${hint}`;
}

function scopeLabel(scope: EstateSource["scope"]): string {
  const parts = [
    ...scope.subscriptions.map((s) => `subscription ${s}`),
    ...scope.managementGroups.map((m) => `management group ${m}`),
  ];
  return parts.length > 0 ? parts.join(", ") : "every subscription the identity can read";
}
