import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback App Service–style managed-identity endpoint, as @azure/identity (through MSAL's
 * AppService source) calls it: GET IDENTITY_ENDPOINT?api-version=2019-08-01&resource=<audience>
 * with header X-IDENTITY-HEADER = IDENTITY_HEADER; the answer is
 * { access_token, expires_on (epoch seconds, as a string), resource, token_type }.
 * Plain HTTP on 127.0.0.1, like the real endpoint on localhost.
 */
export interface IdentityEndpoint {
  /** Set as IDENTITY_ENDPOINT. */
  url: string;
  /** Set as IDENTITY_HEADER. */
  secret: string;
  /** Every token handed out, with the resource it was for. */
  readonly issued: Map<string, string>;
  /** Every token request: the resource asked for and the api-version. */
  readonly requests: { resource: string | null; apiVersion: string | null }[];
  env(): Record<string, string>;
  isValidToken(token: string): boolean;
  close(): Promise<void>;
}

export async function startIdentityEndpoint(): Promise<IdentityEndpoint> {
  const secret = randomBytes(16).toString("hex");
  const issued = new Map<string, string>();
  const requests: { resource: string | null; apiVersion: string | null }[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const resource = url.searchParams.get("resource");
    const apiVersion = url.searchParams.get("api-version");
    requests.push({ resource, apiVersion });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "GET" || url.pathname !== "/msi/token") {
      return send(404, { error: "not_found" });
    }
    if (req.headers["x-identity-header"] !== secret) {
      return send(401, { error: "invalid_request", error_description: "bad X-IDENTITY-HEADER" });
    }
    if (apiVersion !== "2019-08-01" || !resource) {
      return send(400, { error: "invalid_request", error_description: "api-version or resource" });
    }
    const token = `loopback-token-${randomBytes(12).toString("hex")}`;
    issued.set(token, resource);
    send(200, {
      access_token: token,
      expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource,
      token_type: "Bearer",
      client_id: "00000000-0000-0000-0000-000000000001",
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/msi/token`;
  return {
    url,
    secret,
    issued,
    requests,
    env: () => ({ IDENTITY_ENDPOINT: url, IDENTITY_HEADER: secret }),
    isValidToken: (token) => issued.has(token),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
