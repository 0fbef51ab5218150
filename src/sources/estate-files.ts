import type { ArmRow } from "../inventory/arm-row.js";
import { displayName } from "../inventory/load-estate.js";
import { readEstateBatches } from "../inventory/read-estate-batches.js";
import type { RunError } from "../model.js";
import type { EstateSource } from "./source.js";

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

/**
 * Estate files exported from a tenant (DESIGN.md section 5). Rows are yielded in batches as they
 * are read (a large file chunk by chunk; NDJSON is never held whole); a malformed file makes the read
 * throw, and the scan fails before it reports anything. Warnings (truncated exports) are reported
 * once every file has been read, in file order; so is a file that ends with the marker of an
 * incomplete `kms-route-audit export`.
 */
export function createEstateFileSource(
  files: string[],
  options: { kind?: "file" | "demo"; stdin?: () => Promise<Buffer>; labels?: string[] } = {},
): EstateSource {
  return {
    kind: options.kind ?? "file",
    inputs: options.labels ?? files.map(displayName),
    scope: { subscriptions: [], managementGroups: [] },
    async *read(context) {
      const warnings: RunError[] = [];
      for (const file of files) {
        let rows = 0;
        for await (const batch of readEstateBatches(file, {
          stdin: options.stdin,
          warn: (w) => warnings.push(w),
        })) {
          rows += batch.length;
          // An incomplete export ends with its marker row: the last row of the file's last batch.
          const last = batch[batch.length - 1];
          if (last?.type === EXPORT_INCOMPLETE_TYPE) warnings.push(exportMarkerWarning(file, last));
          yield batch;
        }
        context.logger.debug({ file: displayName(file), rows }, "estate file read");
      }
      for (const warning of warnings) context.reportError(warning);
    },
  };
}
