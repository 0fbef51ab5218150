/** Response headers as the Azure SDK hands them over (a raw response's, or an error's). */
export interface HeaderBag {
  get(name: string): string | undefined;
}

/** The headers of a raw response or a RestError's response, if it has any. */
export function headersFrom(value: unknown): HeaderBag | null {
  if (value && typeof value === "object" && "get" in value && typeof value.get === "function") {
    const bag = value as { get(name: string): unknown };
    return {
      get: (name) => {
        const v = bag.get(name);
        return typeof v === "string" ? v : undefined;
      },
    };
  }
  return null;
}

/**
 * How long the service asks to wait, in milliseconds: retry-after-ms or x-ms-retry-after-ms (ARM's
 * throttling headers), else Retry-After in seconds or as an HTTP date; null when it says nothing.
 */
export function retryAfterInMs(headers: HeaderBag | null, nowMs: number): number | null {
  if (!headers) return null;
  for (const name of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const v = Number(headers.get(name));
    if (headers.get(name) !== undefined && Number.isFinite(v) && v >= 0) return v;
  }
  const raw = headers.get("retry-after");
  if (raw === undefined || raw.trim() === "") return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : null;
}
