import type { ScanResult, Status } from "../model.js";
import type { SinkReport } from "../outputs/sink.js";
import type { Problem } from "./problem.js";
import type { HttpFormat } from "./scan-request.js";

/**
 * Per-instance state of the Function App: one heavy audit at a time, and the results of recent
 * runs, kept in this instance's memory only (they do not survive a restart and other instances
 * do not see them).
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

export interface RunStoreOptions {
  /** Finished runs kept; the oldest goes first. Default 10. */
  maxFinishedRuns?: number;
  /** How long a finished run is kept. Default 1 hour. */
  retentionInMs?: number;
  now?: () => Date;
}

export class RunStore {
  private readonly runs = new Map<string, RunRecord>();
  private readonly maxFinished: number;
  private readonly retentionInMs: number;
  private readonly now: () => Date;

  constructor(options: RunStoreOptions = {}) {
    this.maxFinished = Math.max(1, options.maxFinishedRuns ?? 10);
    this.retentionInMs = options.retentionInMs ?? 3_600_000;
    this.now = options.now ?? (() => new Date());
  }

  start(id: string, request: { format: HttpFormat; statuses: Status[] | null }): RunRecord {
    const record: RunRecord = {
      id,
      state: "running",
      format: request.format,
      statuses: request.statuses,
      startedAt: this.now(),
      finishedAt: null,
      result: null,
      reports: [],
      problem: null,
    };
    this.runs.set(id, record);
    return record;
  }

  finish(id: string, result: ScanResult, reports: SinkReport[]): void {
    const record = this.runs.get(id);
    if (!record) return;
    Object.assign(record, { state: "done", result, reports, finishedAt: this.now() });
    this.prune();
  }

  fail(id: string, problem: Problem): void {
    const record = this.runs.get(id);
    if (!record) return;
    Object.assign(record, { state: "failed", problem, finishedAt: this.now() });
    this.prune();
  }

  get(id: string): RunRecord | undefined {
    this.prune();
    return this.runs.get(id.toLowerCase()) ?? this.runs.get(id);
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

/** One audit at a time: HTTP requests try and get 429 when busy, the timer waits its turn. */
export class ScanGate {
  private tail: Promise<void> = Promise.resolve();
  private held = false;

  get busy(): boolean {
    return this.held;
  }

  /** A release function, or null when a scan is running. */
  tryAcquire(): (() => void) | null {
    if (this.held) return null;
    return this.take();
  }

  /** Waits for the running scan, if any, to finish. */
  async acquire(): Promise<() => void> {
    while (this.held) await this.tail;
    return this.take();
  }

  private take(): () => void {
    this.held = true;
    let done!: () => void;
    this.tail = new Promise<void>((resolve) => (done = resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held = false;
      done();
    };
  }
}

export interface ScanService {
  gate: ScanGate;
  runs: RunStore;
}

export function createScanService(options: RunStoreOptions = {}): ScanService {
  return { gate: new ScanGate(), runs: new RunStore(options) };
}

let instance: ScanService | undefined;

/** The instance-wide service the registered functions share. */
export function instanceScanService(): ScanService {
  instance ??= createScanService();
  return instance;
}
