import { open, readFile } from "node:fs/promises";
import type { RunError } from "../../model.js";
import type { ArmRow } from "../../inventory/arm-row.js";
import { rowsOfChunk, splitArrayDocument, type Chunk } from "./chunk-records.js";
import {
  DEFAULT_MAX_INPUT_BYTES,
  asInputError,
  byteOrderMark,
  displayName,
  inputKind,
  refuseBinary,
  streamEstateFile,
  tooLarge,
  type ByteStream,
} from "./load-estate.js";
import { isObjectLine, parseEstate } from "./parse-estate.js";

export interface ReadEstateOptions {
  /** Standard input ("-"), read once as a stream; default process.stdin. */
  stdin?: ByteStream;
  /** Bytes one input may hold; default DEFAULT_MAX_INPUT_BYTES (4 GiB). */
  maxBytes?: number;
  /** Told of what a file says it left out (a truncated export), once the file is read. */
  warn: (warning: RunError) => void;
  /** Chunk size; default 1 MiB (smaller batches die young: less copying by the GC, less memory). */
  chunkBytes?: number;
  /** Files smaller than this are read the plain way (line by line, or whole); default 8 MiB. */
  chunkedFromBytes?: number;
}

const ROWS_PER_BATCH = 1000;

/**
 * The rows of an estate file ("-" for stdin) in order, in batches (one async step per row would
 * cost more than the row), with the results and errors of streamEstateFile. A large file is cut
 * into chunks of whole rows (NDJSON lines, or the elements of a JSON array) parsed one at a time:
 * NDJSON is streamed, and a JSON document is never held as one string plus one object tree. If a
 * chunk fails to parse, the file is read again the plain way, which names the fault exactly.
 * Consumers must not act on the batches until the read has finished: a malformed row fails it
 * after earlier rows were handed over.
 */
export async function* readEstateBatches(
  name: string,
  options: ReadEstateOptions,
): AsyncGenerator<ArmRow[]> {
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  // Standard input, FIFOs and devices are read once, as a stream, by the plain read.
  const input = await inputKind(name);
  if (input.kind === "file" && input.size > maxBytes) throw tooLarge(displayName(name), maxBytes);
  let plan: ChunkPlan | null = null;
  if (input.kind === "file" && input.size >= (options.chunkedFromBytes ?? 8 << 20)) {
    try {
      plan = await planChunks(name, chunkBytes);
    } catch (error) {
      throw asInputError(name, error); // e.g. EACCES: an input error (exit 2), like a small file's
    }
  }
  if (!plan) {
    yield* plainBatches(name, options);
    return;
  }
  try {
    for await (const chunk of plan.chunks) {
      const rows = rowsOfChunk(chunk);
      if (rows === null) {
        // The plain read names the fault (file, line or item); it must find one.
        for await (const row of streamEstateFile(name, { warn: () => {}, maxBytes })) void row;
        throw new Error(`${name}: a chunk of the file did not parse, but the file as a whole did`);
      }
      yield rows;
    }
  } catch (error) {
    throw asInputError(name, error);
  }
  for (const warning of plan.warnings) options.warn(warning);
}

async function* plainBatches(name: string, options: ReadEstateOptions): AsyncGenerator<ArmRow[]> {
  let rows: ArmRow[] = [];
  for await (const row of streamEstateFile(name, {
    stdin: options.stdin,
    warn: options.warn,
    maxBytes: options.maxBytes,
  })) {
    rows.push(row);
    if (rows.length >= ROWS_PER_BATCH) {
      yield rows;
      rows = [];
    }
  }
  if (rows.length > 0) yield rows;
}

interface ChunkPlan {
  chunks: AsyncIterable<Chunk> | Iterable<Chunk>;
  warnings: RunError[];
}

/**
 * How to cut the file, from its head: NDJSON (the first non-blank line is a JSON object and more
 * follows, as streamEstateFile decides) is streamed in chunks of whole lines; a JSON document is
 * read whole and split by splitArrayDocument. Null when the plain read should handle the file
 * (UTF-16, a first line longer than the head, a document of another shape).
 */
async function planChunks(name: string, chunkBytes: number): Promise<ChunkPlan | null> {
  // Enough of the file to hold its first line and the start of the next, in nearly every file.
  const headBytes = Math.max(chunkBytes, 1 << 20);
  let head = Buffer.allocUnsafe(headBytes);
  const handle = await open(name);
  try {
    head = head.subarray(0, (await handle.read(head, 0, headBytes, 0)).bytesRead);
  } finally {
    await handle.close();
  }
  refuseBinary(displayName(name), head);
  const mark = byteOrderMark(head);
  if (mark === "utf16le" || mark === "utf16be") return null; // UTF-16 is read whole
  const bom = mark === "utf8" ? 3 : 0;
  const lastNewline = head.lastIndexOf(0x0a);
  // No line ends in the head: one long line, a minified document most likely. Split it; if it is
  // not one document after all, the plain read (linear, line by line) takes over.
  const opening = head.subarray(bom).toString("utf8").trimStart()[0];
  const kind =
    lastNewline < 0 && (opening === "[" || opening === "{")
      ? "document"
      : classify(head.toString("utf8", bom, Math.max(bom, lastNewline + 1)));
  if (kind === "ndjson") return { chunks: ndjsonChunks(name, bom, chunkBytes), warnings: [] };
  if (kind === "unknown") return null;
  const whole = await readFile(name);
  const split = splitArrayDocument(whole.subarray(bom), chunkBytes);
  if (!split) return null;
  try {
    // The document without its rows: what it says it left out (skip tokens, nextLink).
    return { chunks: split.chunks, warnings: parseEstate(name, split.skeleton).warnings };
  } catch {
    return null;
  }
}

/** NDJSON exactly when streamEstateFile would take it so; "unknown" when the text cannot tell. */
function classify(text: string): "ndjson" | "document" | "unknown" {
  const lines = text.split("\n");
  lines.pop(); // the text ends after a newline: the last piece is empty
  const first = lines.findIndex((line) => line.trim() !== "");
  if (first < 0) return "unknown";
  const line = lines[first]!.endsWith("\r") ? lines[first]!.slice(0, -1) : lines[first]!;
  if (!isObjectLine(line)) return "document";
  return lines.slice(first + 1).some((l) => l.trim() !== "") ? "ndjson" : "unknown";
}

/**
 * The file after `from`, in chunks of whole lines of about `chunkBytes` (a longer line whole).
 * A line longer than a chunk is gathered piece by piece and joined once, and each read is
 * searched for a newline only in its own bytes: linear time, however long the line.
 */
async function* ndjsonChunks(
  name: string,
  from: number,
  chunkBytes: number,
): AsyncGenerator<Chunk> {
  const handle = await open(name);
  try {
    let pieces: Buffer[] = [];
    let position = from;
    for (;;) {
      const buffer = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
      position += bytesRead;
      if (bytesRead === 0) {
        if (pieces.length > 0) yield { kind: "lines", bytes: Buffer.concat(pieces) };
        return;
      }
      const piece = buffer.subarray(0, bytesRead);
      const newline = piece.lastIndexOf(0x0a);
      if (newline < 0) {
        pieces.push(piece);
        continue;
      }
      const lines = piece.subarray(0, newline + 1);
      yield {
        kind: "lines",
        bytes: pieces.length === 0 ? lines : Buffer.concat([...pieces, lines]),
      };
      pieces = newline + 1 < bytesRead ? [piece.subarray(newline + 1)] : [];
    }
  } finally {
    await handle.close();
  }
}
