/**
 * The engine alone: buildInventory + auditInventory on rows parsed beforehand (parsing and output
 * excluded). Run in a child: `node engine.js FILE repeats`; prints one JSON line.
 */
import { auditInventory } from "../src/audit/audit.js";
import { flattenEndpoints } from "../src/catalog/endpoints.js";
import { endpointSetsFor } from "../src/catalog/endpoints.js";
import { buildInventory } from "../src/inventory/inventory.js";
import { streamEstateFile } from "../src/sources/files/load-estate.js";
import type { ArmRow } from "../src/inventory/arm-row.js";

async function main() {
  const [file, repeatsText] = process.argv.slice(2);
  if (!file) throw new Error("usage: engine.js FILE [repeats]");
  const repeats = Number(repeatsText ?? 3);
  const rows: ArmRow[] = [];
  for await (const row of streamEstateFile(file, { warn: () => undefined })) rows.push(row);
  const endpoints = flattenEndpoints(endpointSetsFor("AzureCloud", undefined));
  const runs: { buildMs: number; auditMs: number; subnets: number }[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const inventory = buildInventory(rows);
    const t1 = performance.now();
    const { findings } = auditInventory(inventory, { endpoints });
    const t2 = performance.now();
    runs.push({ buildMs: t1 - t0, auditMs: t2 - t1, subnets: findings.length });
  }
  process.stdout.write(`${JSON.stringify({ rows: rows.length, runs })}\n`);
}

await main();
