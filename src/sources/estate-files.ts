import { displayName } from "../inventory/load-estate.js";
import { readEstateBatches } from "../inventory/read-estate-batches.js";
import type { RunError } from "../model.js";
import type { EstateSource } from "./source.js";

/**
 * Estate files exported from a tenant (DESIGN.md section 5). Rows are yielded in batches as they
 * are read (a large file chunk by chunk; NDJSON is never held whole); a malformed file makes the read
 * throw, and the scan fails before it reports anything. Warnings (truncated exports) are reported
 * once every file has been read, in file order.
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
          yield batch;
        }
        context.logger.debug({ file: displayName(file), rows }, "estate file read");
      }
      for (const warning of warnings) context.reportError(warning);
    },
  };
}
