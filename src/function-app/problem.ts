import type { HttpResponseInit } from "@azure/functions";

/** One rejected request parameter: its name as the client spelled it, and why. */
export interface InvalidParam {
  name: string;
  reason: string;
}

/** RFC 9457 problem details, with the `invalidParams` extension for 400 answers. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  invalidParams?: InvalidParam[];
}

/** Problem types of this API (URNs: stable identifiers, not links). */
export const PROBLEM_TYPES = {
  invalidParameters: "urn:kms-route-audit:problem:invalid-parameters",
  unsupportedMediaType: "urn:kms-route-audit:problem:unsupported-media-type",
  busy: "urn:kms-route-audit:problem:scan-in-progress",
  runNotFound: "urn:kms-route-audit:problem:run-not-found",
  settings: "urn:kms-route-audit:problem:settings",
  scanFailed: "urn:kms-route-audit:problem:scan-failed",
} as const;

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemResponse(
  problem: Problem,
  headers: Record<string, string> = {},
): HttpResponseInit {
  return {
    status: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...headers },
    body: JSON.stringify(problem),
  };
}

export function invalidParameters(invalidParams: InvalidParam[], instance?: string): Problem {
  return {
    type: PROBLEM_TYPES.invalidParameters,
    title: "Invalid request parameters",
    status: 400,
    detail: invalidParams.map((p) => `${p.name}: ${p.reason}`).join("; "),
    ...(instance ? { instance } : {}),
    invalidParams,
  };
}

/** The 500 problem of a run that failed: `detail` says why. */
export function scanFailed(detail: string): Problem {
  return { type: PROBLEM_TYPES.scanFailed, title: "The scan failed", status: 500, detail };
}
