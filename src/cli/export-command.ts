import { createWriteStream, type WriteStream } from "node:fs";
import { exitWith } from "./command-exit.js";
import { rename, rm } from "node:fs/promises";
import { once } from "node:events";
import type { Command } from "commander";
import { InputError, describeError, oneLine } from "../errors.js";
import { createLogger } from "../logging/logger.js";
import { CLOUDS, type RunError } from "../model.js";
import type { LogLevel } from "../logging/levels.js";
import { readSettings } from "../settings.js";
import { addEstateOptions, estateInputsFrom } from "./estate-source.js";
import { createProgressReporter } from "./progress.js";
import { EXIT, type CommandIo } from "./scan-command.js";

/**
 * The type of the last line of an export that did not read everything. `scan --input` reports a
 * file ending with it as incomplete (INPUT_TRUNCATED, exit 3); other tools ignore the unknown type.
 */
export const EXPORT_INCOMPLETE_TYPE = "kms-route-audit/exportincomplete";

/** Where an export is written while it runs, and stays when it did not read everything. */
export function partialName(output: string): string {
  return `${output}.partial`;
}

async function writeLine(stream: WriteStream, line: string): Promise<void> {
  if (!stream.write(`${line}\n`)) await once(stream, "drain");
}

async function close(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.once("error", reject);
    stream.end(() => resolve());
  });
}

/**
 * `kms-route-audit export --output FILE`: the live Resource Graph read a scan does (every audited
 * resource type and the subscriptions, every page, paced on the quota, 429/5xx retried), written
 * as NDJSON, one ARM row per line, for `scan --input` later or elsewhere.
 *
 * The rows go to FILE.partial as they arrive; only a read with no error is renamed to FILE. When
 * a page or scope could not be read, or the read failed, FILE is not written: FILE.partial keeps
 * the rows that were read, followed by one marker line (type kms-route-audit/exportincomplete,
 * with the errors), and the command exits 3.
 */
export function registerExportCommand(program: Command, io: CommandIo) {
  const command = program
    .command("export")
    .description(
      "Write the live Resource Graph read (every page, paced) to an NDJSON estate file for scan --input.",
    )
    .requiredOption("-o, --output <file>", "the NDJSON file to write (FILE.partial while it runs)");
  addEstateOptions(command, {
    input: "not used by export",
    demo: "not used by export",
    cloud: `Azure cloud: ${CLOUDS.join(", ")} (default: KMS_AUDIT_CLOUD or AzureCloud)`,
    subscription: "limit to this subscription; repeatable",
    managementGroup: "limit to this management group; repeatable",
  })
    .addHelpText(
      "after",
      `
Examples:
  kms-route-audit export --output estate.ndjson                 everything the identity can read
  kms-route-audit export --management-group contoso --output estate.ndjson
  kms-route-audit scan --input estate.ndjson

Exit codes: 0 written, 2 usage error, 3 incomplete (FILE not written; FILE.partial ends with an
exportincomplete marker line, and scan --input of it exits 3).`,
    )
    .action(async (raw: Record<string, unknown>) => {
      const settings = readSettings(io.env);
      const inputs = estateInputsFrom(raw, settings);
      if (inputs.input.length > 0 || inputs.demo) {
        throw new InputError("export reads the live tenant; --input and --demo do not apply");
      }
      const output = String(raw.output);
      if (output === "-" || output.trim() === "") {
        throw new InputError("--output: name a file (the export is written to FILE.partial first)");
      }
      // The command's own closing line reports what could not be read; the source's retry and
      // error lines show with KMS_AUDIT_LOG_LEVEL=warn (or lower).
      const level: LogLevel = io.env.KMS_AUDIT_LOG_LEVEL ? settings.logLevel : "error";
      exitWith(await runExport(output, inputs, settings, io, createLogger({ level })));
    });
}

async function runExport(
  output: string,
  inputs: ReturnType<typeof estateInputsFrom>,
  settings: ReturnType<typeof readSettings>,
  io: CommandIo,
  logger: ReturnType<typeof createLogger>,
): Promise<number> {
  const { liveSourceFromSettings } = await import("../scan-setup.js");
  // The command line's cloud and scope win over the settings', as for scan.
  // Every NIC and VM row: an export is the estate as data, for any tool, not the scan's summary.
  const source = liveSourceFromSettings({ ...settings, cloud: inputs.cloud }, inputs, {}, "rows");
  const partial = partialName(output);
  const stream = createWriteStream(partial, { flags: "w" });
  try {
    await once(stream, "open");
  } catch (error) {
    throw new InputError(`${partial}: cannot write: ${describeError(error)}`);
  }
  const progress = createProgressReporter(io.stderr ?? null);
  const errors: RunError[] = [];
  let rows = 0;
  let failure: unknown = null;
  try {
    for await (const batch of source.read({
      logger,
      reportError: (error) => {
        errors.push(error);
        logger.warn({ error }, "part of the estate could not be read");
      },
      onProgress: progress.onProgress,
    })) {
      for (const row of batch) await writeLine(stream, JSON.stringify(row));
      rows += batch.length;
    }
    progress.finish(errors.length === 0 ? "done" : "failed");
  } catch (error) {
    progress.finish("failed");
    if (error instanceof InputError) {
      await close(stream).catch(() => undefined);
      await rm(partial, { force: true });
      throw error;
    }
    failure = error;
  }

  const say = (line: string) => io.stderr?.write(`kms-route-audit: ${line}\n`);
  if (failure === null && errors.length === 0) {
    await close(stream);
    await rename(partial, output);
    io.stdout.write(`exported ${rows} rows to ${output}\n`);
    return EXIT.ok;
  }
  const problems: RunError[] =
    failure === null
      ? errors
      : [
          ...errors,
          {
            code: "EXPORT_FAILED",
            message: oneLine(describeError(failure)),
            target: source.inputs[0] ?? "resource graph",
          },
        ];
  await writeLine(
    stream,
    JSON.stringify({
      id: `/providers/kms-route-audit/exports/${new Date().toISOString()}`,
      type: EXPORT_INCOMPLETE_TYPE,
      properties: { rows, errors: problems },
    }),
  );
  await close(stream);
  say(
    `export incomplete: ${problems.map((e) => `${e.code} ${oneLine(e.message)}`).join("; ")}; ` +
      `${output} not written; the ${rows} rows read are in ${partial}, marked incomplete`,
  );
  return EXIT.incomplete;
}
