import type { IncomingMessage, ServerResponse } from "node:http";
import { gunzipSync } from "node:zlib";
import { TABLES } from "../../src/outputs/log-analytics/schema.js";
import { startHttpsServer, type RunningHttpsServer } from "../support/https-server.js";

/**
 * A loopback Logs Ingestion API (api-version 2023-01-01) over HTTPS:
 * POST /dataCollectionRules/{dcrId}/streams/{stream}?api-version=2023-01-01
 * with a JSON array body, gzip'd or not, and a bearer token. Answers 204 when it took every row
 * of the request, and otherwise takes none of them, as the service does.
 */
export interface LogsIngestionEmulatorOptions {
  dcrId: string;
  /**
   * Declared columns of each stream; a row with any other column is refused with 400. Default:
   * the default stream of each table in src/outputs/log-analytics/schema.ts, with its columns.
   */
  streams?: Record<string, readonly string[]>;
  /** Tokens the emulator accepts; default any non-empty bearer token. */
  isValidToken?: (token: string) => boolean;
  /** Largest body, compressed and uncompressed; default 1 MiB. Larger: 413. */
  maxBodyBytes?: number;
}

export interface InjectedFault {
  /** HTTP status, or "hang": never answer (the request is recorded with status 0). */
  status: number | "hang";
  /** Retry-After header in seconds. */
  retryAfterSeconds?: number;
  /** Only requests to this stream; default any. */
  stream?: string;
}

export interface IngestionRequest {
  stream: string;
  status: number;
  at: number;
  compressedBytes: number;
  uncompressedBytes: number;
  contentEncoding: string | undefined;
  rows: number;
}

export interface LogsIngestionEmulator {
  url: string;
  certificate: RunningHttpsServer["certificate"];
  requests: IngestionRequest[];
  /** Rows accepted, per stream, in arrival order. */
  accepted: Map<string, Record<string, unknown>[]>;
  /** Queues faults answered to the next matching requests, one each, in order. */
  inject(...faults: InjectedFault[]): void;
  /**
   * Answers every request to the stream with this status (or hangs) until cleared (null, which
   * also ends a hangStreamAfter).
   */
  failStream(stream: string, status: number | "hang" | null): void;
  /**
   * Takes `accepted` more requests to the stream, then leaves every later one unanswered;
   * resolves when the first of those arrives (so a test can kill its client mid-delivery).
   */
  hangStreamAfter(stream: string, accepted: number): Promise<void>;
  rowsOf(stream: string): Record<string, unknown>[];
  close(): Promise<void>;
}

const API_VERSION = "2023-01-01";

const DEFAULT_STREAMS: Record<string, readonly string[]> = Object.fromEntries(
  TABLES.map((t) => [t.stream, t.columns.map((c) => c.name)]),
);

export async function startLogsIngestionEmulator(
  options: LogsIngestionEmulatorOptions,
): Promise<LogsIngestionEmulator> {
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const streams = options.streams ?? DEFAULT_STREAMS;
  const requests: IngestionRequest[] = [];
  const accepted = new Map<string, Record<string, unknown>[]>();
  const faults: InjectedFault[] = [];
  const failing = new Map<string, number | "hang">();
  const hanging = new Set<ServerResponse>();
  const holds = new Map<string, { left: number; reached: () => void }>();
  const hang = (res: ServerResponse, stream: string, uncompressed: number) => {
    requests.push({
      stream,
      status: 0,
      at: Date.now(),
      compressedBytes: 0,
      uncompressedBytes: uncompressed,
      contentEncoding: undefined,
      rows: 0,
    });
    hanging.add(res);
    res.on("close", () => hanging.delete(res));
  };

  function answer(res: ServerResponse, status: number, headers: Record<string, string> = {}) {
    if (status === 204) {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify({ error: { code: `Http${status}`, message: `emulator: ${status}` } }));
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const match = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    const stream = match ? decodeURIComponent(match[2] ?? "") : "";
    const record = (status: number, uncompressed: number, rows: number) =>
      requests.push({
        stream,
        status,
        at: Date.now(),
        compressedBytes: raw.length,
        uncompressedBytes: uncompressed,
        contentEncoding: req.headers["content-encoding"],
        rows,
      });
    if (req.method !== "POST" || !match) return (record(404, 0, 0), answer(res, 404));
    if (url.searchParams.get("api-version") !== API_VERSION) {
      return (record(400, 0, 0), answer(res, 400));
    }
    const auth = req.headers.authorization ?? "";
    const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
    if (!token || (options.isValidToken && !options.isValidToken(token))) {
      return (record(401, 0, 0), answer(res, 401));
    }
    if (decodeURIComponent(match[1] ?? "") !== options.dcrId) {
      return (record(404, 0, 0), answer(res, 404));
    }
    const columns = streams[stream];
    if (!columns) return (record(404, 0, 0), answer(res, 404));
    if (raw.length > maxBody) return (record(413, raw.length, 0), answer(res, 413));
    let body: Buffer;
    try {
      body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
    } catch {
      return (record(400, 0, 0), answer(res, 400));
    }
    if (body.length > maxBody) return (record(413, body.length, 0), answer(res, 413));
    let rows: unknown;
    try {
      rows = JSON.parse(body.toString("utf8"));
    } catch {
      return (record(400, body.length, 0), answer(res, 400));
    }
    const allowed = new Set(columns);
    if (
      !Array.isArray(rows) ||
      !(rows as unknown[]).every(
        (r: unknown) =>
          typeof r === "object" && r !== null && Object.keys(r).every((k) => allowed.has(k)),
      )
    ) {
      return (record(400, body.length, 0), answer(res, 400));
    }
    const permanent = failing.get(stream);
    if (permanent === "hang") return hang(res, stream, body.length);
    if (permanent !== undefined) return (record(permanent, body.length, 0), answer(res, permanent));
    const hold = holds.get(stream);
    if (hold && hold.left <= 0) {
      hold.reached();
      return hang(res, stream, body.length);
    }
    const index = faults.findIndex((f) => f.stream === undefined || f.stream === stream);
    if (index >= 0) {
      const [fault] = faults.splice(index, 1);
      if (fault!.status === "hang") return hang(res, stream, body.length);
      const headers: Record<string, string> =
        fault?.retryAfterSeconds !== undefined
          ? { "retry-after": String(fault.retryAfterSeconds) }
          : {};
      return (record(fault!.status, body.length, 0), answer(res, fault!.status, headers));
    }
    if (hold) hold.left -= 1;
    const list = accepted.get(stream) ?? [];
    list.push(...(rows as Record<string, unknown>[]));
    accepted.set(stream, list);
    record(204, body.length, rows.length);
    answer(res, 204);
  }

  const server = await startHttpsServer((req, res) => {
    handle(req, res).catch(() => answer(res, 500));
  });
  return {
    url: server.url,
    certificate: server.certificate,
    requests,
    accepted,
    inject: (...f) => faults.push(...f),
    failStream: (stream, status) => {
      if (status !== null) return void failing.set(stream, status);
      failing.delete(stream);
      holds.delete(stream);
    },
    hangStreamAfter: (stream, count) =>
      new Promise<void>((resolve) => holds.set(stream, { left: count, reached: resolve })),
    rowsOf: (stream) => accepted.get(stream) ?? [],
    close: () => {
      for (const res of hanging) res.destroy();
      return server.close();
    },
  };
}
