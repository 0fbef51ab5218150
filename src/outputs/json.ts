import type { ScanResult } from "../model.js";

/**
 * `JSON.stringify(result, null, 2)` and a newline, in pieces: one per finding, so 1M findings
 * (gigabytes of text, more than the longest JavaScript string) can be written without ever being
 * one string. Each piece is the finding's own pretty-printed JSON indented to its depth.
 */
export function* jsonChunks(result: ScanResult): Generator<string> {
  const entries: [string, unknown][] = Object.entries(result).filter(([, v]) => v !== undefined);
  yield "{";
  for (let i = 0; i < entries.length; i++) {
    const [key, value] = entries[i]!;
    const head = `${i > 0 ? "," : ""}\n  ${JSON.stringify(key)}: `;
    if (key === "findings" && Array.isArray(value) && value.length > 0) {
      yield `${head}[`;
      for (let j = 0; j < value.length; j++) {
        yield `${j > 0 ? "," : ""}\n    ${indent(JSON.stringify(value[j], null, 2), "    ")}`;
      }
      yield "\n  ]";
    } else {
      yield `${head}${indent(JSON.stringify(value, null, 2), "  ")}`;
    }
  }
  yield entries.length > 0 ? "\n}\n" : "}\n";
}

// Newlines only occur between tokens of pretty-printed JSON (strings escape theirs).
function indent(json: string, by: string): string {
  return json.replaceAll("\n", `\n${by}`);
}

/** One finding per line, each carrying its run ID, for log pipelines. */
export function* ndjsonChunks(result: ScanResult): Generator<string> {
  for (const f of result.findings) yield `${JSON.stringify({ runId: result.run.id, ...f })}\n`;
}
