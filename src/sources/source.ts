import type { ArmRow } from "../inventory/arm-row.js";
import type { Logger } from "../logging/logger.js";
import type { RunError, RunSummary } from "../model.js";

export interface SourceContext {
  logger: Logger;
  signal?: AbortSignal;
  /** Records something that could not be read; the run becomes incomplete. */
  reportError(error: RunError): void;
  /** Told after each page a paging source has read (the CLI shows it on a terminal). */
  onProgress?(progress: SourceProgress): void;
}

/** How far a paging source has got; totals cover every query and scope read so far. */
export interface SourceProgress {
  /** Which query read the page, e.g. "subscriptions" or "resources". */
  query: string;
  /** The scope it read, e.g. "tenant" or "subscriptions (3)". */
  scope: string;
  /** Page number within this query and scope, from 1. */
  page: number;
  pages: number;
  rows: number;
  /** Distinct subscriptions seen so far. */
  subscriptions: number;
}

/** Where ARM resource rows come from: estate files, the demo estate or Resource Graph. */
export interface EstateSource {
  readonly kind: RunSummary["source"]["kind"];
  /** File names, or endpoint descriptions, for the run record. */
  readonly inputs: string[];
  readonly scope: RunSummary["scope"];
  /** Rows in the order read, in batches: one async step per row would cost more than the row. */
  read(context: SourceContext): AsyncIterable<EstateBatch>;
}

export type EstateBatch = readonly ArmRow[];
