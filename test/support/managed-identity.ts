import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";

/**
 * A loopback App Service style managed-identity endpoint, as msal-node's AppService source
 * calls it: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=... with the secret in the
 * X-IDENTITY-HEADER header; answers {access_token, expires_on, token_type, resource}.
 */
export interface ManagedIdentityEndpoint {
  url: string;
  secret: string;
  /** Resources tokens were asked for, in order. */
  requests: { resource: string | null; apiVersion: string | null }[];
  /** Tokens handed out; a test can check the bearer header against them. */
  tokens: Set<string>;
  /** Environment for DefaultAzureCredential: IDENTITY_ENDPOINT and IDENTITY_HEADER. */
  env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  close(): Promise<void>;
}

export async function startManagedIdentityEndpoint(): Promise<ManagedIdentityEndpoint> {
  const secret = randomUUID();
  const requests: ManagedIdentityEndpoint["requests"] = [];
  const tokens = new Set<string>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.headers["x-identity-header"] !== secret) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "invalid_request", error_description: "bad header" }));
      return;
    }
    const resource = url.searchParams.get("resource");
    requests.push({ resource, apiVersion: url.searchParams.get("api-version") });
    const token = `test-token-${randomUUID()}`;
    tokens.add(token);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        access_token: token,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        token_type: "Bearer",
        resource,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/msi/token`;
  return {
    url,
    secret,
    requests,
    tokens,
    env: { IDENTITY_ENDPOINT: url, IDENTITY_HEADER: secret },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
