/**
 * npm run gen:estate -- --subnets N [--seed S] [--format json|ndjson] [--output FILE]
 *
 * Writes a synthetic estate (see estate-generator.ts) as it generates it, with back-pressure, so
 * the estate is never held in memory. NDJSON by default; json writes one JSON array.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { generateEstate } from "./estate-generator.js";

export async function writeEstate(options: {
  subnets: number;
  seed: number;
  format: "json" | "ndjson";
  output: string | null;
}): Promise<{ rows: number }> {
  const out = options.output ? createWriteStream(options.output) : process.stdout;
  const json = options.format === "json";
  let rows = 0;
  let buffer = json ? "[\n" : "";
  const flush = async () => {
    if (!out.write(buffer)) await once(out, "drain");
    buffer = "";
  };
  for (const row of generateEstate({ subnets: options.subnets, seed: options.seed })) {
    buffer += json ? `${rows > 0 ? ",\n" : ""}${JSON.stringify(row)}` : `${JSON.stringify(row)}\n`;
    rows += 1;
    if (buffer.length > 1 << 20) await flush();
  }
  buffer += json ? "\n]\n" : "";
  await flush();
  if (out !== process.stdout) {
    out.end();
    await once(out, "finish");
  }
  return { rows };
}

async function main() {
  const { values } = parseArgs({
    options: {
      subnets: { type: "string" },
      seed: { type: "string", default: "1" },
      format: { type: "string", default: "ndjson" },
      output: { type: "string" },
    },
  });
  const subnets = Number(values.subnets);
  const seed = Number(values.seed);
  if (!Number.isInteger(subnets) || subnets < 1)
    throw new Error("--subnets must be a positive integer");
  if (!Number.isInteger(seed)) throw new Error("--seed must be an integer");
  if (values.format !== "json" && values.format !== "ndjson")
    throw new Error("--format must be json or ndjson");
  const { rows } = await writeEstate({
    subnets,
    seed,
    format: values.format,
    output: values.output ?? null,
  });
  process.stderr.write(
    `gen:estate: ${subnets} subnets, ${rows} rows, seed ${seed}, ${values.format}\n`,
  );
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, "/"))) {
  main().catch((error: unknown) => {
    process.stderr.write(`gen:estate: ${(error as Error).message}\n`);
    process.exit(2);
  });
}
