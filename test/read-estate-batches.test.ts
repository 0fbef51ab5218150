import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { splitArrayDocument } from "../src/sources/files/chunk-records.js";
import { streamEstateFile } from "../src/sources/files/load-estate.js";
import { readEstateBatches } from "../src/sources/files/read-estate-batches.js";
import type { RunError } from "../src/model.js";

const dir = mkdtempSync(join(tmpdir(), "kms-batches-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNumber = 0;
function write(content: string | Buffer): string {
  const file = join(dir, `estate-${fileNumber++}.json`);
  writeFileSync(file, content);
  return file;
}

type Outcome = { rows: ArmRow[]; warnings: RunError[] } | { error: string };

async function plain(file: string): Promise<Outcome> {
  const warnings: RunError[] = [];
  try {
    const rows: ArmRow[] = [];
    for await (const row of streamEstateFile(file, { warn: (w) => warnings.push(w) }))
      rows.push(row);
    return { rows, warnings };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Chunked whatever the file's size, in chunks of `chunkBytes`. */
async function chunked(file: string, chunkBytes: number): Promise<Outcome> {
  const warnings: RunError[] = [];
  try {
    const rows: ArmRow[] = [];
    for await (const batch of readEstateBatches(file, {
      warn: (w) => warnings.push(w),
      chunkBytes,
      chunkedFromBytes: 0,
    }))
      rows.push(...batch);
    return { rows, warnings };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const SUB = "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg/providers";
// Strings that trip a structure scanner: quotes, backslashes before quotes, brackets, non-ASCII.
const tricky = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('a"b', "a\\", '\\"', "}],{[", "näme ✓", "\u2028", "line\nbreak", "\\\\\\"),
);
const row: fc.Arbitrary<ArmRow> = fc.record({
  id: fc.oneof(
    fc.constantFrom(`${SUB}/Microsoft.Network/virtualNetworks/v1`, `${SUB}/X/routeTables/rt`),
    tricky.map((s) => `${SUB}/Microsoft.Network/routeTables/${s}`),
  ),
  type: fc.constantFrom("microsoft.network/routetables", "Microsoft.Network/virtualNetworks", "x"),
  name: tricky,
  properties: fc.dictionary(tricky, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
});

function render(rows: ArmRow[], format: number, seed: number): string {
  switch (format) {
    case 0: // NDJSON, with blank lines and CRLF here and there
      return rows
        .map((r, i) => JSON.stringify(r) + ((seed + i) % 3 === 0 ? "\r\n\n" : "\n"))
        .join("");
    case 1:
      return JSON.stringify(rows, null, seed % 2 === 0 ? 2 : undefined);
    case 2:
      return JSON.stringify({ totalRecords: rows.length, data: rows, $skipToken: "next" });
    default:
      return JSON.stringify({ value: rows, nextLink: seed % 2 ? "https://x/next" : undefined });
  }
}

describe("chunked estate reading gives what the plain read gives", () => {
  it("the same rows, warnings and errors, for every format and chunk size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 2, maxLength: 12 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 1, max: 400 }),
        async (rows, format, seed, chunkBytes) => {
          const file = write(render(rows, format, seed));
          assert.deepEqual(await chunked(file, chunkBytes), await plain(file));
        },
      ),
      { numRuns: 150 },
    );
  });

  const malformed: [string, string | Buffer][] = [
    [
      "a line that is not JSON",
      '{"id":"/a","type":"t"}\n{"id":"/b","type":\n{"id":"/c","type":"t"}\n',
    ],
    ["a line without an id", '{"id":"/a","type":"t"}\n{"type":"t"}\n{"id":"/c","type":"t"}\n'],
    ["a trailing comma", '[{"id":"/a","type":"t"},{"id":"/b","type":"t"},]'],
    ["a missing comma between elements", '[{"id":"/a","type":"t"}{"id":"/b","type":"t"}]'],
    ["an element that is not an object", '[{"id":"/a","type":"t"},3,{"id":"/b","type":"t"}]'],
    ["an element without a type", '[{"id":"/a","type":"t"},{"id":"/b"}]'],
    ["text after the array", '[{"id":"/a","type":"t"}] x'],
    ["an unclosed string", '[{"id":"/a","type":"t"},{"id":"/b]'],
    [
      "a table-format 'data'",
      '{"data":{"columns":[{"name":"id"},{"name":"type"}],"rows":[["/a","t"]]}}',
    ],
    ["'data' that is not an array", '{"data":3,"value":[{"id":"/a","type":"t"}]}'],
    ["'value' before 'data'", '{"value":[{"id":"/v","type":"t"}],"data":[{"id":"/d","type":"t"}]}'],
    ["a duplicate key", '{"data":[{"id":"/a","type":"t"}],"data":[{"id":"/b","type":"t"}]}'],
    [
      "a UTF-8 BOM",
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[{"id":"/a","type":"t"}]')]),
    ],
    [
      "UTF-16",
      Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from('[{"id":"/a","type":"t"}]', "utf16le"),
      ]),
    ],
    ["an empty array", "[]"],
    ["blank", " \n "],
  ];
  for (const [what, content] of malformed) {
    it(`${what}: the same outcome at every chunk size`, async () => {
      const file = write(content);
      const expected = await plain(file);
      for (const chunkBytes of [1, 7, 30, 1 << 20])
        assert.deepEqual(await chunked(file, chunkBytes), expected, `chunkBytes ${chunkBytes}`);
    });
  }
});

describe("splitArrayDocument", () => {
  it("cuts only between elements and keeps the wrapper as a skeleton", () => {
    const text = JSON.stringify({
      count: 3,
      data: [{ id: "a]" }, { id: '"{' }, { id: "c" }],
      t: 1,
    });
    const split = splitArrayDocument(Buffer.from(text), 10);
    assert.ok(split);
    assert.deepEqual(
      split.chunks.map((c) => JSON.parse(`[${c.bytes.toString()}]`) as unknown),
      [[{ id: "a]" }], [{ id: '"{' }], [{ id: "c" }]],
    );
    assert.deepEqual(JSON.parse(split.skeleton), { count: 3, data: [], t: 1 });
  });

  it("gives up on a missing comma even where it would fall between two chunks", () => {
    assert.equal(splitArrayDocument(Buffer.from('[{"a":1}{"b":2}]'), 1), null);
  });
});
