import type { ScanResult } from "../model.js";
import { formatCsv } from "./csv.js";
import { jsonChunks, ndjsonChunks } from "./json.js";
import { formatSarif } from "./sarif.js";
import { formatTable } from "./table.js";

export const FORMATS = ["table", "json", "ndjson", "csv", "sarif"] as const;

export type OutputFormat = (typeof FORMATS)[number];

export function formatResult(
  result: ScanResult,
  format: OutputFormat,
  options: { color: boolean },
): string {
  return [...formatResultChunks(result, format, options)].join("");
}

/** The formatted output in pieces whose concatenation is formatResult's text. */
export function* formatResultChunks(
  result: ScanResult,
  format: OutputFormat,
  options: { color: boolean },
): Generator<string> {
  switch (format) {
    case "table":
      yield formatTable(result, options);
      return;
    case "json":
      yield* jsonChunks(result);
      return;
    case "ndjson":
      yield* ndjsonChunks(result);
      return;
    case "csv":
      yield formatCsv(result);
      return;
    case "sarif":
      yield formatSarif(result);
      return;
  }
}
