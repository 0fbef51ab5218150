import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import {
  NetworkManagementClient,
  type NetworkManagementClientOptionalParams,
} from "@azure/arm-network";
import { describeError } from "../errors.js";
import type { CloudName } from "../model.js";
import { armEndpointOf } from "./arm-endpoint.js";
import { cloudEndpoints } from "./clouds.js";

/** How the real NetworkManagementClient is built for confirmation and remediation. */
export interface ArmNetworkOptions {
  cloud: CloudName;
  /** Overrides the cloud's Resource Manager endpoint (a private cloud, or a test emulator). */
  armEndpoint?: URL | string | null;
  /** Default: DefaultAzureCredential with the cloud's authority host. */
  credential?: TokenCredential;
  /** Passed to every client (tests give tlsOptions.ca here). */
  clientOptions?: NetworkManagementClientOptionalParams;
  /** Calls in flight at once (gateways, NICs, route tables); default 4. */
  concurrency?: number;
  /** Time one call may take, long-running polling included; default 120 s. */
  requestTimeoutInMs?: number;
  /** Delay between polls of a long-running operation; default: the service's Retry-After or 2 s. */
  pollIntervalInMs?: number;
}

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_REQUEST_TIMEOUT_IN_MS = 120_000;

/** One client per subscription (the generated client binds the subscription at construction). */
export type NetworkClients = (subscriptionId: string) => NetworkManagementClient;

export function createNetworkClients(options: ArmNetworkOptions): NetworkClients {
  const cloud = cloudEndpoints(options.cloud);
  const endpoint = armEndpointOf(options.cloud, options.armEndpoint);
  const credential =
    options.credential ?? new DefaultAzureCredential({ authorityHost: cloud.authorityHost });
  const clients = new Map<string, NetworkManagementClient>();
  return (subscriptionId) => {
    const key = subscriptionId.toLowerCase();
    let client = clients.get(key);
    if (!client) {
      client = new NetworkManagementClient(credential, subscriptionId, {
        endpoint,
        credentials: { scopes: [cloud.armScope] },
        // ARM throttles with 429 + Retry-After, which the SDK's policy honours; keep it short.
        retryOptions: { maxRetries: 3 },
        userAgentOptions: { userAgentPrefix: "kms-route-audit" },
        ...options.clientOptions,
      });
      clients.set(key, client);
    }
    return client;
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** HTTP status of an SDK error, when it has one. */
export function statusOf(error: unknown): number | null {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === "number" ? status : null;
}

/** One line for a failed ARM call: "HTTP 403 AuthorizationFailed: ..." or the timeout. */
export function describeArmError(error: unknown, timedOut: boolean, timeoutInMs: number): string {
  if (timedOut) return `no answer within ${timeoutInMs} ms`;
  const status = statusOf(error);
  const code = (error as { code?: unknown })?.code;
  const prefix =
    status !== null ? `HTTP ${status}${typeof code === "string" ? ` ${code}` : ""}: ` : "";
  return `${prefix}${describeError(error)}`;
}
