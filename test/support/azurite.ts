import { spawn, type ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { ContainerClient, StorageSharedKeyCredential } from "@azure/storage-blob";

// Azurite's published development account (the same for every installation; not a secret).
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const BLOB_MAIN = fileURLToPath(
  new URL("../../../node_modules/azurite/dist/src/blob/main.js", import.meta.url),
);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Until Azurite listens: however long a loaded machine takes to start it, unless the process
 * exits first (then its exit is the error). The cap only keeps a wedged start from hanging CI.
 */
async function waitForPort(port: number, child: ChildProcess, attempts = 1200): Promise<void> {
  const state: { exited: string | null } = { exited: null };
  child.once("exit", (code, signal) => (state.exited = `exited with ${code ?? signal}`));
  for (let i = 0; i < attempts; i++) {
    if (state.exited) throw new Error(`Azurite ${state.exited} before it listened on ${port}`);
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

export interface Azurite {
  port: number;
  /** A client of `name` in the development account, with its shared key. */
  container(name: string): ContainerClient;
  close(): void;
}

/** Azurite's blob service on a free loopback port, in memory, no telemetry. */
export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      BLOB_MAIN,
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
  await waitForPort(port, child);
  return {
    port,
    container: (name) => containerOf(port, name),
    close: () => child.kill(),
  };
}

export function containerOf(port: number, name: string): ContainerClient {
  return new ContainerClient(
    `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}/${name}`,
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
  );
}
