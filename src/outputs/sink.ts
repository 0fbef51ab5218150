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
}
