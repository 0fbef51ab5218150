/** Quoting for the fix scripts: operators paste them into shells, so every value is quoted. */

export function sh(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function ps(value: string): string {
  // PowerShell also ends a single-quoted string at the typographic quotes U+2018 to U+201B.
  return `'${value.replace(/['\u2018-\u201B]/g, (q) => q + q)}'`;
}

/** Text for a // comment: one line, whatever the data holds. */
export function comment(value: string): string {
  return value.replace(/[\r\n\u2028\u2029]+/g, " ");
}

export function bicepString(value: string): string {
  return `'${value
    .replace(/\\/g, "\\\\")
    .replace(/'/g, "\\'")
    .replace(/\$\{/g, "\\${")
    .replace(/\r/g, "\\r")
    .replace(/\n/g, "\\n")}'`;
}

export function bicepArray(values: readonly string[]): string {
  return `[${values.map(bicepString).join(", ")}]`;
}

/** A resource name from parts: the characters Azure names may hold, at most 80. */
export function resourceName(...parts: string[]): string {
  return parts
    .join("-")
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .slice(0, 80);
}

/**
 * A free priority at or below `start` (lower numbers are processed first), not below `floor`; null
 * when every one is taken, or the deny to beat already holds the first priority.
 */
export function freePriority(
  used: readonly number[],
  start: number,
  floor: number,
  ceiling: number,
): number | null {
  const taken = new Set(used);
  for (let p = Math.min(start, ceiling); p >= floor; p--) if (!taken.has(p)) return p;
  return null;
}
