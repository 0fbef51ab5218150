import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";

export interface TestCertificate {
  /** PEM certificate; give it to the client as its trusted CA (tlsOptions.ca). */
  cert: string;
  key: string;
}

let cached: Promise<TestCertificate> | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost, made once per process. */
export function testCertificate(): Promise<TestCertificate> {
  cached ??= generate([{ name: "commonName", value: "127.0.0.1" }], {
    keySize: 2048,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
        ],
      },
    ],
  }).then((pems) => ({ cert: pems.cert, key: pems.private }));
  return cached;
}

export interface RunningHttpsServer {
  server: Server;
  /** e.g. https://127.0.0.1:43123 */
  url: string;
  certificate: TestCertificate;
  close(): Promise<void>;
}

/** Starts an HTTPS server on a free loopback port. */
export async function startHttpsServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<RunningHttpsServer> {
  const certificate = await testCertificate();
  const server = createServer({ cert: certificate.cert, key: certificate.key }, handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `https://127.0.0.1:${port}`,
    certificate,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
