import { request } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { startHttpsServer, type RunningHttpsServer } from "../../kit/support/https-server.js";

/**
 * One loopback Resource Manager endpoint in front of several emulators, as Azure has one
 * (KMS_AUDIT_ARM_ENDPOINT): requests go to the first route whose test matches the path, either
 * handled in-process or forwarded over HTTPS to another emulator.
 */
export interface ArmRoute {
  matches: (path: string) => boolean;
  /** In-process handler (an emulator's handle). */
  handle?: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  /** Or forward to this emulator, trusting its certificate. */
  forward?: { url: string; ca: string };
}

export async function startArmRouter(routes: ArmRoute[]): Promise<RunningHttpsServer> {
  return startHttpsServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const path = new URL(req.url ?? "/", "https://localhost").pathname;
      const route = routes.find((r) => r.matches(path));
      if (!route) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ error: { code: "NotFound", message: `no emulator for ${path}` } }),
        );
        return;
      }
      if (route.handle) return route.handle(req, res, body.toString("utf8"));
      const target = new URL(req.url ?? "/", route.forward!.url);
      const headers = { ...req.headers, host: target.host };
      const upstream = request(
        target,
        { method: req.method, headers, ca: route.forward!.ca },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", (e) => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "BadGateway", message: e.message } }));
      });
      upstream.end(body);
    });
  });
}
