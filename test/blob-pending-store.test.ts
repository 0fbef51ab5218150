import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, connect } from "node:net";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { ContainerClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { pino } from "pino";
import {
  createBlobPendingStore,
  createLogAnalyticsSink,
  type PendingBatch,
} from "../src/outputs/log-analytics/index.js";
import { FINDINGS_TABLE } from "../src/outputs/log-analytics/schema.js";
import { startLogsIngestionEmulator } from "../kit/emulators/logs-ingestion.js";
import { aScanResult } from "./log-analytics/scan-result.js";
import { startIdentityEndpoint, type IdentityEndpoint } from "../kit/support/identity-endpoint.js";

// Azurite's published development account (the same for every installation; not a secret).
const ACCOUNT = "devstoreaccount1";
const KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const AZURITE = fileURLToPath(
  new URL("../../node_modules/azurite/dist/src/blob/main.js", import.meta.url),
);
const DCR = "dcr-0123456789abcdef0123456789abcdef";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not listen on ${port}`);
}

let azurite: ChildProcess;
let port: number;
let identity: IdentityEndpoint;

function container(name: string): ContainerClient {
  return new ContainerClient(
    `http://127.0.0.1:${port}/${ACCOUNT}/${name}`,
    new StorageSharedKeyCredential(ACCOUNT, KEY),
  );
}

function batch(id: string, rows: number): PendingBatch {
  return {
    id,
    stream: FINDINGS_TABLE.stream,
    rows: Array.from({ length: rows }, (_, i) => ({ RecordId: `${id}-${i}` })),
    firstFailedAt: "2026-11-28T10:00:00.000Z",
    attempts: 1,
    lastError: "HTTP 500",
  };
}

before(async () => {
  port = await freePort();
  // --disableTelemetry: Azurite would otherwise try to reach the Internet.
  azurite = spawn(
    process.execPath,
    [
      AZURITE,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--inMemoryPersistence",
      "--disableTelemetry",
      "--silent",
      "--skipApiVersionCheck",
      "--loose",
    ],
    { stdio: "ignore" },
  );
  await waitForPort(port, Date.now() + 60_000); // Azurite starts slowly on a loaded machine
  identity = await startIdentityEndpoint();
  Object.assign(process.env, identity.env());
});

after(async () => {
  azurite.kill();
  await identity.close();
});

describe("blob pending store (Azurite)", () => {
  it("lists nothing before the container exists", async () => {
    assert.deepEqual(await createBlobPendingStore(container("never-created")).list(), []);
  });

  it("keeps batches across store instances, oldest first, and removes them", async () => {
    const writer = createBlobPendingStore(container("pending-a"));
    await writer.put(batch("2026-11-28T10-00-02_b", 2));
    await writer.put(batch("2026-11-28T10-00-01_a", 3));
    const reader = createBlobPendingStore(container("pending-a"));
    const listed = await reader.list();
    assert.deepEqual(
      listed.map((b) => [b.id, b.rows.length]),
      [
        ["2026-11-28T10-00-01_a", 3],
        ["2026-11-28T10-00-02_b", 2],
      ],
    );
    assert.deepEqual(listed[0], batch("2026-11-28T10-00-01_a", 3));
    await reader.remove("2026-11-28T10-00-01_a");
    await reader.remove("2026-11-28T10-00-01_a"); // removing twice is not an error
    assert.deepEqual(
      (await writer.list()).map((b) => b.id),
      ["2026-11-28T10-00-02_b"],
    );
  });

  it("replaces a batch written again under the same ID", async () => {
    const store = createBlobPendingStore(container("pending-b"));
    await store.put(batch("x", 5));
    await store.put({ ...batch("x", 1), attempts: 2 });
    const [only, ...rest] = await store.list();
    assert.equal(rest.length, 0);
    assert.equal(only?.attempts, 2);
    assert.equal(only?.rows.length, 1);
  });

  it("refuses IDs that could escape the prefix", async () => {
    await assert.rejects(
      createBlobPendingStore(container("pending-c")).put(batch("../x", 1)),
      /invalid pending batch id/,
    );
  });

  it("foreign blobs (pending/batch.copy.json, pending/sub/x.json) are reported and skipped, never fatal", async () => {
    const c = container("pending-foreign");
    const store = createBlobPendingStore(c);
    await store.put(batch("2026-11-28T10-00-01_real", 2));
    for (const name of ["pending/batch.copy.json", "pending/sub/x.json", "pending/notes.txt"]) {
      const text = JSON.stringify(batch("copy", 1));
      await c.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
    }
    const foreign: string[] = [];
    const listed = await store.list(undefined, (name) => foreign.push(name));
    assert.deepEqual(
      listed.map((b) => b.id),
      ["2026-11-28T10-00-01_real"],
    );
    assert.deepEqual(foreign.sort(), [
      "pending/batch.copy.json",
      "pending/notes.txt",
      "pending/sub/x.json",
    ]);

    // The sink resends the real batch, reports the others, and delivers this run's rows.
    const emulator = await startLogsIngestionEmulator({
      dcrId: DCR,
      isValidToken: (token) => identity.isValidToken(token),
    });
    try {
      const report = await createLogAnalyticsSink({
        endpoint: emulator.url,
        dcrId: DCR,
        pendingStore: store,
        clientOptions: { tlsOptions: { ca: emulator.certificate.cert } },
      }).write(aScanResult(5, { id: "run-foreign" }), { logger: pino({ level: "silent" }) });
      assert.equal(report.failed, 0, JSON.stringify(report.errors));
      assert.deepEqual(report.errors.map((e) => [e.code, e.target]).sort(), [
        ["LOG_ANALYTICS_PENDING_FOREIGN", "pending/batch.copy.json"],
        ["LOG_ANALYTICS_PENDING_FOREIGN", "pending/notes.txt"],
        ["LOG_ANALYTICS_PENDING_FOREIGN", "pending/sub/x.json"],
      ]);
      assert.equal(emulator.rowsOf(FINDINGS_TABLE.stream).length, 2 + 5);
      assert.deepEqual(await store.list(), [], "the real batch left the store once delivered");
    } finally {
      await emulator.close();
    }
  });

  it("a Log Analytics outage leaves the rows in the container; the next run resends them once", async () => {
    const emulator = await startLogsIngestionEmulator({
      dcrId: DCR,
      isValidToken: (token) => identity.isValidToken(token),
    });
    try {
      const sink = () =>
        createLogAnalyticsSink({
          endpoint: emulator.url,
          dcrId: DCR,
          pendingStore: createBlobPendingStore(container("pending-la")),
          roundDelayInMs: 5,
          uploadRounds: 1,
          clientOptions: {
            tlsOptions: { ca: emulator.certificate.cert },
            retryOptions: { maxRetries: 0 },
          },
        });
      const logger = pino({ level: "silent" });
      emulator.failStream(FINDINGS_TABLE.stream, 500);
      const first = await sink().write(aScanResult(250, { id: "run-1" }), { logger });
      assert.equal(first.failed, 250);
      const kept = await createBlobPendingStore(container("pending-la")).list();
      assert.equal(
        kept.reduce((n, b) => n + b.rows.length, 0),
        250,
      );

      emulator.failStream(FINDINGS_TABLE.stream, null);
      const second = await sink().write(aScanResult(10, { id: "run-2" }), { logger });
      assert.equal(second.failed, 0);
      const rows = emulator.rowsOf(FINDINGS_TABLE.stream);
      assert.equal(rows.filter((r) => r.RunId === "run-1").length, 250);
      assert.equal(new Set(rows.map((r) => r.RecordId)).size, rows.length, "no record twice");
      assert.deepEqual(await createBlobPendingStore(container("pending-la")).list(), []);
    } finally {
      await emulator.close();
    }
  });
});
