import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ResourceGraphSourceOptions } from "../../src/sources/resource-graph/index.js";
import type { DriverResult } from "./run-resource-graph-source.js";
import { HANG_GUARD_MS } from "./hang-guard.js";

const DRIVER = fileURLToPath(new URL("./run-resource-graph-source.js", import.meta.url));

export interface ChildRun extends DriverResult {
  /** Parsed pino lines the child wrote to stderr. */
  logs: Record<string, unknown>[];
  /** stderr text that was not JSON (warnings, crashes). */
  stderrText: string;
  exitCode: number | null;
}

/**
 * Runs the live source in a fresh Node process (the Node running the tests: 22), so that
 * NODE_EXTRA_CA_CERTS is in place at process start, as Node requires. Only the variables given
 * here reach the child: no AZURE_* from the developer's shell, no proxies.
 */
export function runSourceInChild(
  options: ResourceGraphSourceOptions,
  env: Record<string, string>,
  timeoutInMs = HANG_GUARD_MS,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DRIVER], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        NO_PROXY: "127.0.0.1,localhost",
        ...env,
        KMS_TEST_SOURCE_OPTIONS: JSON.stringify(options),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutInMs);
    child.on("error", reject);
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      const logs: Record<string, unknown>[] = [];
      const other: string[] = [];
      for (const line of stderr.split("\n")) {
        if (!line.trim()) continue;
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          other.push(line);
        }
      }
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        const result = JSON.parse(last) as DriverResult;
        resolve({ ...result, logs, stderrText: other.join("\n"), exitCode });
      } catch {
        reject(new Error(`driver printed no result (exit ${exitCode}); stderr:\n${stderr}`));
      }
    });
  });
}
