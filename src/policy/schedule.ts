/**
 * The longest time between two runs of an Azure Functions timer schedule: an NCRONTAB expression
 * ({second} {minute} {hour} {day} {month} {day-of-week}: "Timer trigger for Azure Functions",
 * Microsoft Learn) or a TimeSpan "hh:mm:ss" (runs that far apart). Attestations are written to
 * outlive two missed runs of it (README "Azure Policy").
 */

const MINUTE_MS = 60_000;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

function field(raw: string, min: number, max: number, names?: string[]): Set<number> | null {
  const out = new Set<number>();
  const value = (text: string): number | null => {
    const lower = text.toLowerCase();
    const named = names?.findIndex((n) => lower.startsWith(n)) ?? -1;
    if (named >= 0 && /^[a-z]+$/.test(lower)) return named + (min === 1 ? 1 : 0);
    return /^\d+$/.test(text) ? Number(text) : null;
  };
  for (const part of raw.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || range === undefined) return null;
    let from: number | null;
    let to: number | null;
    if (range === "*") [from, to] = [min, max];
    else if (range.includes("-")) {
      const [a, b] = range.split("-");
      from = value(a ?? "");
      to = value(b ?? "");
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    if (from === null || to === null || from < min || to > max || from > to) return null;
    for (let v = from; v <= to; v += step) out.add(v === 7 && max === 7 ? 0 : v);
  }
  return out;
}

/**
 * The longest gap between runs, in milliseconds, over a year from 2027-01-01 (UTC, to the minute:
 * a schedule that fires more than once a minute counts as once a minute); null when the expression
 * cannot be read.
 */
export function longestIntervalInMs(schedule: string): number | null {
  const trimmed = schedule.trim();
  const span = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(trimmed);
  if (span) {
    const ms = ((Number(span[1]) * 60 + Number(span[2])) * 60 + Number(span[3])) * 1000;
    return ms > 0 ? ms : null;
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 6) return null;
  const [, minuteF, hourF, dayF, monthF, weekdayF] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const minutes = field(minuteF, 0, 59);
  const hours = field(hourF, 0, 23);
  const days = field(dayF, 1, 31);
  const months = field(monthF, 1, 12, MONTHS);
  const weekdays = field(weekdayF, 0, 7, DAYS);
  if (!minutes || !hours || !days || !months || !weekdays) return null;
  if (field(parts[0]!, 0, 59) === null) return null;
  const dayAny = dayF === "*";
  const weekdayAny = weekdayF === "*";
  const start = Date.UTC(2027, 0, 1);
  const end = start + 2 * 366 * 24 * 60 * MINUTE_MS;
  let first: number | null = null;
  let previous: number | null = null;
  let longest = 0;
  for (let day = start; day < end; day += 24 * 60 * MINUTE_MS) {
    const d = new Date(day);
    if (!months.has(d.getUTCMonth() + 1)) continue;
    // cron: with both day fields restricted, either matches.
    const byDay = days.has(d.getUTCDate());
    const byWeekday = weekdays.has(d.getUTCDay());
    const matches =
      dayAny && weekdayAny ? true : dayAny ? byWeekday : weekdayAny ? byDay : byDay || byWeekday;
    if (!matches) continue;
    for (const h of [...hours].sort((a, b) => a - b))
      for (const m of [...minutes].sort((a, b) => a - b)) {
        const t = day + (h * 60 + m) * MINUTE_MS;
        if (previous !== null) longest = Math.max(longest, t - previous);
        first ??= t;
        previous = t;
      }
  }
  if (first === null || previous === null) return null;
  if (first === previous) return 366 * 24 * 60 * MINUTE_MS;
  return Math.max(longest, MINUTE_MS);
}
