import type { ArmRow } from "../../inventory/arm-row.js";
import { InputError } from "../../errors.js";
import {
  DEFAULT_MAX_INPUT_ROWS,
  MAX_INPUT_ROWS_SETTING,
  displayName,
  type ByteStream,
} from "./load-estate.js";
import { readEstateBatches } from "./read-estate-batches.js";
import type { RunError } from "../../model.js";
import type { EstateSource } from "../source.js";

/** The last line of an incomplete `kms-route-audit export` (src/cli/export-command.ts). */
const EXPORT_INCOMPLETE_TYPE = "kms-route-audit/exportincomplete";

/** What an export's incomplete marker says, as a run error of the file. */
function exportMarkerWarning(file: string, row: ArmRow): RunError {
  const properties = row.properties as
    { rows?: unknown; errors?: { code?: unknown }[] } | undefined;
  const codes = Array.isArray(properties?.errors)
    ? [...new Set(properties.errors.map((e) => String(e?.code)))].join(", ")
    : "unknown";
  return {
    code: "INPUT_TRUNCATED",
    target: displayName(file),
    message: `${displayName(file)}: an incomplete kms-route-audit export (${codes}): subnets may be missing; export again`,
  };
}

export interface EstateFileSourceOptions {
  kind?: "file" | "demo";
  /** Standard input ("-"), read once as a stream; default process.stdin. */
  stdin?: ByteStream;
  labels?: string[];
  /** Bytes one input may hold; default 4 GiB (DEFAULT_MAX_INPUT_BYTES). */
  maxInputBytes?: number;
  /** Rows all the inputs together may hold; default 10 million (DEFAULT_MAX_INPUT_ROWS). */
  maxInputRows?: number;
}

/**
 * Estate files exported from a tenant (DESIGN.md section 5). Rows are yielded in batches as they
 * are read (a large file chunk by chunk; NDJSON is never held whole); a malformed file makes the read
 * throw, and the scan fails before it reports anything. Warnings (truncated exports) are reported
 * once every file has been read, in file order; so is a file that ends with the marker of an
 * incomplete `kms-route-audit export`. Inputs are bounded: a file larger than
 * maxInputBytes, or more than maxInputRows rows in all, is refused (an input error, exit 2), so an
 * endless stream (/dev/urandom, `yes`) ends with a message instead of exhausting memory.
 */
export function createEstateFileSource(
  files: string[],
  options: EstateFileSourceOptions = {},
): EstateSource {
  const maxRows = options.maxInputRows ?? DEFAULT_MAX_INPUT_ROWS;
  return {
    kind: options.kind ?? "file",
    inputs: options.labels ?? files.map(displayName),
    scope: { subscriptions: [], managementGroups: [] },
    async *read(context) {
      const warnings: RunError[] = [];
      let total = 0;
      for (const file of files) {
        let rows = 0;
        for await (const batch of readEstateBatches(file, {
          stdin: options.stdin,
          warn: (w) => warnings.push(w),
          ...(options.maxInputBytes !== undefined ? { maxBytes: options.maxInputBytes } : {}),
        })) {
          rows += batch.length;
          // An incomplete export ends with its marker row: the last row of the file's last batch.
          const last = batch[batch.length - 1];
          if (last?.type === EXPORT_INCOMPLETE_TYPE) warnings.push(exportMarkerWarning(file, last));
          total += batch.length;
          if (total > maxRows) {
            throw new InputError(
              `${displayName(file)}: more than the input limit of ${maxRows} rows in all inputs (${MAX_INPUT_ROWS_SETTING} raise it)`,
            );
          }
          yield batch;
        }
        context.logger.debug({ file: displayName(file), rows }, "estate file read");
      }
      for (const warning of warnings) context.reportError(warning);
    },
  };
}
