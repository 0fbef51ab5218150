import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { testCertificate, type TestCertificate } from "./tls.js";

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
