import type { Logger } from "../logging/logger.js";
import type { RunError, ScanResult } from "../model.js";

/** Where a finished scan's results are sent besides the formatted output (e.g. Log Analytics). */
export interface ResultSink {
  readonly name: string;
  write(result: ScanResult, context: { logger: Logger; signal?: AbortSignal }): Promise<SinkReport>;
}

export interface SinkReport {
  sink: string;
  /** Records accepted by the destination. */
  delivered: number;
  /** Records that could not be delivered in this run (kept for the next one where possible). */
  failed: number;
  errors: RunError[];
  /** Why records failed, as the destination or the sink said it (one line), when `failed` > 0. */
  cause?: string;
  /**
   * Set by a sink that keeps undelivered records for the next run, when this write left some
   * (`failed` > 0): how many records, of this run and earlier ones, now wait there; null when its
   * store could not be listed.
   */
  waitingRecords?: number | null;
}
