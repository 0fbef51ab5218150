import { randomUUID } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

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
   */
  list(onCorrupt?: (id: string, reason: string) => void): Promise<PendingBatch[]>;
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

/** The ID itself, or an error if it is not a file- and blob-name safe batch ID. */
export function checkId(id: string): string {
  if (!BATCH_ID.test(id)) throw new Error(`invalid pending batch id "${id}"`);
  return id;
}

/** A directory with one JSON file per batch, written atomically (temporary file + rename). */
export function createFilePendingStore(directory: string): PendingStore {
  const file = (id: string) => join(directory, `${checkId(id)}.json`);
  return {
    location: directory,
    async list(onCorrupt) {
      let names: string[];
      try {
        names = await readdir(directory);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
      const batches: PendingBatch[] = [];
      for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
        const id = name.slice(0, -".json".length);
        const batch = parseBatch(await readFile(join(directory, name), "utf8"), id);
        if (typeof batch === "string") {
          await rename(join(directory, name), join(directory, `${name}.corrupt`));
          onCorrupt?.(id, batch);
        } else {
          batches.push(batch);
        }
      }
      return batches;
    },
    async put(batch) {
      await mkdir(directory, { recursive: true });
      const target = file(batch.id);
      const temporary = `${target}.${process.pid}.${randomUUID()}.tmp`;
      await writeFile(temporary, JSON.stringify(batch), { encoding: "utf8", flush: true });
      await rename(temporary, target);
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
