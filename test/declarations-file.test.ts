/**
 * Issue 11, item 6: a malformed entry of the declarations file is reported and ignored (the
 * appliance it meant to declare stays undeclared), the others apply; a file that is not a
 * declarations file at all stops the run naming it. Over the demo estate and its declarations.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { loadCatalog } from "../src/catalog/catalog.js";
import { InputError } from "../src/errors.js";
import type { ScanResult } from "../src/model.js";
import { runAudit } from "../src/run-audit.js";
import { createEstateFileSource } from "../src/sources/files/estate-files.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEMO = path.join(ROOT, "samples", "demo-estate.json");
let tmp: string;
let sample: { appliances: Record<string, unknown>[] };

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "kms-declarations-"));
  sample = JSON.parse(
    await readFile(path.join(ROOT, "samples", "declarations.json"), "utf8"),
  ) as typeof sample;
});
after(() => rm(tmp, { recursive: true, force: true }));

/** One file, rewritten for each scan (scans run one at a time): paths name it alike. */
async function scanWith(declarations: unknown): Promise<ScanResult> {
  const file = path.join(tmp, "declarations.json");
  await writeFile(file, JSON.stringify(declarations));
  const catalog = await loadCatalog({
    cloud: "AzureCloud",
    endpointsFile: null,
    serviceTagsFile: null,
    declarationsFile: file,
    endpointSets: [],
  });
  const { result } = await runAudit(
    { source: createEstateFileSource([DEMO]), cloud: "AzureCloud", catalog },
    { logger: pino({ level: "silent" }) },
  );
  return result;
}

/** Findings as the JSON output has them (fixes are built on demand). */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const INERT = {
  resourceId:
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-none/providers/Microsoft.Network/networkInterfaces/none",
  allow: ["kms"],
};

const MALFORMED = [
  { egress: "sideways" },
  { allow: ["not a set!"] },
  { ipAddress: "10.0.0.300" },
  { unexpected: true },
];

void describe("the declarations file", () => {
  it("ignores a malformed entry with a warning naming it; the others apply", async () => {
    const full = await scanWith(sample);
    let mattered = 0;
    for (const [index, entry] of sample.appliances.entries()) {
      // The entry replaced by one that declares nothing in the estate: what ignoring it means.
      const without = await scanWith({
        appliances: sample.appliances.map((e, i) => (i === index ? INERT : e)),
      });
      if (JSON.stringify(without.findings) !== JSON.stringify(full.findings)) mattered++;
      for (const broken of MALFORMED) {
        const appliances = sample.appliances.map((e, i) =>
          i === index ? { ...entry, ...broken } : e,
        );
        const result = await scanWith({ appliances });
        assert.deepEqual(plain(result.findings), plain(without.findings), JSON.stringify(broken));
        const warnings = result.run.warnings.filter((w) => w.code === "DECLARATION_MALFORMED");
        assert.equal(
          warnings.length,
          1,
          `${JSON.stringify(broken)}: ${JSON.stringify(result.run.warnings)}`,
        );
        assert.match(warnings[0]!.target!, new RegExp(`appliances\\.${index}$`));
        assert.match(warnings[0]!.message, new RegExp(`appliances\\.${index}.*; entry ignored$`));
        assert.equal(result.run.complete, true, "a warning, not a read error");
      }
    }
    assert.ok(mattered > 0, "some entry of the sample changes a demo verdict");
  });

  it("a file that is not a declarations file stops the run naming it", async () => {
    for (const text of [[], { appliances: [] }, { appliances: "x" }, { other: [] }])
      await assert.rejects(
        scanWith(text),
        (e: unknown) => e instanceof InputError && /declarations\.json: /.test(e.message),
      );
  });
});
