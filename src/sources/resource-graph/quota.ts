/**
 * Client-side pacing for the Resource Graph per-identity quota. Every response carries
 * `x-ms-user-quota-remaining` (queries left in the window) and `x-ms-user-quota-resets-after`
 * (hh:mm:ss until the window resets). Over quota the service answers 429 without Retry-After, so
 * the client must hold back on its own: when the last response said nothing is left, wait until
 * the reported reset, plus a small margin, before sending the next query.
 */

export const QUOTA_REMAINING_HEADER = "x-ms-user-quota-remaining";
export const QUOTA_RESETS_AFTER_HEADER = "x-ms-user-quota-resets-after";

const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

/**
 * Parses a duration as Resource Graph writes it: "hh:mm:ss", optionally with a day part
 * ("d.hh:mm:ss") and fractional seconds ("hh:mm:ss.fffffff", .NET TimeSpan style).
 * Returns milliseconds, or null when the text is not such a duration.
 */
export function parseResetsAfter(value: string | undefined | null): number | null {
  if (value === undefined || value === null) return null;
  const match = TIMESPAN.exec(value.trim());
  if (!match) return null;
  const [, days, hours, minutes, seconds, fraction] = match;
  const wholeSeconds =
    Number(days ?? 0) * 86_400 + Number(hours) * 3_600 + Number(minutes) * 60 + Number(seconds);
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1_000 : 0;
  return wholeSeconds * 1_000 + fractionMs;
}

export function parseRemaining(value: string | undefined | null): number | null {
  if (value === undefined || value === null || value.trim() === "") return null;
  const n = Number(value.trim());
  return Number.isInteger(n) ? n : null;
}

export interface QuotaPacerOptions {
  now: () => number;
  /** Queries to keep in hand; 0 uses the quota fully. */
  reserve?: number;
  /** Added to each wait so the window has surely reset on the server; default 50 ms + 2%. */
  marginInMs?: (waitInMs: number) => number;
}

/** Remembers the last quota the service reported and says how long to wait before the next query. */
export class QuotaPacer {
  private remaining: number | null = null;
  private resetAt: number | null = null;
  private readonly now: () => number;
  private readonly reserve: number;
  private readonly margin: (waitInMs: number) => number;

  constructor(options: QuotaPacerOptions) {
    this.now = options.now;
    this.reserve = options.reserve ?? 0;
    this.margin = options.marginInMs ?? ((wait) => 50 + wait * 0.02);
  }

  /** Records the headers of a response (any status), read at the time it arrived. */
  observe(headers: { get(name: string): string | undefined }): void {
    const remaining = parseRemaining(headers.get(QUOTA_REMAINING_HEADER));
    const resetsAfterInMs = parseResetsAfter(headers.get(QUOTA_RESETS_AFTER_HEADER));
    if (remaining !== null) {
      this.remaining = remaining;
      this.resetAt = resetsAfterInMs === null ? null : this.now() + resetsAfterInMs;
    }
  }

  /** Milliseconds to wait before the next query; 0 when the quota allows it now. */
  delayBeforeNextInMs(): number {
    if (this.remaining === null || this.remaining > this.reserve) return 0;
    if (this.resetAt === null) return 0;
    if (this.resetAt - this.now() <= 0) return 0;
    return this.waitForResetInMs() ?? 0;
  }

  /** Milliseconds until the reported quota window has surely reset (margin included), or null. */
  waitForResetInMs(): number | null {
    if (this.resetAt === null) return null;
    const wait = Math.max(0, this.resetAt - this.now());
    return Math.ceil(wait + this.margin(wait));
  }

  /** A query was sent: count it against the remembered quota until the next response says more. */
  spend(): void {
    if (this.remaining !== null) this.remaining -= 1;
  }

  /** After waiting out the window the remembered numbers no longer hold. */
  forgetIfReset(): void {
    if (this.resetAt !== null && this.now() >= this.resetAt) {
      this.remaining = null;
      this.resetAt = null;
    }
  }
}
