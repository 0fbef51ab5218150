/**
 * The floor of an offline scan, run in a fresh child process: read the file and JSON.parse it
 * (NDJSON: read it in 1 MiB chunks and JSON.parse every line), keeping nothing.
 * Prints one JSON line: { rows, elapsedMs, maxRssBytes }.
 */
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";

async function parseNdjson(file: string): Promise<number> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let rows = 0;
  const parse = (line: string) => {
    if (line.trim() === "") return;
    JSON.parse(line);
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
  const [file, format] = process.argv.slice(2);
  if (!file || (format !== "json" && format !== "ndjson"))
    throw new Error("usage: floor.js FILE json|ndjson");
  const started = performance.now();
  const rows =
    format === "json"
      ? (JSON.parse((await readFile(file)).toString("utf8")) as unknown[]).length
      : await parseNdjson(file);
  const elapsedMs = performance.now() - started;
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ rows, elapsedMs, maxRssBytes })}\n`);
}

await main();
