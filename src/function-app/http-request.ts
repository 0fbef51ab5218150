/** Reading an HTTP scan request: its query or JSON body, and the scope the app settings allow. */
import type { HttpRequest } from "@azure/functions";
import type { Settings } from "../settings.js";
import { PROBLEM_TYPES, type InvalidParam, type Problem } from "./problem.js";
import {
  MAX_BODY_BYTES,
  parseScanBody,
  parseScanQuery,
  type Parsed,
  type ScanRequest,
} from "./scan-request.js";

/** The query string as sent: repeated names survive (request.query may join them with commas). */
export function queryOf(request: HttpRequest): URLSearchParams {
  return new URL(request.url).searchParams;
}

function isJsonMediaType(value: string | null): boolean {
  if (value === null) return true;
  const type = value.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Reads at most `max` bytes of the body; null when it is longer. */
async function readBody(request: HttpRequest, max: number): Promise<string | null> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > max) return null;
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export async function parseRequest(request: HttpRequest): Promise<Parsed<ScanRequest> | Problem> {
  if (request.method.toUpperCase() !== "POST") return parseScanQuery(queryOf(request));
  const stray: InvalidParam[] = [];
  for (const name of new Set(queryOf(request).keys())) {
    if (name !== "code")
      stray.push({ name, reason: "POST takes its parameters in the JSON body, not the query" });
  }
  if (stray.length > 0) return { ok: false, invalidParams: stray };
  const contentType = request.headers.get("content-type");
  if (!isJsonMediaType(contentType)) {
    return {
      type: PROBLEM_TYPES.unsupportedMediaType,
      title: "Unsupported media type",
      status: 415,
      detail: `the body must be application/json, not ${contentType}`,
    };
  }
  const text = await readBody(request, MAX_BODY_BYTES);
  if (text === null) {
    return {
      ok: false,
      invalidParams: [{ name: "body", reason: `larger than ${MAX_BODY_BYTES} bytes` }],
    };
  }
  return parseScanBody(text);
}

/**
 * When the app settings name a scope (KMS_AUDIT_SUBSCRIPTIONS, KMS_AUDIT_MANAGEMENT_GROUPS), a
 * request may narrow it but not leave it: a function key must not widen what the operators chose
 * to audit. Management-group membership of a subscription is not looked up, so with only
 * management groups configured a request names management groups. IDs compare case-insensitively.
 */
export function outsideConfiguredScope(
  request: { subscriptions: readonly string[]; managementGroups: readonly string[] },
  settings: Settings,
): InvalidParam[] {
  const configuredSubs = new Set(settings.subscriptions.map((s) => s.toLowerCase()));
  const configuredMgs = new Set(settings.managementGroups.map((m) => m.toLowerCase()));
  if (configuredSubs.size === 0 && configuredMgs.size === 0) return [];
  const outside: InvalidParam[] = [];
  for (const sub of request.subscriptions) {
    if (!configuredSubs.has(sub.toLowerCase())) {
      outside.push({
        name: "subscriptionId",
        reason: `${sub} is outside the scope this app audits`,
      });
    }
  }
  for (const mg of request.managementGroups) {
    if (!configuredMgs.has(mg.toLowerCase())) {
      outside.push({
        name: "managementGroup",
        reason: `${mg} is outside the scope this app audits`,
      });
    }
  }
  return outside;
}
