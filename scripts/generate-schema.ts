/**
 * Writes infra/app/log-analytics-schema.json from src/outputs/log-analytics/schema.ts, the one
 * declaration of the Log Analytics tables. Bicep loads the file with loadJsonContent for the
 * workspace tables and the DCR stream declarations. `--check` fails when the file is stale.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { infraSchemaDocument } from "../src/outputs/log-analytics/schema.js";

export const SCHEMA_FILE = fileURLToPath(
  new URL("../../infra/app/log-analytics-schema.json", import.meta.url),
);

export function renderSchemaFile(): string {
  return `${JSON.stringify(infraSchemaDocument(), null, 2)}\n`;
}

async function main() {
  const text = renderSchemaFile();
  if (process.argv.includes("--check")) {
    const current = await readFile(SCHEMA_FILE, "utf8").catch(() => "");
    if (current !== text) {
      process.stderr.write(`${SCHEMA_FILE} is stale: run npm run generate:schema\n`);
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(SCHEMA_FILE, text);
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
