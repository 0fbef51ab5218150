import type { SourceProgress } from "../sources/source.js";

/** A stream the CLI may draw progress on: only a terminal, never a pipe or a file. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressReporter {
  /** Hand to the source (SourceContext.onProgress); undefined when nothing is shown. */
  readonly onProgress: ((progress: SourceProgress) => void) | undefined;
  /** Replaces the updating line with a final one (or clears it); call once, also on failure. */
  finish(outcome: "done" | "failed"): void;
}

const CLEAR_LINE = "\r\x1b[2K";
const NUMBER = new Intl.NumberFormat("en-US");

function describe(p: SourceProgress): string {
  const subscriptions =
    p.subscriptions === 1 ? "1 subscription" : `${NUMBER.format(p.subscriptions)} subscriptions`;
  return `${NUMBER.format(p.pages)} pages, ${NUMBER.format(p.rows)} rows, ${subscriptions}`;
}

/**
 * Live-scan progress on stderr: one line rewritten in place after each page, on a terminal only,
 * so piped or redirected output (JSON, CI logs) stays exactly as without it.
 */
export function createProgressReporter(stream: ProgressStream | null): ProgressReporter {
  if (stream?.isTTY !== true) return { onProgress: undefined, finish: () => undefined };
  let last: SourceProgress | null = null;
  const fit = (text: string) => {
    const width = typeof stream.columns === "number" && stream.columns > 1 ? stream.columns - 1 : 0;
    return width > 0 && text.length > width ? `${text.slice(0, width - 1)}…` : text;
  };
  return {
    onProgress(progress) {
      last = progress;
      stream.write(
        CLEAR_LINE +
          fit(
            `Resource Graph: ${describe(progress)} (${progress.query} query, ${progress.scope}, page ${progress.page})`,
          ),
      );
    },
    finish(outcome) {
      if (last === null) return;
      const verb = outcome === "done" ? "read" : "stopped after";
      stream.write(`${CLEAR_LINE}${fit(`Resource Graph: ${verb} ${describe(last)}`)}\n`);
      last = null;
    },
  };
}
