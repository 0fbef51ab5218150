import { readEstateFile } from "../inventory/load-estate.js";
import type { EstateSource } from "./source.js";

/**
 * Estate files exported from a tenant (DESIGN.md section 5). Every file is parsed before any row
 * is yielded, so a malformed file fails the scan before it reports anything.
 */
export function createEstateFileSource(
  files: string[],
  options: { kind?: "file" | "demo"; stdin?: () => Promise<Buffer>; labels?: string[] } = {},
): EstateSource {
  return {
    kind: options.kind ?? "file",
    inputs: options.labels ?? files.map((f) => (f === "-" ? "<stdin>" : f)),
    scope: { subscriptions: [], managementGroups: [] },
    async *read(context) {
      const parsed = [];
      for (const file of files) parsed.push(await readEstateFile(file, options.stdin));
      for (const file of parsed) {
        for (const warning of file.warnings) context.reportError(warning);
        context.logger.debug({ file: file.name, rows: file.rows.length }, "estate file read");
        yield* file.rows;
      }
    },
  };
}
