/** What the HTTP scan functions answer for a run: 202 while it runs, the result, or a problem. */
import type { HttpResponseInit } from "@azure/functions";
import { describeError } from "../errors.js";
import type { Status } from "../model.js";
import { formatResult } from "../outputs/format.js";
import { problemResponse, PROBLEM_TYPES, scanFailed, type Problem } from "./problem.js";
import { CONTENT_TYPES, type HttpFormat } from "./scan-request.js";
import type { RunRecord } from "./scan-service.js";

export const RUNS_ROUTE_PREFIX = "/api/scan/runs/";

export function settingsProblem(error: unknown): Problem {
  const setting = (error as { setting?: unknown }).setting;
  return {
    type: PROBLEM_TYPES.settings,
    title: "The Function App is misconfigured",
    status: 500,
    detail: describeError(error),
    ...(typeof setting === "string" ? { setting } : {}),
  };
}

function filtered(record: RunRecord, statuses: Status[] | null) {
  const result = record.result;
  if (!result || statuses === null) return result;
  return { ...result, findings: result.findings.filter((f) => statuses.includes(f.status)) };
}

/** 200 with the result, 202 while running, 500 problem when the run failed. */
export function answer(
  record: RunRecord,
  format: HttpFormat,
  statuses: Status[] | null,
  pollRetryAfterSeconds: number,
): HttpResponseInit {
  const headers: Record<string, string> = { "x-run-id": record.id };
  if (record.state === "running") {
    const location = `${RUNS_ROUTE_PREFIX}${record.id}`;
    return {
      status: 202,
      headers: {
        ...headers,
        "content-type": "application/json",
        location,
        "retry-after": String(pollRetryAfterSeconds),
      },
      body: JSON.stringify({
        runId: record.id,
        state: "running",
        startedAt: record.startedAt.toISOString(),
        location,
      }),
    };
  }
  if (record.state === "failed" || !record.result) {
    return problemResponse(record.problem ?? scanFailed("unknown error"), headers);
  }
  const result = filtered(record, statuses) ?? record.result;
  headers["x-run-complete"] = String(record.result.run.complete);
  for (const report of record.reports) {
    headers[`x-${report.sink}-delivered`] = String(report.delivered);
    headers[`x-${report.sink}-failed`] = String(report.failed);
  }
  return {
    status: 200,
    headers: { ...headers, "content-type": CONTENT_TYPES[format] },
    body: formatResult(result, format, { color: false }),
  };
}
