import { InputError, OutputError, describeError, oneLine } from "../errors.js";
import type { ByteStream } from "../inventory/load-estate.js";
import type { Logger } from "../logging/logger.js";
import type { CloudName, ScanResult, Status } from "../model.js";
import {
  formatResultChunks,
  writeChunksToFile,
  writeChunksToStream,
  type OutputFormat,
} from "../outputs/format.js";
import type { PendingStore } from "../outputs/log-analytics/index.js";
import type { SinkReport } from "../outputs/sink.js";
import { safeLine } from "../redact.js";
import { runScan } from "../scan.js";
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
}

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Standard input, read once as a stream when an --input is "-". */
  stdin: ByteStream;
  env: Record<string, string | undefined>;
  /** Where progress (on a terminal only) and one-line notices go; default: nowhere. */
  stderr?: ProgressStream;
}

export const EXIT = { ok: 0, findings: 1, usage: 2, incomplete: 3 } as const;

const FAIL_STATUSES: Record<"NonCompliant" | "Unverified", Status[]> = {
  NonCompliant: ["NonCompliant"],
  Unverified: ["NonCompliant", "Unverified"],
};

/** Reads (I/O), scans (pure engine), writes; returns the exit code of DESIGN.md section 5. */
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
  const { endpointSets, serviceTags, declarations, forcedSets } = await readCatalog(
    options.cloud,
    options.catalog,
  );

  const source = countingRows(await estateSourceFor(options, settings, io.stdin));
  // Progress only for the live source (files are read in one go), and only on a terminal.
  const progress = createProgressReporter(
    source.kind === "resource-graph" && io.stderr ? io.stderr : null,
  );
  const scanOptions = {
    source,
    cloud: options.cloud,
    endpointSets,
    serviceTags,
    declarations,
    forcedSets,
    logger,
    onProgress: progress.onProgress,
  };
  let result: ScanResult;
  try {
    // Live scans read facts before the audit (what Resource Graph does not hold, and learned or
    // effective routes when asked); loaded only then: it brings the Azure network SDK.
    const facts =
      source.kind === "resource-graph" ||
      options.confirmGatewayRoutes ||
      options.verifyEffectiveRoutes
        ? (await import("../confirm/cli.js")).factsFor(options, settings)
        : undefined;
    result = await runScan({ ...scanOptions, facts });
    progress.finish("done");
  } catch (error) {
    progress.finish("failed");
    throw error;
  }

  // A complete read that found no subnet at all is an input problem, never a clean run: a wrong
  // file (e.g. rows without the VNets), a wrong scope, or an identity that sees nothing.
  if (result.run.complete && result.findings.length === 0) {
    throw new InputError(noSubnetMessage(source));
  }

  const color =
    !options.output &&
    options.format === "table" &&
    io.stdout.isTTY === true &&
    !("NO_COLOR" in io.env);
  // Written in pieces: a large estate's JSON is longer than the longest JavaScript string.
  const chunks = formatResultChunks(result, options.format, { color });
  // A stdout that fails (ENOSPC, a closed pipe) does not stop the run: the delivery to Log
  // Analytics still happens, then the CLI ends with the one line that says what failed (exit 2).
  let outputFailure: OutputError | null = null;
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
      outputFailure = error;
    }
  }
  const code = exitCodeFor(result, options.failOn);
  const delivered = options.logAnalytics
    ? await writeToLogAnalytics(result, settings, io, logger)
    : true;
  if (outputFailure) throw outputFailure;
  return delivered ? code : EXIT.incomplete;
}

/**
 * Sends the result to Log Analytics after the output is written. Returns false when some record of
 * this run was not delivered (exit 3); says so in one stderr line, with how many records wait in
 * the pending store and where. The sink's own warnings stay at the debug levels the user chose:
 * by default the CLI's line is the one report.
 */
async function writeToLogAnalytics(
  result: ScanResult,
  settings: Settings,
  io: CommandIo,
  logger: Logger,
): Promise<boolean> {
  const say = (line: string) =>
    io.stderr?.write(`kms-route-audit: Log Analytics: ${safeLine(line)}\n`);
  const { createFilePendingStore, createLogAnalyticsSink, logAnalyticsSinkOptionsFromSettings } =
    await import("../outputs/log-analytics/index.js");
  const store = createFilePendingStore(settings.pendingDirectory);
  const sinkLogger = io.env.KMS_AUDIT_LOG_LEVEL ? logger : logger.child({}, { level: "error" });
  let report: SinkReport;
  try {
    const sink = createLogAnalyticsSink(
      logAnalyticsSinkOptionsFromSettings(settings, { pendingStore: store }),
    );
    report = await sink.write(result, { logger: sinkLogger });
  } catch (error) {
    say(`not written: ${oneLine(describeError(error))}`);
    return false;
  }
  // Everything else the sink met (rows of earlier runs dropped or still waiting, foreign names
  // or corrupt batches in the store, a store that cannot be written) goes on the same line.
  const notes = report.errors
    .filter((e) => e.code !== "LOG_ANALYTICS_UPLOAD_FAILED")
    .map((e) => `${e.code}: ${oneLine(e.message)}`);
  const storeUnusable = report.errors.some((e) => e.code === "LOG_ANALYTICS_PENDING_UNWRITABLE");
  if (report.failed > 0) {
    const pending = report.waitingRecords ?? null;
    const waiting = storeUnusable
      ? `they could not be kept for the next run`
      : pending === null
        ? `kept in ${store.location} for the next run with --log-analytics`
        : `${pending} records wait in ${store.location} for the next run with --log-analytics`;
    say(
      `${report.failed} of ${result.findings.length + 1} records of this run not delivered (${uploadCause(report, store)}); ${waiting}${notes.length > 0 ? `; ${notes.join("; ")}` : ""}`,
    );
    return false;
  }
  if (notes.length > 0) say(notes.join("; "));
  // Delivered, but without the pending store a failure would have lost rows: not a clean run.
  return !storeUnusable;
}

/** The upload error behind a failed report, without the sink's "(kept in DIR)" preamble. */
function uploadCause(report: SinkReport, store: PendingStore): string {
  const error =
    report.errors.find((e) => e.code === "LOG_ANALYTICS_UPLOAD_FAILED") ?? report.errors[0];
  if (!error) return "no detail";
  for (const marker of [
    `(kept in ${store.location}): `,
    "(NOT kept: the pending store is unusable): ",
  ]) {
    const at = error.message.indexOf(marker);
    if (at >= 0) return oneLine(error.message.slice(at + marker.length));
  }
  return oneLine(error.message);
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

/** Incomplete scans (3) outrank findings (1): a partial result cannot vouch for anything. */
export function exitCodeFor(result: ScanResult, failOn: ScanCommandOptions["failOn"]): number {
  if (!result.run.complete) return EXIT.incomplete;
  if (failOn && result.findings.some((f) => FAIL_STATUSES[failOn].includes(f.status)))
    return EXIT.findings;
  return EXIT.ok;
}
