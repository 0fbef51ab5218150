import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { streamEstateFile } from "../src/sources/files/load-estate.js";
import { parseNdjson } from "../src/sources/files/parse-estate.js";

const dir = mkdtempSync(join(tmpdir(), "kms-ndjson-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The message (or the row IDs) NDJSON text gives, parsed whole and streamed from a file. */
async function both(text: string): Promise<{ whole: string; streamed: string }> {
  const outcome = (read: () => string[]) => {
    try {
      return read().join(" ");
    } catch (error) {
      return (error as Error).message;
    }
  };
  const whole = outcome(() => parseNdjson("e.ndjson", text).map((r) => r.id));
  const file = join(dir, "e.ndjson");
  writeFileSync(file, text);
  let streamed: string;
  try {
    const ids: string[] = [];
    for await (const row of streamEstateFile(file, { warn: () => {} })) ids.push(row.id);
    streamed = ids.join(" ");
  } catch (error) {
    streamed = (error as Error).message.replace(file, "e.ndjson");
  }
  return { whole, streamed };
}

const row = (id: string) => JSON.stringify({ id, type: "t" });

describe("NDJSON lines", () => {
  it("reads rows in order across blank lines, CRLF and surrounding blanks", async () => {
    const { whole, streamed } = await both(`${row("/a")}\r\n\r\n  ${row("/b")} \n\n${row("/c")}`);
    assert.equal(whole, "/a /b /c");
    assert.equal(streamed, whole);
  });

  it("names the 1-based line of a row without an id, counting blank and CRLF lines", async () => {
    const { whole, streamed } = await both(`${row("/a")}\r\n\r\n{"type":"t"}\r\n${row("/d")}\r\n`);
    assert.equal(whole, "e.ndjson: line 3 has no string 'id'");
    assert.equal(streamed, whole);
  });

  it("names a row without a type by its id", async () => {
    const { whole, streamed } = await both(`${row("/a")}\n{"id":"/b"}\n`);
    assert.equal(whole, "e.ndjson: line 2 (/b) has no string 'type'");
    assert.equal(streamed, whole);
  });

  it("a line that is not JSON outranks an earlier line that is not a row", async () => {
    const { whole, streamed } = await both(`${row("/a")}\n[1]\n${row("/c")}\n{"id": oops}\n`);
    assert.match(whole, /^e\.ndjson: line 4 is not valid JSON \(/);
    assert.equal(streamed, whole);
  });

  it("the first of several lines that are not rows is named", async () => {
    const { whole, streamed } = await both(`${row("/a")}\n7\n{"type":"t"}\n`);
    assert.equal(whole, "e.ndjson: line 2 is a number, expected a resource object");
    assert.equal(streamed, whole);
  });
});
