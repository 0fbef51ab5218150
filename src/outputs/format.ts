import type { ScanResult } from "../model.js";
import { formatCsv } from "./csv.js";
import { formatJson, formatNdjson } from "./json.js";
import { formatSarif } from "./sarif.js";
import { formatTable } from "./table.js";

export const FORMATS = ["table", "json", "ndjson", "csv", "sarif"] as const;
export type OutputFormat = (typeof FORMATS)[number];

export function formatResult(
  result: ScanResult,
  format: OutputFormat,
  options: { color: boolean },
): string {
  switch (format) {
    case "table":
      return formatTable(result, options);
    case "json":
      return formatJson(result);
    case "ndjson":
      return formatNdjson(result);
    case "csv":
      return formatCsv(result);
    case "sarif":
      return formatSarif(result);
  }
}
