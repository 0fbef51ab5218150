/** Estate text to ARM rows: a JSON array, a Resource Graph or ARM list page, or NDJSON. */
import { InputError, describeError } from "../../errors.js";
import type { RunError } from "../../model.js";
import type { ArmRow } from "../../inventory/arm-row.js";

/** Rows read from one estate file, and what the file says it left out. */
export interface EstateFile {
  name: string;
  rows: ArmRow[];
  /** E.g. a Resource Graph page with a skip token: more rows exist than the file holds. */
  warnings: RunError[];
}

/**
 * Turns NDJSON lines, one at a time, into rows. A JSON error anywhere outranks a missing id or type
 * earlier in the file, so a failed row check is kept and thrown by `finish`, after every line.
 */
export class NdjsonLines {
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

export const FORMATS =
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
