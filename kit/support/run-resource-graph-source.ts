/**
 * Child-process driver for tests: runs the live Resource Graph source with the real SDK and
 * DefaultAzureCredential, in a process started with NODE_EXTRA_CA_CERTS (trusting the loopback
 * certificate) and IDENTITY_ENDPOINT / IDENTITY_HEADER (the loopback managed identity).
 * Options come as JSON in KMS_TEST_SOURCE_OPTIONS; the result is one JSON line on stdout;
 * pino logs go to stderr.
 */
import { createLogger } from "../../src/logging/logger.js";
import type { RunError } from "../../src/model.js";
import {
  createResourceGraphSource,
  type ResourceGraphSourceOptions,
} from "../../src/sources/resource-graph/index.js";
import type { ArmRow } from "../../src/inventory/arm-row.js";

export interface DriverResult {
  rows: ArmRow[];
  errors: RunError[];
  elapsedMs: number;
  inputs: string[];
  thrown: { name: string; message: string } | null;
}

async function main() {
  const options = JSON.parse(
    process.env.KMS_TEST_SOURCE_OPTIONS ?? "{}",
  ) as ResourceGraphSourceOptions;
  const logger = createLogger({ level: "debug" });
  const errors: RunError[] = [];
  const rows: ArmRow[] = [];
  const started = Date.now();
  let thrown: DriverResult["thrown"] = null;
  let inputs: string[] = [];
  try {
    const source = createResourceGraphSource(options);
    inputs = source.inputs;
    for await (const batch of source.read({ logger, reportError: (e) => errors.push(e) })) {
      rows.push(...batch);
    }
  } catch (error) {
    const e = error as Error;
    thrown = { name: e.name, message: e.message };
  }
  const result: DriverResult = { rows, errors, elapsedMs: Date.now() - started, inputs, thrown };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
