/**
 * The floor of an offline scan, run in a fresh child process: read the file and JSON.parse it
 * (NDJSON: read it in 1 MiB chunks and JSON.parse every line), keeping nothing. With `index`, also
 * keep one Map entry per row keyed by its lower-cased ID: the least any case-insensitive audit
 * must keep, so the floor of a scan that remembers anything.
 * Prints one JSON line: { rows, elapsedMs, maxRssBytes }.
 */
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";

const index = new Map<string, unknown>();
let indexing = false;
function keep(row: unknown): void {
  if (!indexing) return;
  const { id, type } = row as { id: string; type: unknown };
  index.set(id.toLowerCase(), type);
}

async function parseNdjson(file: string): Promise<number> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let rows = 0;
  const parse = (line: string) => {
    if (line.trim() === "") return;
    keep(JSON.parse(line));
    rows += 1;
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    pending += decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = pending.indexOf("\n"); nl !== -1; nl = pending.indexOf("\n", start)) {
      parse(pending.slice(start, nl));
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  parse(pending + decoder.end());
  return rows;
}

async function main() {
  const [file, format, mode] = process.argv.slice(2);
  if (!file || (format !== "json" && format !== "ndjson") || (mode && mode !== "index"))
    throw new Error("usage: floor.js FILE json|ndjson [index]");
  indexing = mode === "index";
  const started = performance.now();
  let rows: number;
  if (format === "json") {
    const items = JSON.parse((await readFile(file)).toString("utf8")) as unknown[];
    items.forEach(keep);
    rows = items.length;
  } else {
    rows = await parseNdjson(file);
  }
  const elapsedMs = performance.now() - started;
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ rows, elapsedMs, maxRssBytes })}\n`);
}

await main();
