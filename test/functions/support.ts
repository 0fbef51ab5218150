// @azure/functions is a CommonJS bundle whose named exports Node cannot detect: use the default.
import functions, {
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
} from "@azure/functions";
import type { LiveScanOverrides } from "../../src/scan-setup.js";
import type { ArmRow } from "../../src/inventory/arm-row.js";
import {
  startResourceGraphEmulator,
  type ResourceGraphEmulator,
} from "../../kit/emulators/resource-graph.js";
import { testCertificate } from "../../kit/support/tls.js";
import {
  startIdentityEndpoint,
  type IdentityEndpoint,
} from "../../kit/support/identity-endpoint.js";

/** A log line an InvocationContext received, with the Functions log level. */
export interface ContextLine {
  level: string;
  text: string;
  /** The pino line parsed, when it was one. */
  json: Record<string, unknown> | null;
}

export function anInvocation(functionName: string): {
  context: InvocationContext;
  lines: ContextLine[];
} {
  const lines: ContextLine[] = [];
  const context = new functions.InvocationContext({
    invocationId: `test-${Math.random().toString(16).slice(2)}`,
    functionName,
    logHandler: (level, ...args) => {
      const text = args.map(String).join(" ");
      let json: Record<string, unknown> | null;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = null;
      }
      lines.push({ level, text, json });
    },
  });
  return { context, lines };
}

export function get(path: string): HttpRequest {
  return new functions.HttpRequest({ method: "GET", url: `https://func.example.test${path}` });
}

/** GET /api/scan/runs/{runId}: the host fills params from the route. */
export function getRun(runId: string, query = ""): HttpRequest {
  return new functions.HttpRequest({
    method: "GET",
    url: `https://func.example.test/api/scan/runs/${encodeURIComponent(runId)}${query}`,
    params: { runId },
  });
}

export function post(
  path: string,
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
): HttpRequest {
  return new functions.HttpRequest({
    method: "POST",
    url: `https://func.example.test${path}`,
    body: { string: body },
    headers,
  });
}

export function headerOf(response: HttpResponseInit, name: string): string | undefined {
  const headers = response.headers as Record<string, string> | undefined;
  return headers?.[name.toLowerCase()];
}

export function bodyText(response: HttpResponseInit): string {
  return typeof response.body === "string" ? response.body : "";
}

export function bodyJson<T = Record<string, unknown>>(response: HttpResponseInit): T {
  return JSON.parse(bodyText(response)) as T;
}

/**
 * The loopback Azure: a managed-identity endpoint (the real DefaultAzureCredential finds it through
 * IDENTITY_ENDPOINT/IDENTITY_HEADER, set in this process) and Resource Graph emulators over HTTPS
 * with a self-signed certificate the clients trust through their tlsOptions.
 */
export interface LoopbackAzure {
  identity: IdentityEndpoint;
  ca: string;
  resourceGraph(
    rows: ArmRow[],
    extra?: { latencyInMs?: number; managementGroups?: Record<string, string[]> },
  ): Promise<ResourceGraphEmulator>;
  overrides: LiveScanOverrides;
  close(): Promise<void>;
}

export async function startLoopbackAzure(): Promise<LoopbackAzure> {
  const identity = await startIdentityEndpoint();
  Object.assign(process.env, identity.env());
  const certificate = await testCertificate();
  const emulators: ResourceGraphEmulator[] = [];
  return {
    identity,
    ca: certificate.cert,
    async resourceGraph(rows, extra = {}) {
      const e = await startResourceGraphEmulator({
        rows,
        isValidToken: (t) => identity.isValidToken(t),
        ...extra,
      });
      emulators.push(e);
      return e;
    },
    overrides: {
      resourceGraph: {
        clientOptions: { tlsOptions: { ca: certificate.cert } },
        retry: { maxRetries: 1, baseDelayInMs: 50, maxDelayInMs: 100 },
      },
    },
    async close() {
      await Promise.all(emulators.map((e) => e.close()));
      await identity.close();
    },
  };
}
