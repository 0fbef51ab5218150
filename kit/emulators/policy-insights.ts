import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { startHttpsServer, type RunningHttpsServer } from "../support/https-server.js";

/**
 * A loopback Azure Resource Manager for Microsoft.PolicyInsights attestations at resource scope,
 * driven by the real PolicyInsightsClient (@azure/arm-policyinsights 6.x, api-version 2024-10-01:
 * the REST reference "Attestations - Create Or Update At Resource / Get At Resource / Delete At
 * Resource" and its examples Attestations_GetResourceScope.json):
 *
 * - PUT {resourceId}/providers/Microsoft.PolicyInsights/attestations/{name}: 201 on create, 200
 *   on update, the attestation with provisioningState Succeeded (the operation is long-running
 *   in the spec; answered complete at once, as the service does for attestations). The resource
 *   must exist (404 otherwise), policyAssignmentId is required and complianceState one of
 *   Compliant, NonCompliant, Unknown (400 otherwise).
 * - GET: 200 or 404; DELETE: 200, or 204 when there was none.
 * - Faults: 429 with or without Retry-After, 5xx, a concurrent write (409 Conflict after another
 *   writer's body was stored), any other status; other api-versions are refused (400).
 */

export const ATTESTATIONS_API_VERSION = "2024-10-01";

export interface StoredAttestation {
  id: string;
  name: string;
  resourceId: string;
  properties: Record<string, unknown>;
  writes: number;
}

export interface RecordedPolicyRequest {
  method: string;
  /** The path as sent (before decoding). */
  path: string;
  apiVersion: string | null;
  status: number;
  /** The resource the attestation is on, and its name. */
  resourceId: string | null;
  name: string | null;
}

export type PolicyFault =
  | { status: 429; retryAfterSeconds?: number; method?: string }
  | { status: 500 | 502 | 503 | 504; method?: string }
  | { status: number; method?: string; code?: string }
  /** The next PUT to this attestation meets another writer: its body is stored, then 409. */
  | { concurrentWrite: Record<string, unknown>; method?: "PUT" };

export interface PolicyInsightsEmulatorOptions {
  /** Resource IDs that exist (case-insensitive): attestations on others are 404. */
  resources: string[];
  isValidToken?: (token: string) => boolean;
}

export interface PolicyInsightsEmulator {
  url: string;
  certificate: RunningHttpsServer["certificate"];
  readonly requests: RecordedPolicyRequest[];
  /** Attestations by lower-cased resource ID and name. */
  attestations(): StoredAttestation[];
  attestationOf(resourceId: string): StoredAttestation | undefined;
  injectFault(fault: PolicyFault): void;
  /** Writes (PUTs answered 200/201) so far. */
  writes(): number;
  /** Handles a request (for a router that serves several emulators on one endpoint). */
  handle(req: IncomingMessage, res: ServerResponse, body: string): void;
  close(): Promise<void>;
}

const PATH = /^\/(.+)\/providers\/microsoft\.policyinsights\/attestations\/([^/]+)$/i;
const STATES = new Set(["Compliant", "NonCompliant", "Unknown"]);

export async function startPolicyInsightsEmulator(
  options: PolicyInsightsEmulatorOptions,
): Promise<PolicyInsightsEmulator> {
  const resources = new Set(options.resources.map((r) => r.toLowerCase()));
  const store = new Map<string, StoredAttestation>();
  const requests: RecordedPolicyRequest[] = [];
  const faults: PolicyFault[] = [];
  let writes = 0;

  const handle = (req: IncomingMessage, res: ServerResponse, bodyText: string) => {
    const url = new URL(req.url ?? "/", "https://localhost");
    const apiVersion = url.searchParams.get("api-version");
    const match = PATH.exec(decodeURIComponent(url.pathname));
    const record: RecordedPolicyRequest = {
      method: req.method ?? "",
      path: url.pathname,
      apiVersion,
      status: 200,
      resourceId: match ? `/${match[1]!}` : null,
      name: match?.[2] ?? null,
    };
    requests.push(record);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "x-ms-request-id": randomUUID(),
        ...headers,
      });
      res.end(body === undefined ? "" : JSON.stringify(body));
    };
    const error = (
      status: number,
      code: string,
      message: string,
      headers?: Record<string, string>,
    ) => send(status, { error: { code, message } }, headers);

    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (!token || (options.isValidToken && !options.isValidToken(token)))
      return error(401, "InvalidAuthenticationToken", "the access token is missing or invalid");
    if (!match) return error(404, "NotFound", `no route for ${req.method} ${url.pathname}`);
    if (url.pathname.startsWith("//"))
      return error(400, "InvalidResourceId", "the resource ID in the path starts with two slashes");
    if (apiVersion !== ATTESTATIONS_API_VERSION)
      return error(
        400,
        "InvalidApiVersionParameter",
        `The api-version '${apiVersion ?? ""}' is invalid. The supported versions are '${ATTESTATIONS_API_VERSION}'.`,
      );
    const resourceId = `/${match[1]!}`;
    const name = match[2]!;
    const key = `${resourceId.toLowerCase()}|${name.toLowerCase()}`;

    const fault = faults.findIndex((f) => !f.method || f.method === req.method);
    if (fault >= 0) {
      const [f] = faults.splice(fault, 1) as [PolicyFault];
      if ("concurrentWrite" in f) {
        store.set(key, toStored(resourceId, name, f.concurrentWrite, store.get(key)));
        return error(
          409,
          "Conflict",
          "Another operation on this attestation is in progress; retry after it completes.",
        );
      }
      const headers: Record<string, string> = {};
      if (f.status === 429 && "retryAfterSeconds" in f && f.retryAfterSeconds !== undefined)
        headers["retry-after"] = String(f.retryAfterSeconds);
      return error(
        f.status,
        "code" in f && f.code
          ? f.code
          : f.status === 429
            ? "TooManyRequests"
            : "InternalServerError",
        "injected fault",
        headers,
      );
    }
    if (!resources.has(resourceId.toLowerCase()))
      return error(404, "ResourceNotFound", `The resource '${resourceId}' was not found.`);

    switch (req.method) {
      case "GET": {
        const a = store.get(key);
        return a
          ? send(200, view(a))
          : error(404, "ResourceNotFound", `attestation ${name} not found`);
      }
      case "DELETE": {
        const had = store.delete(key);
        return send(had ? 200 : 204);
      }
      case "PUT": {
        let body: { properties?: Record<string, unknown> };
        try {
          body = JSON.parse(bodyText) as typeof body;
        } catch {
          return error(400, "InvalidRequestContent", "the body is not JSON");
        }
        const p = body.properties ?? {};
        if (typeof p.policyAssignmentId !== "string" || !p.policyAssignmentId)
          return error(400, "InvalidRequestContent", "properties.policyAssignmentId is required");
        if (
          p.complianceState !== undefined &&
          (typeof p.complianceState !== "string" || !STATES.has(p.complianceState))
        )
          return error(
            400,
            "InvalidRequestContent",
            `complianceState '${JSON.stringify(p.complianceState)}' is not valid`,
          );
        const before = store.get(key);
        const stored = toStored(resourceId, name, p, before);
        store.set(key, stored);
        writes += 1;
        return send(before ? 200 : 201, view(stored));
      }
      default:
        return error(405, "MethodNotAllowed", `${req.method ?? ""} is not supported`);
    }
  };

  const server = await startHttpsServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  return {
    url: server.url,
    certificate: server.certificate,
    requests,
    attestations: () => [...store.values()],
    attestationOf: (resourceId) =>
      [...store.values()].find((a) => a.resourceId.toLowerCase() === resourceId.toLowerCase()),
    injectFault: (f) => faults.push(f),
    writes: () => writes,
    handle,
    close: () => server.close(),
  };
}

function toStored(
  resourceId: string,
  name: string,
  properties: Record<string, unknown>,
  before: StoredAttestation | undefined,
): StoredAttestation {
  const now = new Date().toISOString();
  const changed = before?.properties.complianceState !== properties.complianceState;
  return {
    id: `${resourceId}/providers/Microsoft.PolicyInsights/attestations/${name}`,
    name,
    resourceId,
    properties: {
      ...properties,
      provisioningState: "Succeeded",
      lastComplianceStateChangeAt: changed
        ? now
        : (before?.properties.lastComplianceStateChangeAt ?? now),
    },
    writes: (before?.writes ?? 0) + 1,
  };
}

function view(a: StoredAttestation) {
  return {
    id: a.id,
    name: a.name,
    type: "Microsoft.PolicyInsights/attestations",
    properties: a.properties,
    systemData: { createdByType: "ManagedIdentity", lastModifiedByType: "ManagedIdentity" },
  };
}
