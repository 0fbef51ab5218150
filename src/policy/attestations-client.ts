import { setTimeout as delay } from "node:timers/promises";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import {
  PolicyInsightsClient,
  type Attestation,
  type PolicyInsightsClientOptionalParams,
} from "@azure/arm-policyinsights";
import { callSignal } from "../call-signal.js";
import type { CloudName } from "../model.js";
import { cloudEndpoints } from "../azure/clouds.js";
import { describeArmError, statusOf } from "../azure/network-client.js";
import { retryAfterInMs } from "../azure/retry-after.js";
import { armEndpointOf } from "../azure/arm-endpoint.js";
import type { AttestationBody, ExistingAttestation } from "./attestation-state.js";

/**
 * Attestations at resource scope through the real PolicyInsightsClient (api-version 2024-10-01:
 * GET/PUT/DELETE {resourceId}/providers/Microsoft.PolicyInsights/attestations/{name}), paced and
 * retried like the other ARM calls of this project: at most `writesPerSecond` writes a second and
 * `concurrency` calls in flight; 429 (after its Retry-After), 408, 5xx, timeouts and dropped
 * connections retried with bounded back-off; 409 (a concurrent write to the same attestation) is
 * answered by the caller, which reads again and decides anew.
 */

export interface AttestationsClientOptions {
  cloud: CloudName;
  armEndpoint?: URL | string | null;
  credential?: TokenCredential;
  /** Transport only (tests: tlsOptions with the emulator's certificate). */
  clientOptions?: Pick<PolicyInsightsClientOptionalParams, "tlsOptions" | "proxyOptions">;
  /** Retries of one call after the first attempt; default 4. */
  maxRetries?: number;
  /** First back-off without a Retry-After; doubles per retry; default 1 s, at most 30 s. */
  baseDelayInMs?: number;
  maxDelayInMs?: number;
  /** Time one call may take (the PUT's polling included); default 60 s. */
  requestTimeoutInMs?: number;
  /** Writes started per second; default 5 (ARM's per-principal write budget is far above it). */
  writesPerSecond?: number;
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface AttestationsClient {
  /** The attestation, or null when there is none (404). */
  get(resourceId: string, name: string, signal?: AbortSignal): Promise<ExistingAttestation | null>;
  /** Creates or replaces it. Throws AttestationConflict on 409. */
  put(resourceId: string, name: string, body: AttestationBody, signal?: AbortSignal): Promise<void>;
}

/** 409 from the service: another write to the same attestation is under way. */
export class AttestationConflict extends Error {
  override readonly name = "AttestationConflict";
}

const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const NETWORK_CODES = new Set([
  "ETIMEDOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "UND_ERR_SOCKET",
  "REQUEST_SEND_ERROR",
]);

/** The SDK puts the resource ID after a slash as it is: it must not start with one. */
function resourcePath(resourceId: string): string {
  return resourceId.trim().replace(/^\/+/, "");
}

export function createAttestationsClient(options: AttestationsClientOptions): AttestationsClient {
  const cloud = cloudEndpoints(options.cloud);
  const endpoint = armEndpointOf(options.cloud, options.armEndpoint);
  const credential =
    options.credential ?? new DefaultAzureCredential({ authorityHost: cloud.authorityHost });
  const client = new PolicyInsightsClient(credential, {
    ...(options.clientOptions?.tlsOptions ? { tlsOptions: options.clientOptions.tlsOptions } : {}),
    ...(options.clientOptions?.proxyOptions
      ? { proxyOptions: options.clientOptions.proxyOptions }
      : {}),
    endpoint,
    credentialScopes: [cloud.armScope],
    // Retries are this client's own (paced, bounded, injectable clock).
    retryOptions: { maxRetries: 0 },
    userAgentOptions: { userAgentPrefix: "kms-route-audit" },
  });
  client.pipeline.removePolicy({ name: "defaultRetryPolicy" });
  const maxRetries = options.maxRetries ?? 4;
  const baseDelayInMs = options.baseDelayInMs ?? 1_000;
  const maxDelayInMs = options.maxDelayInMs ?? 30_000;
  const timeoutInMs = options.requestTimeoutInMs ?? 60_000;
  const now = options.now ?? (() => new Date());
  const sleep =
    options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const spacingInMs = 1000 / (options.writesPerSecond ?? 5);
  let nextWriteAt = 0;

  /** Waits for the next write slot (slots are taken in call order). */
  const pace = async (signal?: AbortSignal) => {
    const at = Math.max(nextWriteAt, now().getTime());
    nextWriteAt = at + spacingInMs;
    const wait = at - now().getTime();
    if (wait > 0) await sleep(wait, signal);
  };

  const withRetry = async <T>(
    what: string,
    call: (s: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const { abortSignal, timeout } = callSignal(timeoutInMs, signal);
      try {
        return await call(abortSignal);
      } catch (error) {
        if (signal?.aborted) throw error;
        const status = statusOf(error);
        if (status === 409)
          throw new AttestationConflict(`${what}: ${describeArmError(error, false, timeoutInMs)}`);
        const code = (error as { code?: unknown })?.code;
        const retriable =
          timeout.aborted ||
          (status !== null && RETRIED_STATUSES.has(status)) ||
          (status === null && typeof code === "string" && NETWORK_CODES.has(code));
        if (!retriable || attempt >= maxRetries)
          throw new Error(`${what}: ${describeArmError(error, timeout.aborted, timeoutInMs)}`, {
            cause: error,
          });
        const headers = (
          error as { response?: { headers?: { get(n: string): string | undefined } } }
        ).response?.headers;
        const hinted = retryAfterInMs(headers ?? null, now().getTime());
        const backoff = Math.min(maxDelayInMs, baseDelayInMs * 2 ** attempt);
        await sleep(Math.min(hinted ?? backoff, 300_000), signal);
      }
    }
  };

  return {
    async get(resourceId, name, signal) {
      try {
        const a: Attestation = await withRetry(
          `GET attestation ${name} on ${resourceId}`,
          (abortSignal) =>
            client.attestations.getAtResource(resourcePath(resourceId), name, { abortSignal }),
          signal,
        );
        return {
          policyAssignmentId: a.policyAssignmentId,
          ...(a.policyDefinitionReferenceId
            ? { policyDefinitionReferenceId: a.policyDefinitionReferenceId }
            : {}),
          ...(a.complianceState ? { complianceState: a.complianceState } : {}),
          ...(a.comments !== undefined ? { comments: a.comments } : {}),
          ...(a.evidence ? { evidence: a.evidence } : {}),
          ...(a.expiresOn ? { expiresOn: a.expiresOn } : {}),
          ...(a.assessmentDate ? { assessmentDate: a.assessmentDate } : {}),
        };
      } catch (error) {
        if (statusOf((error as { cause?: unknown }).cause) === 404) return null;
        throw error;
      }
    },
    async put(resourceId, name, body, signal) {
      await pace(signal);
      await withRetry(
        `PUT attestation ${name} on ${resourceId}`,
        (abortSignal) =>
          client.attestations.beginCreateOrUpdateAtResourceAndWait(
            resourcePath(resourceId),
            name,
            body,
            { abortSignal, updateIntervalInMs: 0 },
          ),
        signal,
      );
    },
  };
}
