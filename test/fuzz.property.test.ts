import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { auditInventory } from "../src/audit/audit.js";
import { endpointSetsFor, flattenEndpoints } from "../src/catalog/endpoints.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { buildInventory } from "../src/inventory/inventory.js";
import type { ScanResult, Status } from "../src/model.js";
import { describeRun, runCli } from "./support/cli-process.js";

/**
 * Issue 15: mutations of the real topologies (test/fixtures/topologies, the demo estate) as a
 * broken export or a buggy tool would make them: a value of the wrong type where an object, a list,
 * a string or a flag was (null, a number, a string, a list, an object), a list that is not a list,
 * a duplicated row that differs, a file cut short. None may crash the audit or the CLI, print a
 * stack trace, or turn a subnet that was NonCompliant or Unverified Compliant (corrupt is unknown,
 * DESIGN.md section 3, never absent). Seeded and bounded in count, not in time.
 */

const DIR = fileURLToPath(new URL("../../test/fixtures/topologies/", import.meta.url));
const DEMO = fileURLToPath(new URL("../../samples/demo-estate.json", import.meta.url));
const endpoints = flattenEndpoints(endpointSetsFor("AzureCloud"));

const estates: { name: string; rows: ArmRow[] }[] = [
  ...readdirSync(DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({
      name: f,
      rows: (JSON.parse(readFileSync(path.join(DIR, f), "utf8")) as { rows: ArmRow[] }).rows,
    })),
  { name: "demo-estate.json", rows: JSON.parse(readFileSync(DEMO, "utf8")) as ArmRow[] },
];

function statuses(rows: ArmRow[]): Map<string, Status> {
  const { findings } = auditInventory(buildInventory(rows), { endpoints });
  return new Map(findings.map((f) => [f.subnetId.toLowerCase(), f.status]));
}
const baselines = estates.map((e) => statuses(e.rows));

/** Every place inside a row where a value sits: [path from the row, the value]. */
function places(row: unknown, at: (string | number)[] = []): [(string | number)[], unknown][] {
  const out: [(string | number)[], unknown][] = [];
  if (Array.isArray(row))
    row.forEach((v, i) => out.push([[...at, i], v], ...places(v, [...at, i])));
  else if (row && typeof row === "object")
    for (const [k, v] of Object.entries(row)) {
      // The row's identity is not data a tool corrupts into another resource: keep id and type.
      if (at.length === 0 && (k === "id" || k === "type")) continue;
      out.push([[...at, k], v], ...places(v, [...at, k]));
    }
  return out;
}

function setAt(root: unknown, where: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const step of where.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  node[where.at(-1)!] = value;
  return copy;
}

/** A value of another kind than `original`. */
const otherKind = (original: unknown) =>
  fc
    .oneof(
      fc.constant(null),
      fc.integer({ min: -5, max: 70000 }),
      fc.string({ maxLength: 12 }),
      fc.boolean(),
      fc.constant([] as unknown[]),
      fc.constant({}),
      fc.array(fc.integer(), { maxLength: 3 }),
    )
    .filter((v) => kindOf(v) !== kindOf(original));

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

type Mutation =
  | { kind: "retype"; estate: number; row: number; place: number; value: unknown }
  | { kind: "duplicate"; estate: number; row: number; place: number; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc
  .record({
    kind: fc.constantFrom("retype" as const, "duplicate" as const),
    estate: fc.nat({ max: estates.length - 1 }),
    row: fc.nat(),
    place: fc.nat(),
    seed: fc.nat(),
  })
  .chain((m) => {
    const rows = estates[m.estate]!.rows;
    const row = m.row % rows.length;
    const spots = places(rows[row]);
    if (spots.length === 0) return fc.constant({ ...m, row, place: -1, value: null });
    const place = m.place % spots.length;
    return otherKind(spots[place]![1]).map((value) => ({ ...m, row, place, value }));
  });

function apply(m: Mutation): ArmRow[] {
  const rows = estates[m.estate]!.rows;
  if (m.place < 0) return rows;
  const where = places(rows[m.row])[m.place]![0];
  const changed = setAt(rows[m.row], where, m.value) as ArmRow;
  return m.kind === "retype"
    ? rows.map((r, i) => (i === m.row ? changed : r))
    : // The same resource twice, the copy differing (in another ID case, as exports do).
      [...rows, { ...changed, id: changed.id.toUpperCase() }];
}

function describeMutation(m: Mutation): string {
  const { name, rows } = estates[m.estate]!;
  const where = m.place < 0 ? "(none)" : places(rows[m.row])[m.place]![0].join(".");
  return `${name}: ${m.kind} ${rows[m.row]!.type} ${rows[m.row]!.id.split("/").pop()} .${where} = ${JSON.stringify(m.value)}`;
}

/** Subnets that were NonCompliant or Unverified and are Compliant after the mutation. */
function turnedCompliant(before: Map<string, Status>, after: Map<string, Status>): string[] {
  return [...before]
    .filter(
      ([id, s]) => (s === "NonCompliant" || s === "Unverified") && after.get(id) === "Compliant",
    )
    .map(([id, s]) => `${id.split("/").slice(-3).join("/")} ${s} -> Compliant`);
}

describe("fuzzed real estates (issue 15)", () => {
  it("a corrupt value or a differing duplicate never crashes the audit nor turns a subnet Compliant", () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const after = statuses(apply(m));
        const turned = turnedCompliant(baselines[m.estate]!, after);
        assert.deepEqual(turned, [], describeMutation(m));
      }),
      { seed: 20261201, numRuns: 1500 },
    );
  });

  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "kms-fuzz-"));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it("the CLI on mutated and cut-short files: a known exit code, one line on stderr, no stack trace, never Compliant from corrupt", async () => {
    const cases = fc.sample(
      fc.record({
        mutation,
        // Cut the file at this fraction of its length (1: whole).
        cut: fc.oneof(fc.constant(1), fc.double({ min: 0.05, max: 0.98, noNaN: true })),
      }),
      { seed: 20261202, numRuns: 16 },
    );
    for (const [i, c] of cases.entries()) {
      const rows = apply(c.mutation);
      const text = JSON.stringify(rows);
      const file = path.join(tmp, `case-${i}.json`);
      await writeFile(file, c.cut === 1 ? text : text.slice(0, Math.floor(text.length * c.cut)));
      const r = await runCli(["scan", "--format", "json", "--input", file], {}, { cwd: tmp });
      const what = `${describeMutation(c.mutation)}, cut ${c.cut.toFixed(2)}\n${describeRun(r)}`;
      assert.ok([0, 2, 3].includes(r.code ?? -1), what);
      assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace: ${what}`);
      if (r.code === 2) {
        assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${what}`);
        continue;
      }
      assert.equal(c.cut, 1, `a cut file is refused (exit 2): ${what}`);
      const result = JSON.parse(r.stdout) as ScanResult;
      const after = new Map(result.findings.map((f) => [f.subnetId.toLowerCase(), f.status]));
      assert.deepEqual(turnedCompliant(baselines[c.mutation.estate]!, after), [], what);
    }
  });
});
