import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { InputError, describeError } from "../errors.js";
import type { RunError } from "../model.js";
import type { ArmRow } from "./arm-row.js";

/** Rows read from one estate file, and what the file says it left out. */
export interface EstateFile {
  name: string;
  rows: ArmRow[];
  /** E.g. a Resource Graph page with a skip token: more rows exist than the file holds. */
  warnings: RunError[];
}

/** Reads an estate file ("-" for stdin) in any format of DESIGN.md section 5. */
export async function readEstateFile(
  name: string,
  stdin: () => Promise<Buffer> = readStdin,
): Promise<EstateFile> {
  let bytes: Buffer;
  try {
    bytes = name === "-" ? await stdin() : await readFile(name);
  } catch (error) {
    throw cannotRead(name, error);
  }
  return parseEstate(displayName(name), decodeWhole(displayName(name), bytes));
}

function cannotRead(name: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? "is a directory"
        : describeError(error);
  return new InputError(`${displayName(name)}: cannot read: ${why}`);
}

/** decode(), refusing with one line a file too large to be one JavaScript string. */
function decodeWhole(name: string, bytes: Buffer): string {
  try {
    return decode(bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_STRING_TOO_LONG") {
      throw new InputError(
        `${name}: too large (${bytes.length} bytes) to parse as one JSON document; write it as NDJSON (one resource per line), which is read line by line`,
      );
    }
    throw error;
  }
}

/**
 * The rows of an estate file as they are read, with the same results and errors as
 * readEstateFile. An NDJSON file is read line by line, so it is never held in memory as a whole
 * (and may be larger than the longest JavaScript string); any other file is read whole. Warnings
 * (a truncated export) go to `warn`. A malformed line fails the read after the rows before it were
 * yielded: consumers must not act on the rows until the read has finished.
 */
export async function* streamEstateFile(
  name: string,
  options: { stdin?: () => Promise<Buffer>; warn: (warning: RunError) => void },
): AsyncGenerator<ArmRow> {
  if (name !== "-") {
    const lines = linesOf(name);
    try {
      const ndjson = await detectNdjson(lines);
      if (ndjson) {
        yield* ndjsonRows(displayName(name), ndjson.buffered, lines.iterator);
        return;
      }
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw cannotRead(name, error);
    } finally {
      await lines.iterator.return(undefined);
    }
  }
  const file = await readEstateFile(name, options.stdin);
  for (const warning of file.warnings) options.warn(warning);
  yield* file.rows;
}

/** The file's lines as text.split(/\r?\n/) would give them, read in 1 MiB chunks. */
function linesOf(name: string): { iterator: AsyncGenerator<string, void, undefined> } {
  async function* generate(): AsyncGenerator<string, void, undefined> {
    const stream = createReadStream(name, { highWaterMark: 1 << 20 });
    const decoder = new StringDecoder("utf8");
    let pending = "";
    let first = true;
    for await (const raw of stream) {
      let chunk = raw as Buffer;
      if (first) {
        first = false;
        // UTF-16 (PowerShell 5) is read whole by the caller; a UTF-8 BOM is dropped as decode() does.
        const bom = byteOrderMark(chunk);
        if (bom === "utf16le" || bom === "utf16be") throw new NotLineReadable();
        if (bom === "utf8") chunk = chunk.subarray(3);
      }
      pending += decoder.write(chunk);
      let start = 0;
      for (let nl = pending.indexOf("\n"); nl !== -1; nl = pending.indexOf("\n", start)) {
        const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        yield pending.slice(start, end);
        start = nl + 1;
      }
      pending = pending.slice(start);
    }
    pending += decoder.end();
    yield pending;
  }
  return { iterator: generate() };
}

class NotLineReadable extends Error {}

/**
 * NDJSON exactly when parseEstate would take the file as NDJSON: the first non-blank line is a JSON
 * object on its own and something other than blanks follows it (so the whole text is not one JSON
 * document). Returns the lines read so far, or null when the file is to be read whole.
 */
async function detectNdjson(lines: {
  iterator: AsyncGenerator<string, void, undefined>;
}): Promise<{ buffered: string[] } | null> {
  const buffered: string[] = [];
  let firstFound = false;
  try {
    for (;;) {
      const next = await lines.iterator.next();
      if (next.done) return null;
      buffered.push(next.value);
      if (next.value.trim() === "") continue;
      if (firstFound) return { buffered };
      firstFound = true;
      if (!isObjectLine(next.value)) return null;
    }
  } catch (error) {
    if (error instanceof NotLineReadable) return null;
    throw error;
  }
}

/**
 * Turns NDJSON lines, one at a time, into rows. A JSON error anywhere outranks a missing id or type
 * earlier in the file, so a failed row check is kept and thrown by `finish`, after every line.
 */
class NdjsonLines {
  private lineNumber = 0;
  private failed: InputError | null = null;

  constructor(private readonly name: string) {}

  /** The row of the next line; null for a blank line or after a failed row check. */
  take(line: string): ArmRow | null {
    this.lineNumber += 1;
    const text = line.trim();
    if (text === "") return null;
    let item: unknown;
    try {
      item = JSON.parse(text);
    } catch (error) {
      throw new InputError(
        `${this.name}: line ${this.lineNumber} is not valid JSON (${describeError(error)}); ${FORMATS}`,
      );
    }
    if (this.failed) return null;
    const problem = rowProblem(item);
    if (problem === null) return item as ArmRow;
    this.failed = new InputError(`${this.name}: line ${this.lineNumber} ${problem}`);
    return null;
  }

  finish(): void {
    if (this.failed) throw this.failed;
  }
}

/** The rows of streamed NDJSON lines, as parseNdjson reads them from one text. */
async function* ndjsonRows(
  name: string,
  buffered: string[],
  rest: AsyncIterator<string, void, undefined>,
): AsyncGenerator<ArmRow> {
  const lines = new NdjsonLines(name);
  for (const line of buffered) {
    const row = lines.take(line);
    if (row) yield row;
  }
  for (;;) {
    const next = await rest.next();
    if (next.done) break;
    const row = lines.take(next.value);
    if (row) yield row;
  }
  lines.finish();
}

/** How an estate file is named in messages: "-" is standard input. */
export function displayName(name: string): string {
  return name === "-" ? "<stdin>" : name;
}

/** All of the process's standard input. */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Windows PowerShell 5 writes UTF-16LE with a BOM when output is redirected; others write UTF-8. */
export function decode(bytes: Buffer): string {
  switch (byteOrderMark(bytes)) {
    case "utf16le":
      return bytes.subarray(2).toString("utf16le");
    case "utf16be": {
      const swapped = Buffer.from(bytes.subarray(2));
      swapped.swap16();
      return swapped.toString("utf16le");
    }
    case "utf8":
      return bytes.subarray(3).toString("utf8");
    case null:
      return bytes.toString("utf8");
  }
}

/** The encoding a file's byte order mark announces, or null when it has none. */
export function byteOrderMark(bytes: Uint8Array): "utf16le" | "utf16be" | "utf8" | null {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf16be";
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf8";
  return null;
}

const FORMATS =
  "expected a JSON array of ARM resources, an object with 'data' (Resource Graph / az graph query) or 'value' (ARM list), or NDJSON";

/** Parses file text; throws InputError naming the file and the problem. */
export function parseEstate(name: string, text: string): EstateFile {
  if (text.trim() === "") throw new InputError(`${name}: file is empty; ${FORMATS}`);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    // Not one JSON document: NDJSON, one resource per line — if its first line stands alone.
    if (firstLineIsJson(text)) return { name, rows: parseNdjson(name, text), warnings: [] };
    throw new InputError(`${name}: not valid JSON (${describeError(error)}); ${FORMATS}`);
  }
  return fromDocument(name, document);
}

function firstLineIsJson(text: string): boolean {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== "");
  return first !== undefined && isObjectLine(first);
}

/** A line that is a JSON object on its own: what the first line of an NDJSON file must be. */
export function isObjectLine(line: string): boolean {
  if (!line.trimStart().startsWith("{")) return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function fromDocument(name: string, document: unknown): EstateFile {
  if (Array.isArray(document)) return { name, rows: toRows(name, document, "item"), warnings: [] };
  if (!isObject(document))
    throw new InputError(`${name}: top-level JSON is ${kindOf(document)}; ${FORMATS}`);
  const warnings: RunError[] = [];
  if ("data" in document) {
    const rows = resourceGraphData(name, document.data);
    // Resource Graph REST returns $skipToken; az graph query returns skip_token.
    const token = document.$skipToken ?? document.skip_token ?? document.skipToken;
    if (typeof token === "string" && token !== "") {
      warnings.push({
        code: "INPUT_TRUNCATED",
        target: name,
        message: `${name}: holds one page of a Resource Graph result (a skip token is present); export every page (see README) or subnets may be missing`,
      });
    }
    return { name, rows, warnings };
  }
  if ("value" in document) {
    if (!Array.isArray(document.value))
      throw new InputError(`${name}: 'value' is ${kindOf(document.value)}, expected an array`);
    if (typeof document.nextLink === "string" && document.nextLink !== "") {
      warnings.push({
        code: "INPUT_TRUNCATED",
        target: name,
        message: `${name}: holds one page of an ARM list (nextLink is present); export every page or resources may be missing`,
      });
    }
    return { name, rows: toRows(name, document.value, "value item"), warnings };
  }
  if (typeof document.id === "string" && typeof document.type === "string") {
    // A single resource: the one-line NDJSON case, pretty-printed.
    return { name, rows: toRows(name, [document], "resource"), warnings: [] };
  }
  throw new InputError(`${name}: JSON object has neither 'data' nor 'value'; ${FORMATS}`);
}

/** Resource Graph 'data' is an object array, or a table ({columns, rows}) with resultFormat=table. */
function resourceGraphData(name: string, data: unknown): ArmRow[] {
  if (Array.isArray(data)) return toRows(name, data, "data item");
  if (isObject(data) && Array.isArray(data.columns) && Array.isArray(data.rows)) {
    const columns = data.columns.map((c, i) => {
      if (!isObject(c) || typeof c.name !== "string")
        throw new InputError(`${name}: data.columns[${i}] has no name`);
      return c.name;
    });
    const objects = data.rows.map((row, i) => {
      if (!Array.isArray(row))
        throw new InputError(`${name}: data.rows[${i}] is ${kindOf(row)}, expected an array`);
      return Object.fromEntries(columns.map((c, j) => [c, row[j]]));
    });
    return toRows(name, objects, "data row");
  }
  throw new InputError(
    `${name}: 'data' is ${kindOf(data)}, expected an array of resources or a table`,
  );
}

/** The rows of NDJSON text; throws InputError naming the line and the problem. */
export function parseNdjson(name: string, text: string): ArmRow[] {
  const rows: ArmRow[] = [];
  const lines = new NdjsonLines(name);
  // Lines end at \n; a \r before it goes with the rest of the line's surrounding blanks.
  for (let start = 0; start <= text.length;) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const row = lines.take(text.slice(start, end));
    if (row) rows.push(row);
    start = end + 1;
  }
  lines.finish();
  return rows;
}

/** The items as rows; throws InputError naming the first item that is not one. */
export function toRows(name: string, items: unknown[], what: string): ArmRow[] {
  for (let i = 0; i < items.length; i++) {
    const problem = rowProblem(items[i]);
    if (problem !== null) throw new InputError(`${name}: ${what} ${i} ${problem}`);
  }
  return items as ArmRow[];
}

/** Why the item is not a resource row (an object with a non-blank string id and a string type). */
function rowProblem(item: unknown): string | null {
  if (!isObject(item)) return `is ${kindOf(item)}, expected a resource object`;
  if (typeof item.id !== "string" || item.id.trim() === "") return "has no string 'id'";
  if (typeof item.type !== "string") return `(${item.id}) has no string 'type'`;
  return null;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
