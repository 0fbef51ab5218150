import type { ArmRow } from "../inventory/arm-row.js";
import type { Logger } from "../logging/logger.js";
import type { RunError, RunSummary } from "../model.js";

export interface SourceContext {
  logger: Logger;
  signal?: AbortSignal;
  /** Records something that could not be read; the run becomes incomplete. */
  reportError(error: RunError): void;
}

/** Where ARM resource rows come from: estate files, the demo estate or Resource Graph. */
export interface EstateSource {
  readonly kind: RunSummary["source"]["kind"];
  /** File names, or endpoint descriptions, for the run record. */
  readonly inputs: string[];
  readonly scope: RunSummary["scope"];
  read(context: SourceContext): AsyncIterable<ArmRow>;
}
