import { STATUSES, type Status } from "../model.js";
import { isGuid, isManagementGroupId } from "../azure/ids.js";
import type { InvalidParam } from "./problem.js";

/**
 * The parameters of GET/POST /api/scan and GET /api/scan/runs/{id}, validated strictly. Pure:
 * parsing never touches the network, and the values end up only in typed fields (scope lists,
 * an enum, a boolean), never in query text.
 */

export const HTTP_FORMATS = ["json", "csv", "sarif"] as const;
export type HttpFormat = (typeof HTTP_FORMATS)[number];

export const CONTENT_TYPES: Record<HttpFormat, string> = {
  json: "application/json",
  csv: "text/csv; charset=utf-8",
  sarif: "application/sarif+json",
};

/** Largest POST body accepted. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Most subscriptions plus management groups one request may name. */
export const MAX_SCOPE_ITEMS = 1000;

/** The function key travels as `code`; the host checks it, we only let it through. */
const KEY_PARAMETER = "code";

export interface ScanRequest {
  subscriptions: string[];
  managementGroups: string[];
  format: HttpFormat;
  /** Statuses of the findings to return; null: all. Counts always cover the whole run. */
  statuses: Status[] | null;
  write: boolean;
}

export interface RunPollRequest {
  format: HttpFormat | null;
  statuses: Status[] | null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; invalidParams: InvalidParam[] };

const SCAN_PARAMETERS = ["subscriptionId", "managementGroup", "format", "status", "write"];
const POLL_PARAMETERS = ["format", "status"];
const SINGLE_VALUED = new Set(["format", "status", "write"]);

function pieces(values: string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((v) => v.trim());
}

function parseSubscriptions(values: string[], problems: InvalidParam[]): string[] {
  const out: string[] = [];
  for (const v of pieces(values)) {
    if (!isGuid(v)) {
      problems.push({
        name: "subscriptionId",
        reason: `"${clip(v)}" is not a subscription ID (GUID)`,
      });
    } else out.push(v.toLowerCase());
  }
  return [...new Set(out)];
}

function parseManagementGroups(values: string[], problems: InvalidParam[]): string[] {
  const out: string[] = [];
  for (const v of pieces(values)) {
    if (!isManagementGroupId(v)) {
      problems.push({
        name: "managementGroup",
        reason: `"${clip(v)}" is not a management group ID (1-90 letters, digits, - _ ( ) .; not ending in .)`,
      });
    } else out.push(v);
  }
  return [...new Set(out)];
}

function parseFormat(value: string, problems: InvalidParam[]): HttpFormat | null {
  const match = HTTP_FORMATS.find((f) => f === value.trim().toLowerCase());
  if (!match) {
    problems.push({
      name: "format",
      reason: `"${clip(value)}" is not one of ${HTTP_FORMATS.join(", ")}`,
    });
    return null;
  }
  return match;
}

function parseStatuses(values: string[], problems: InvalidParam[]): Status[] | null {
  const out: Status[] = [];
  for (const v of pieces(values)) {
    const match = STATUSES.find((s) => s.toLowerCase() === v.toLowerCase());
    if (!match) {
      problems.push({
        name: "status",
        reason: `"${clip(v)}" is not one of ${STATUSES.join(", ")}`,
      });
    } else if (!out.includes(match)) out.push(match);
  }
  return out;
}

function parseWrite(value: string, problems: InvalidParam[]): boolean {
  const v = value.trim().toLowerCase();
  if (v === "true") return true;
  if (v !== "false")
    problems.push({ name: "write", reason: `"${clip(value)}" is not true or false` });
  return false;
}

/** Request text echoed in an error is shortened; it is only ever JSON-encoded, never executed. */
function clip(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}

function scopeSize(problems: InvalidParam[], request: ScanRequest) {
  if (request.subscriptions.length + request.managementGroups.length > MAX_SCOPE_ITEMS) {
    problems.push({
      name: "subscriptionId",
      reason: `at most ${MAX_SCOPE_ITEMS} subscriptions and management groups per request`,
    });
  }
}

/** Groups the query string's values by name, refusing unknown names and repeated single values. */
function collect(
  query: URLSearchParams,
  allowed: string[],
  problems: InvalidParam[],
): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of query) {
    if (name === KEY_PARAMETER) continue;
    if (!allowed.includes(name)) {
      problems.push({
        name: clip(name),
        reason: `unknown parameter; expected ${allowed.join(", ")}`,
      });
      continue;
    }
    const list = values.get(name) ?? [];
    list.push(value);
    values.set(name, list);
  }
  for (const [name, list] of values) {
    if (SINGLE_VALUED.has(name) && list.length > 1) {
      problems.push({ name, reason: `given ${list.length} times; give it once` });
    }
  }
  return values;
}

/** GET /api/scan: parameters from the query string (repeatable subscriptionId/managementGroup). */
export function parseScanQuery(query: URLSearchParams): Parsed<ScanRequest> {
  const problems: InvalidParam[] = [];
  const values = collect(query, SCAN_PARAMETERS, problems);
  const first = (name: string) => values.get(name)?.[0];
  const request: ScanRequest = {
    subscriptions: parseSubscriptions(values.get("subscriptionId") ?? [], problems),
    managementGroups: parseManagementGroups(values.get("managementGroup") ?? [], problems),
    format:
      first("format") === undefined
        ? "json"
        : (parseFormat(first("format") ?? "", problems) ?? "json"),
    statuses: values.has("status") ? parseStatuses([first("status") ?? ""], problems) : null,
    write: first("write") === undefined ? false : parseWrite(first("write") ?? "", problems),
  };
  scopeSize(problems, request);
  return problems.length > 0
    ? { ok: false, invalidParams: problems }
    : { ok: true, value: request };
}

/** GET /api/scan/runs/{id}: optional format and status overriding those of the original request. */
export function parsePollQuery(query: URLSearchParams): Parsed<RunPollRequest> {
  const problems: InvalidParam[] = [];
  const values = collect(query, POLL_PARAMETERS, problems);
  const format = values.get("format")?.[0];
  const status = values.get("status")?.[0];
  const request: RunPollRequest = {
    format: format === undefined ? null : parseFormat(format, problems),
    statuses: status === undefined ? null : parseStatuses([status], problems),
  };
  return problems.length > 0
    ? { ok: false, invalidParams: problems }
    : { ok: true, value: request };
}

function stringList(name: string, value: unknown, problems: InvalidParam[]): string[] | null {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  problems.push({ name, reason: "must be a string or an array of strings" });
  return null;
}

/** POST /api/scan: the same fields as a JSON object (`write` a boolean). */
export function parseScanBody(text: string): Parsed<ScanRequest> {
  if (text.trim() === "") return parseScanQuery(new URLSearchParams());
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      invalidParams: [{ name: "body", reason: `not JSON: ${(error as Error).message}` }],
    };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, invalidParams: [{ name: "body", reason: "must be a JSON object" }] };
  }
  const problems: InvalidParam[] = [];
  const fields = body as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!SCAN_PARAMETERS.includes(name)) {
      problems.push({
        name: clip(name),
        reason: `unknown field; expected ${SCAN_PARAMETERS.join(", ")}`,
      });
    }
  }
  const request: ScanRequest = {
    subscriptions: [],
    managementGroups: [],
    format: "json",
    statuses: null,
    write: false,
  };
  if (fields.subscriptionId !== undefined) {
    const list = stringList("subscriptionId", fields.subscriptionId, problems);
    if (list) request.subscriptions = parseSubscriptions(list, problems);
  }
  if (fields.managementGroup !== undefined) {
    const list = stringList("managementGroup", fields.managementGroup, problems);
    if (list) request.managementGroups = parseManagementGroups(list, problems);
  }
  if (fields.format !== undefined) {
    if (typeof fields.format !== "string") {
      problems.push({ name: "format", reason: "must be a string" });
    } else request.format = parseFormat(fields.format, problems) ?? "json";
  }
  if (fields.status !== undefined) {
    const list = stringList("status", fields.status, problems);
    if (list) request.statuses = parseStatuses(list, problems);
  }
  if (fields.write !== undefined) {
    if (typeof fields.write !== "boolean") {
      problems.push({ name: "write", reason: "must be true or false (a JSON boolean)" });
    } else request.write = fields.write;
  }
  scopeSize(problems, request);
  return problems.length > 0
    ? { ok: false, invalidParams: problems }
    : { ok: true, value: request };
}
