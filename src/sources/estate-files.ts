import { InputError } from "../errors.js";
import {
  DEFAULT_MAX_INPUT_ROWS,
  MAX_INPUT_ROWS_SETTING,
  displayName,
  type ByteStream,
} from "../inventory/load-estate.js";
import { readEstateBatches } from "../inventory/read-estate-batches.js";
import type { RunError } from "../model.js";
import type { EstateSource } from "./source.js";

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
 * once every file has been read, in file order. Inputs are bounded: a file larger than
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
