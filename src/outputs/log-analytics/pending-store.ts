import { randomUUID } from "node:crypto";
import type { Dirent } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describeError } from "../../errors.js";

/**
 * Rows that could not be delivered in one run, kept so the next run resends them unchanged
 * (same TimeGenerated, RunId and RecordId).
 */
export interface PendingBatch {
  /** Unique within the store; file-name safe. */
  id: string;
  /** DCR stream the rows belong to. */
  stream: string;
  rows: Record<string, unknown>[];
  /** When the rows first failed (ISO 8601). */
  firstFailedAt: string;
  /** Upload rounds that failed so far, including the first run's. */
  attempts: number;
  /** The last error, one line. */
  lastError: string;
}

/**
 * Where undelivered rows wait for the next run. One writer at a time per store: the timer
 * function runs as a singleton, and each CLI user has their own directory.
 */
export interface PendingStore {
  /** Says where the store is, for logs and messages. */
  readonly location: string;
  /**
   * Every batch, oldest first. A batch that cannot be read back (a torn or edited file) is moved
   * aside, reported through `onCorrupt`, and left out, so one bad batch never blocks the others.
   * An entry that is not a batch of this store (a stray `batch.copy.json`, a directory, a
   * `pending/sub/x.json` blob, a file that cannot be read) is reported through `onForeign` and
   * left alone. Leftover temporary files of an interrupted write are removed once they are old.
   */
  list(
    onCorrupt?: (id: string, reason: string) => void,
    onForeign?: (name: string, reason: string) => void,
  ): Promise<PendingBatch[]>;
  /** Creates or replaces a batch. Must be durable when it resolves. */
  put(batch: PendingBatch): Promise<void>;
  /** Removes a batch; removing a missing batch is not an error. */
  remove(id: string): Promise<void>;
}

/**
 * A stored batch, or why it is unusable. The ID comes from where it is stored (file or blob name),
 * so removing it after a resend always removes that very entry.
 */
export function parseBatch(text: string, id: string): PendingBatch | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  const b = value as Partial<PendingBatch> | null;
  if (
    typeof b !== "object" ||
    b === null ||
    typeof b.stream !== "string" ||
    !Array.isArray(b.rows) ||
    typeof b.attempts !== "number"
  ) {
    return "not a pending batch (stream, rows and attempts expected)";
  }
  return { ...(b as PendingBatch), id };
}

export function newPendingBatchId(now: Date = new Date()): string {
  // Sortable by time, unique by the UUID.
  return `${now.toISOString().replace(/[:.]/g, "-")}_${randomUUID()}`;
}

const BATCH_ID = /^[A-Za-z0-9_-]{1,200}$/;

/** Whether `id` is a file- and blob-name safe batch ID (what the store writes). */
export function isBatchId(id: string): boolean {
  return BATCH_ID.test(id);
}

/** The ID itself, or an error if it is not a file- and blob-name safe batch ID. */
export function checkId(id: string): string {
  if (!BATCH_ID.test(id)) throw new Error(`invalid pending batch id "${id}"`);
  return id;
}

/** The store could not be used at all (created, written); the message says where and why. */
export class PendingStoreError extends Error {
  override readonly name = "PendingStoreError";
}

/** Temporary files of a write are this old at most, unless the writer died. */
export const DEFAULT_TEMPORARY_GRACE_IN_MS = 3_600_000;

export interface FilePendingStoreOptions {
  /** Temporary files older than this are an interrupted write's and are removed; default 1 h. */
  temporaryGraceInMs?: number;
  now?: () => Date;
}

/**
 * `mkdir -p` that fails instead of spinning: Node's recursive mkdir loops forever on a path it
 * can never create (e.g. under /proc).
 */
async function makeDirectory(directory: string, depth = 0): Promise<void> {
  try {
    await mkdir(directory);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if ((await stat(directory)).isDirectory()) return;
      throw error;
    }
    const parent = dirname(directory);
    if (code !== "ENOENT" || parent === directory || depth > 64) throw error;
    let parentExists = true;
    try {
      await stat(parent);
    } catch {
      parentExists = false;
    }
    // The parent is there and still the directory cannot be made: a place that takes none.
    if (parentExists) throw error;
    await makeDirectory(parent, depth + 1);
  }
  await mkdir(directory).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST" || !(await stat(directory)).isDirectory()) throw error;
  });
}

/** A directory with one JSON file per batch, written atomically (temporary file + rename). */
export function createFilePendingStore(
  directory: string,
  options: FilePendingStoreOptions = {},
): PendingStore {
  const file = (id: string) => join(directory, `${checkId(id)}.json`);
  const grace = options.temporaryGraceInMs ?? DEFAULT_TEMPORARY_GRACE_IN_MS;
  const now = options.now ?? (() => new Date());
  return {
    location: directory,
    async list(onCorrupt, onForeign) {
      let entries: Dirent[];
      try {
        entries = await readdir(directory, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
      const batches: PendingBatch[] = [];
      for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const { name } = entry;
        const path = join(directory, name);
        if (name.endsWith(".tmp") && entry.isFile()) {
          // A write that never got renamed: its writer died. Removed once surely not in progress.
          const info = await stat(path).catch(() => null);
          if (info && now().getTime() - info.mtimeMs > grace) {
            await rm(path, { force: true }).catch(() => undefined);
          }
          continue;
        }
        if (name.endsWith(".json.corrupt")) continue; // set aside by an earlier run
        const id = name.endsWith(".json") ? name.slice(0, -".json".length) : null;
        if (id === null || !isBatchId(id)) {
          onForeign?.(name, "not a pending batch name (<id>.json); left alone");
          continue;
        }
        if (!entry.isFile()) {
          onForeign?.(name, "not a regular file; left alone");
          continue;
        }
        let text: string;
        try {
          text = await readFile(path, "utf8");
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") continue; // removed meanwhile
          onForeign?.(name, `cannot be read (${describeError(error)}); left alone`);
          continue;
        }
        const batch = parseBatch(text, id);
        if (typeof batch === "string") {
          await rename(path, `${path}.corrupt`).catch(() => undefined);
          onCorrupt?.(id, batch);
        } else {
          batches.push(batch);
        }
      }
      return batches;
    },
    async put(batch) {
      const target = file(batch.id);
      try {
        await makeDirectory(directory);
        const temporary = `${target}.${process.pid}.${randomUUID()}.tmp`;
        await writeFile(temporary, JSON.stringify(batch), { encoding: "utf8", flush: true });
        await rename(temporary, target);
      } catch (error) {
        throw new PendingStoreError(
          `pending store ${directory} cannot be written: ${describeError(error)}`,
          { cause: error },
        );
      }
    },
    async remove(id) {
      await rm(file(id), { force: true });
    },
  };
}

/** Keeps batches in memory: for tests and for callers that accept losing them on exit. */
export function createMemoryPendingStore(): PendingStore & { batches: Map<string, PendingBatch> } {
  const batches = new Map<string, PendingBatch>();
  return {
    location: "memory",
    batches,
    list() {
      return Promise.resolve(
        [...batches.values()]
          .sort((a, b) => a.id.localeCompare(b.id))
          .map((b) => structuredClone(b)),
      );
    },
    put(batch) {
      batches.set(checkId(batch.id), structuredClone(batch));
      return Promise.resolve();
    },
    remove(id) {
      batches.delete(id);
      return Promise.resolve();
    },
  };
}
