import type { ScanResult } from "../model.js";

export function formatJson(result: ScanResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** One finding per line, each carrying its run ID, for log pipelines. */
export function formatNdjson(result: ScanResult): string {
  return result.findings.map((f) => `${JSON.stringify({ runId: result.run.id, ...f })}\n`).join("");
}
