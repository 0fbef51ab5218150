import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import type { ScanResult, Status } from "../model.js";
import type { SinkReport } from "../outputs/sink.js";
import type { Problem } from "./problem.js";
import type { HttpFormat } from "./scan-request.js";

/**
 * The HTTP scan runs, so that a poll of GET /api/scan/runs/{id} can be answered by any instance:
 * in the app's storage (BlobRunStore) in Azure, or in memory (a single local process).
 */

export interface RunRecord {
  id: string;
  state: "running" | "done" | "failed";
  /** How the client asked for the result; polling may override it. */
  format: HttpFormat;
  statuses: Status[] | null;
  startedAt: Date;
  finishedAt: Date | null;
  result: ScanResult | null;
  reports: SinkReport[];
  problem: Problem | null;
}

export interface RunStore {
  readonly location: string;
  start(id: string, request: { format: HttpFormat; statuses: Status[] | null }): Promise<RunRecord>;
  finish(id: string, result: ScanResult, reports: SinkReport[]): Promise<void>;
  fail(id: string, problem: Problem): Promise<void>;
  /** The run, or undefined when unknown or expired. */
  get(id: string): Promise<RunRecord | undefined>;
}

export interface RunStoreOptions {
  /** Finished runs kept in memory; the oldest goes first. Default 10. */
  maxFinishedRuns?: number;
  /** How long a finished run is kept. Default 1 hour. */
  retentionInMs?: number;
  now?: () => Date;
}

function newRecord(
  id: string,
  request: { format: HttpFormat; statuses: Status[] | null },
  now: Date,
): RunRecord {
  return {
    id,
    state: "running",
    format: request.format,
    statuses: request.statuses,
    startedAt: now,
    finishedAt: null,
    result: null,
    reports: [],
    problem: null,
  };
}

/** Runs in this process's memory: the last `maxFinishedRuns` finished runs, for `retentionInMs`. */
export class MemoryRunStore implements RunStore {
  readonly location = "memory";
  private readonly runs = new Map<string, RunRecord>();
  private readonly maxFinished: number;
  private readonly retentionInMs: number;
  private readonly now: () => Date;

  constructor(options: RunStoreOptions = {}) {
    this.maxFinished = Math.max(1, options.maxFinishedRuns ?? 10);
    this.retentionInMs = options.retentionInMs ?? 3_600_000;
    this.now = options.now ?? (() => new Date());
  }

  start(id: string, request: { format: HttpFormat; statuses: Status[] | null }) {
    const record = newRecord(id, request, this.now());
    this.runs.set(id, record);
    return Promise.resolve({ ...record });
  }

  finish(id: string, result: ScanResult, reports: SinkReport[]) {
    const record = this.runs.get(id);
    if (record) Object.assign(record, { state: "done", result, reports, finishedAt: this.now() });
    this.prune();
    return Promise.resolve();
  }

  fail(id: string, problem: Problem) {
    const record = this.runs.get(id);
    if (record) Object.assign(record, { state: "failed", problem, finishedAt: this.now() });
    this.prune();
    return Promise.resolve();
  }

  get(id: string) {
    this.prune();
    const record = this.runs.get(id.toLowerCase()) ?? this.runs.get(id);
    return Promise.resolve(record ? { ...record } : undefined);
  }

  /** Drops finished runs older than the retention, then the oldest beyond the count. */
  private prune(): void {
    const cutoff = this.now().getTime() - this.retentionInMs;
    const finished = [...this.runs.values()].filter((r) => r.finishedAt !== null);
    for (const r of finished) {
      if ((r.finishedAt?.getTime() ?? 0) < cutoff) this.runs.delete(r.id);
    }
    const left = finished
      .filter((r) => this.runs.has(r.id))
      .sort((a, b) => (a.finishedAt?.getTime() ?? 0) - (b.finishedAt?.getTime() ?? 0));
    while (left.length > this.maxFinished) {
      const oldest = left.shift();
      if (oldest) this.runs.delete(oldest.id);
    }
  }
}

/** What runs/<id>.json holds: the record without the result (that is runs/<id>.result.json). */
interface StoredRecord {
  id: string;
  state: RunRecord["state"];
  format: HttpFormat;
  statuses: Status[] | null;
  startedAt: string;
  finishedAt: string | null;
  reports: SinkReport[];
  problem: Problem | null;
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A blob's text in one GET. (downloadToBuffer reads the size first and then ranges of it, so a
 * blob replaced in between comes back cut; one response is always one whole version.)
 */
async function readText(blob: BlockBlobClient): Promise<string> {
  const response = await blob.download();
  const chunks: Buffer[] = [];
  for await (const chunk of response.readableStreamBody ?? []) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number }).statusCode === 404;
}

/**
 * Runs as blobs of a container in the app's storage account: runs/<id>.json (state, request,
 * sink reports, problem) and, once done, runs/<id>.result.json (the ScanResult), written before
 * the state says done so that a reader who sees done always finds the result. Each blob is one
 * single-shot upload, so a reader sees a whole version or the one before. Finished runs are
 * answered for `retentionInMs`; blobs older than that (and than the longest run) are deleted
 * when a new run starts.
 */
export class BlobRunStore implements RunStore {
  readonly location: string;
  private readonly retentionInMs: number;
  private readonly maxRunInMs: number;
  private readonly now: () => Date;
  /** Records of the runs this instance started, so finishing them needs no read. */
  private readonly records = new Map<string, StoredRecord>();

  constructor(
    private readonly container: ContainerClient,
    options: RunStoreOptions & {
      /** Runs that never finished are deleted this long after their last write. Default 1 h. */
      maxRunInMs?: number;
    } = {},
  ) {
    this.location = container.url;
    this.retentionInMs = options.retentionInMs ?? 3_600_000;
    this.maxRunInMs = options.maxRunInMs ?? 3_600_000;
    this.now = options.now ?? (() => new Date());
  }

  private stateBlob(id: string) {
    if (!RUN_ID.test(id)) throw new Error(`invalid run id ${JSON.stringify(id)}`);
    return this.container.getBlockBlobClient(`runs/${id}.json`);
  }

  private resultBlob(id: string) {
    return this.container.getBlockBlobClient(`runs/${id}.result.json`);
  }

  private async write(record: StoredRecord): Promise<void> {
    const body = JSON.stringify(record);
    await this.stateBlob(record.id).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: "application/json" },
    });
  }

  async start(id: string, request: { format: HttpFormat; statuses: Status[] | null }) {
    await this.container.createIfNotExists();
    await this.pruneExpired().catch(() => undefined); // housekeeping never blocks a scan
    const record = newRecord(id, request, this.now());
    const stored: StoredRecord = {
      id,
      state: "running",
      format: record.format,
      statuses: record.statuses,
      startedAt: record.startedAt.toISOString(),
      finishedAt: null,
      reports: [],
      problem: null,
    };
    await this.write(stored);
    this.records.set(id, stored);
    return record;
  }

  async finish(id: string, result: ScanResult, reports: SinkReport[]) {
    const body = JSON.stringify(result);
    await this.resultBlob(id).uploadData(Buffer.from(body, "utf8"), {
      blobHTTPHeaders: { blobContentType: "application/json" },
    });
    await this.write({
      ...(await this.stored(id)),
      state: "done",
      reports,
      finishedAt: this.now().toISOString(),
    });
    this.records.delete(id);
  }

  async fail(id: string, problem: Problem) {
    await this.write({
      ...(await this.stored(id)),
      state: "failed",
      problem,
      finishedAt: this.now().toISOString(),
    });
    this.records.delete(id);
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const key = id.toLowerCase();
    const stored = await this.read(key);
    if (!stored) return undefined;
    const finishedAt = stored.finishedAt ? new Date(stored.finishedAt) : null;
    if (finishedAt && finishedAt.getTime() < this.now().getTime() - this.retentionInMs) {
      return undefined;
    }
    let result: ScanResult | null = null;
    if (stored.state === "done") {
      try {
        const text = await readText(this.resultBlob(key));
        result = JSON.parse(text) as ScanResult;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return {
      id: stored.id,
      state: stored.state === "done" && !result ? "failed" : stored.state,
      format: stored.format,
      statuses: stored.statuses,
      startedAt: new Date(stored.startedAt),
      finishedAt,
      result,
      reports: stored.reports,
      problem: stored.problem,
    };
  }

  /** The record this instance started (kept), or as stored. */
  private async stored(id: string): Promise<StoredRecord> {
    const known = this.records.get(id) ?? (await this.read(id));
    if (!known) throw new Error(`run ${id} has no record in ${this.location}`);
    return known;
  }

  private async read(id: string): Promise<StoredRecord | undefined> {
    if (!RUN_ID.test(id)) return undefined;
    try {
      const text = await readText(this.stateBlob(id));
      return JSON.parse(text) as StoredRecord;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Deletes run blobs not written for longer than the retention and the longest run. */
  private async pruneExpired(): Promise<void> {
    const cutoff = this.now().getTime() - this.retentionInMs - this.maxRunInMs;
    for await (const blob of this.container.listBlobsFlat({ prefix: "runs/" })) {
      const modified = blob.properties.lastModified?.getTime() ?? Infinity;
      if (modified < cutoff) {
        await this.container.getBlockBlobClient(blob.name).deleteIfExists();
      }
    }
  }
}
