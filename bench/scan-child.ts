/**
 * Child process of the live benchmark: one whole scan (Resource Graph source, inventory, audit)
 * with the real SDK and DefaultAzureCredential (loopback managed identity), the way the timer
 * function runs it. Options come as JSON in KMS_BENCH_SOURCE_OPTIONS; one JSON line on stdout:
 * when the scan started (epoch ms, to place the emulator's requests), wall time, peak RSS, a digest
 * of every finding (to compare reads), counts and errors.
 */
import { createHash } from "node:crypto";
import { createLogger } from "../src/logging/logger.js";
import { builtInCatalog } from "../src/catalog/catalog.js";
import { runAudit } from "../src/run-audit.js";
import {
  createResourceGraphSource,
  type ResourceGraphSourceOptions,
} from "../src/sources/resource-graph/index.js";

const options = JSON.parse(
  process.env.KMS_BENCH_SOURCE_OPTIONS ?? "{}",
) as ResourceGraphSourceOptions;
const startedAtMs = Date.now();
const started = performance.now();
const result = (
  await runAudit(
    {
      source: createResourceGraphSource(options),
      cloud: options.cloud,
      catalog: builtInCatalog(options.cloud),
    },
    { logger: createLogger({ level: "warn" }) },
  )
).result;
const elapsedMs = performance.now() - started;
const digest = createHash("sha256");
for (const f of [...result.findings].sort((a, b) => (a.subnetId < b.subnetId ? -1 : 1)))
  digest.update(JSON.stringify(f));
process.stdout.write(
  `${JSON.stringify({
    startedAtMs,
    elapsedMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    findings: result.findings.length,
    digest: digest.digest("hex"),
    complete: result.run.complete,
    errors: result.run.errors.length,
  })}\n`,
);
