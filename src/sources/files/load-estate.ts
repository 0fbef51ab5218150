/** Reading estate input: files, FIFOs and stdin, with size and row limits, binary refusal, decoding and streaming. */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { InputError, describeError } from "../../errors.js";
import type { RunError } from "../../model.js";
import type { ArmRow } from "../../inventory/arm-row.js";
import {
  type EstateFile,
  FORMATS,
  NdjsonLines,
  isObjectLine,
  parseEstate,
} from "./parse-estate.js";

/** Largest estate input read by default, per input: 4 GiB (a 1M-subnet NDJSON export is 1.8 GB). */
export const DEFAULT_MAX_INPUT_BYTES = 4 * 1024 ** 3;

/** Most rows read by default from all of a run's inputs together. */
export const DEFAULT_MAX_INPUT_ROWS = 10_000_000;

/** Where the limits are set, for the messages that enforce them. */
export const MAX_INPUT_BYTES_SETTING = "--max-input-bytes or KMS_AUDIT_MAX_INPUT_BYTES";

export const MAX_INPUT_ROWS_SETTING = "--max-input-rows or KMS_AUDIT_MAX_INPUT_ROWS";

/** Standard input, or any other stream of bytes. */
export type ByteStream = () => AsyncIterable<Uint8Array>;

export interface StreamEstateOptions {
  /** Standard input ("-"); default process.stdin. */
  stdin?: ByteStream;
  warn: (warning: RunError) => void;
  /** Bytes one input may hold; default DEFAULT_MAX_INPUT_BYTES. */
  maxBytes?: number;
}

/** Bytes that never appear in JSON text (raw control characters other than tab, LF and CR). */
function isBinaryByte(byte: number): boolean {
  return byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d;
}

/** How much of an input's start is looked at before anything is parsed. */
const SNIFF_BYTES = 64 * 1024;

/**
 * An input that cannot be JSON or NDJSON text (a binary file, /dev/urandom, /dev/zero): refused
 * from its first bytes, in one line that shows them as hex, instead of being read to the end.
 */
export function refuseBinary(name: string, head: Uint8Array): void {
  const mark = byteOrderMark(head);
  if (mark === "utf16le" || mark === "utf16be") return; // NUL bytes are UTF-16's own
  const end = Math.min(head.length, SNIFF_BYTES);
  for (let i = 0; i < end; i++) {
    if (!isBinaryByte(head[i]!)) continue;
    const first = [...head.subarray(0, Math.min(head.length, 8))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join(" ");
    throw new InputError(
      `${name}: binary data, not JSON or NDJSON text (control byte 0x${head[i]!.toString(16).padStart(2, "0")} at offset ${i}; starts with bytes ${first}); ${FORMATS}`,
    );
  }
}

export function tooLarge(name: string, maxBytes: number): InputError {
  return new InputError(
    `${name}: larger than the input limit of ${maxBytes} bytes (${MAX_INPUT_BYTES_SETTING} raise it)`,
  );
}

/** What an input is: a regular file (with its size) or something read once as a stream. */
export async function inputKind(
  name: string,
): Promise<{ kind: "file"; size: number } | { kind: "stream" }> {
  if (name === "-") return { kind: "stream" };
  let info;
  try {
    info = await stat(name);
  } catch (error) {
    throw cannotRead(name, error);
  }
  if (info.isDirectory()) throw new InputError(`${displayName(name)}: cannot read: is a directory`);
  // FIFOs, process substitution (/dev/fd/63), character devices, sockets: one pass, no reopen.
  return info.isFile() ? { kind: "file", size: info.size } : { kind: "stream" };
}

/** Reads an estate file ("-" for stdin) in any format of DESIGN.md section 5, whole. */
export async function readEstateFile(
  name: string,
  options: { stdin?: ByteStream; maxBytes?: number } = {},
): Promise<EstateFile> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const shown = displayName(name);
  const input = await inputKind(name);
  let bytes: Buffer;
  if (input.kind === "file") {
    if (input.size > maxBytes) throw tooLarge(shown, maxBytes);
    try {
      bytes = await readFile(name);
    } catch (error) {
      throw cannotRead(name, error);
    }
  } else {
    bytes = await readAll(shown, openStream(name, options.stdin), maxBytes);
  }
  refuseBinary(shown, bytes);
  return parseEstate(shown, decodeWhole(shown, bytes));
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

/** An I/O failure while reading an input, as the one-line input error (exit 2) it is. */
export function asInputError(name: string, error: unknown): unknown {
  return error instanceof InputError ? error : cannotRead(name, error);
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

/** The bytes of a non-file input ("-": standard input), read once. */
function openStream(name: string, stdin: ByteStream | undefined): AsyncIterable<Uint8Array> {
  if (name === "-") return (stdin ?? (() => process.stdin))();
  return createReadStream(name, { highWaterMark: 1 << 20 });
}

/** Every byte of a stream, at most maxBytes of them. */
async function readAll(
  name: string,
  chunks: AsyncIterable<Uint8Array>,
  maxBytes: number,
  already: Buffer[] = [],
): Promise<Buffer> {
  const parts = [...already];
  let total = parts.reduce((n, p) => n + p.length, 0);
  try {
    for await (const chunk of chunks) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(name, maxBytes);
      parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  } catch (error) {
    throw asInputError(name === "<stdin>" ? "-" : name, error);
  }
  return Buffer.concat(parts, total);
}

/**
 * The rows of an estate file as they are read, with the same results and errors as
 * readEstateFile. NDJSON is read line by line, so it is never held in memory as a whole (and may
 * be larger than the longest JavaScript string); any other input is read whole. A regular file is
 * opened once to look at its start and again to read it; anything else (standard input, a FIFO,
 * `--input <(...)`, a device) is read exactly once, as a stream. Warnings (a truncated export) go
 * to `warn`. A malformed line fails the read after the rows before it were yielded: consumers
 * must not act on the rows until the read has finished.
 */
export async function* streamEstateFile(
  name: string,
  options: StreamEstateOptions,
): AsyncGenerator<ArmRow> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const shown = displayName(name);
  const input = await inputKind(name);
  if (input.kind === "stream") {
    yield* streamRows(shown, openStream(name, options.stdin), options.warn, maxBytes);
    return;
  }
  if (input.size > maxBytes) throw tooLarge(shown, maxBytes);
  const lines = linesOf(shown, createReadStream(name, { highWaterMark: 1 << 20 }));
  try {
    const ndjson = await detectNdjson(lines);
    if (ndjson) {
      yield* ndjsonRows(shown, ndjson.buffered, lines.iterator);
      return;
    }
  } catch (error) {
    throw asInputError(name, error);
  } finally {
    await lines.iterator.return(undefined);
  }
  const file = await readEstateFile(name, { maxBytes });
  for (const warning of file.warnings) options.warn(warning);
  yield* file.rows;
}

/**
 * The rows of a stream read once: its start decides NDJSON (then streamed line by line) or a
 * document (then read whole, bounded by maxBytes, and parsed).
 */
async function* streamRows(
  name: string,
  source: AsyncIterable<Uint8Array>,
  warn: (warning: RunError) => void,
  maxBytes: number,
): AsyncGenerator<ArmRow> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let read = 0;
  let ended = false;
  const next = async (): Promise<Buffer | null> => {
    try {
      const step = await iterator.next();
      if (step.done) return null;
      const chunk = Buffer.from(step.value.buffer, step.value.byteOffset, step.value.byteLength);
      read += chunk.length;
      if (read > maxBytes) throw tooLarge(name, maxBytes);
      return chunk;
    } catch (error) {
      throw asInputError(name === "<stdin>" ? "-" : name, error);
    }
  };
  try {
    // The start: enough to tell NDJSON from a document in nearly every input.
    while (read < 1 << 20) {
      const chunk = await next();
      if (chunk === null) {
        ended = true;
        break;
      }
      head.push(chunk);
      if (read >= SNIFF_BYTES && chunk.includes(0x0a)) break;
    }
    const start = Buffer.concat(head);
    refuseBinary(name, start);
    const mark = byteOrderMark(start);
    const textStart = mark === "utf8" ? 3 : 0;
    const kind =
      ended || mark === "utf16le" || mark === "utf16be"
        ? "document"
        : classifyStart(start, textStart);
    if (kind === "ndjson") {
      const rest = (async function* () {
        for (;;) {
          const chunk = await next();
          if (chunk === null) return;
          yield chunk;
        }
      })();
      const lines = linesOf(
        name,
        (async function* () {
          yield start;
          yield* rest;
        })(),
      );
      yield* ndjsonRows(name, [], lines.iterator);
      return;
    }
    // A document: the rest, then parsed whole (bounded by maxBytes, as it is read).
    const parts: Buffer[] = [start];
    for (let chunk = ended ? null : await next(); chunk !== null; chunk = await next()) {
      parts.push(chunk);
    }
    const whole = parts.length === 1 ? start : Buffer.concat(parts);
    const file = parseEstate(name, decodeWhole(name, whole));
    for (const warning of file.warnings) warn(warning);
    yield* file.rows;
  } finally {
    await iterator.return?.();
  }
}

/**
 * "ndjson" when the start of an input that goes on tells that parseEstate will take it as NDJSON:
 * its first non-blank line is a JSON object on its own and something other than blanks follows
 * (so the whole cannot be one JSON document). Otherwise "document": read it whole.
 */
function classifyStart(bytes: Buffer, from: number): "ndjson" | "document" {
  let lineStart = from;
  for (;;) {
    const newline = bytes.indexOf(0x0a, lineStart);
    if (newline < 0) return "document";
    const raw = bytes.toString("utf8", lineStart, newline);
    lineStart = newline + 1;
    if (raw.trim() === "") continue;
    if (!isObjectLine(raw.endsWith("\r") ? raw.slice(0, -1) : raw)) return "document";
    for (let i = lineStart; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return "ndjson";
    }
    return "document";
  }
}

/**
 * The lines of a stream of bytes, as text.split(/\r?\n/) would give them. Lines are cut at LF
 * bytes (which never occur inside a UTF-8 sequence) and each line is decoded once, so a very long
 * line costs linear time. The first chunk decides the encoding: UTF-16 is not line-readable (the
 * caller reads it whole), a UTF-8 BOM is dropped as decode() does, and binary data is refused.
 */
function linesOf(
  name: string,
  chunks: AsyncIterable<Uint8Array>,
): { iterator: AsyncGenerator<string, void, undefined> } {
  async function* generate(): AsyncGenerator<string, void, undefined> {
    let pieces: Buffer[] = [];
    let first = true;
    const text = (parts: Buffer[]) =>
      parts.length === 1 ? parts[0]!.toString("utf8") : Buffer.concat(parts).toString("utf8");
    const line = (raw: string) => (raw.endsWith("\r") ? raw.slice(0, -1) : raw);
    for await (const raw of chunks) {
      let chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      if (first) {
        first = false;
        const bom = byteOrderMark(chunk);
        if (bom === "utf16le" || bom === "utf16be") throw new NotLineReadable();
        refuseBinary(name, chunk);
        if (bom === "utf8") chunk = chunk.subarray(3);
      }
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        pieces.push(chunk.subarray(start, nl));
        yield line(text(pieces));
        pieces = [];
        start = nl + 1;
      }
      if (start < chunk.length) pieces.push(chunk.subarray(start));
    }
    yield text(pieces.length > 0 ? pieces : [Buffer.alloc(0)]);
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

/** The process's standard input, read once as a stream. */
export const readStdin: ByteStream = () => process.stdin;

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
