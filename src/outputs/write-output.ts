/** Writing formatted output to a file or a stream, in large batches, with one-line errors. */
import { open } from "node:fs/promises";
import { once } from "node:events";
import { OutputError, describeError } from "../errors.js";

const WRITE_BATCH_CHARS = 1 << 20;

/** Batches pieces into ~1M-character strings. */
function* batched(chunks: Iterable<string>): Generator<string> {
  let batch = "";
  for (const chunk of chunks) {
    batch += chunk;
    if (batch.length >= WRITE_BATCH_CHARS) {
      yield batch;
      batch = "";
    }
  }
  if (batch !== "") yield batch;
}

/** Writes the pieces to a file (created or truncated, as writeFile does). */
export async function writeChunksToFile(path: string, chunks: Iterable<string>): Promise<void> {
  const file = await open(path, "w");
  try {
    for (const batch of batched(chunks)) await file.write(batch);
  } finally {
    await file.close();
  }
}

/** Why a stream took no more output, in words. */
function describeWriteError(error: NodeJS.ErrnoException): string {
  if (error.code === "EPIPE") return "the reader closed the pipe (EPIPE)";
  if (error.code === "ENOSPC") return "no space left on the device (ENOSPC)";
  return describeError(error);
}

/**
 * Writes the pieces to a stream, waiting for it to drain when it asks to, and for the last piece
 * to be handed over. A stream that fails (`> /dev/full`: ENOSPC; a reader that went away, as
 * `| head` does: EPIPE) ends the writing at once with an OutputError naming `what`; the caller
 * decides whether the run goes on (a --log-analytics delivery still matters).
 */
export async function writeChunksToStream(
  stream: NodeJS.WritableStream,
  chunks: Iterable<string>,
  what = "stdout",
): Promise<void> {
  let failure: NodeJS.ErrnoException | null = null;
  const onError = (error: NodeJS.ErrnoException) => {
    failure ??= error;
  };
  stream.on("error", onError);
  try {
    for (const batch of batched(chunks)) {
      if (failure) break;
      if (!stream.write(batch)) {
        try {
          await once(stream, "drain");
        } catch (error) {
          failure ??= error as NodeJS.ErrnoException;
        }
      }
    }
    if (!failure) {
      // The last write's outcome: an error may come after write() returned.
      await new Promise<void>((resolve) => {
        stream.write("", (error?: Error | null) => {
          if (error) failure ??= error as NodeJS.ErrnoException;
          resolve();
        });
      });
    }
  } finally {
    stream.off("error", onError);
  }
  if (failure !== null) {
    throw new OutputError(`${what}: cannot write output: ${describeWriteError(failure)}`, {
      cause: failure,
    });
  }
}
