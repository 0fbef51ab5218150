import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { HANG_GUARD_MS } from "../../kit/support/hang-guard.js";

/** The real CLI binary, as `npx kms-route-audit` runs it. */
export const BIN = fileURLToPath(new URL("../../src/cli/bin.js", import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/**
 * Runs the CLI in a fresh Node process with ONLY the given variables (plus a PATH holding just
 * Node's own directory, and NO_PROXY for loopback): no KMS_AUDIT_*, AZURE_*, proxy or Azure CLI
 * login of the developer's shell can leak in, so DefaultAzureCredential can only use the
 * loopback managed identity the test names, and nothing but 127.0.0.1 is ever contacted.
 */
export function runCli(
  args: string[],
  env: Record<string, string>,
  options: {
    cwd: string;
    timeoutInMs?: number;
    stdin?: Buffer | string;
    /** When this settles, the CLI is killed with SIGKILL (a crash at that very point). */
    killWhen?: Promise<unknown>;
    /** Run as this user and group (a test running as root needs one for permission errors). */
    user?: { uid: number; gid: number };
  },
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: {
        PATH: dirname(process.execPath),
        HOME: options.cwd,
        NO_PROXY: "127.0.0.1,localhost",
        ...env,
      },
      stdio: ["pipe", "pipe", "pipe"],
      timeout: options.timeoutInMs ?? HANG_GUARD_MS,
      ...(options.user ?? {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.stdin.on("error", () => undefined); // the CLI may exit without reading stdin
    void options.killWhen?.finally(() => child.kill("SIGKILL"));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        elapsedMs: Date.now() - started,
      }),
    );
    child.stdin.end(options.stdin ?? "");
  });
}

export function describeRun(r: CliRun): string {
  return `exit ${r.code} (signal ${r.signal}) after ${r.elapsedMs} ms\n--- stderr ---\n${r.stderr.slice(0, 4000)}\n--- stdout ---\n${r.stdout.slice(0, 2000)}`;
}
