/**
 * npm start — runs the Function App locally: Azurite (the storage emulator, a devDependency) on
 * its default ports, then `func start` (Azure Functions Core Tools v4, installed separately; see
 * the README). local.settings.json is created from local.settings.json.example when missing.
 * Ctrl+C stops both. Without Core Tools it says how to install them and exits 1; nothing else
 * in the project (build, tests) needs them.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** UseDevelopmentStorage=true means these ports on 127.0.0.1. */
const AZURITE_PORTS = { blob: 10000, queue: 10001, table: 10002 } as const;

const CORE_TOOLS_MISSING =
  "Azure Functions Core Tools (func) not found on PATH: install v4, e.g. `npm install -g azure-functions-core-tools@4` or your platform's package (see the README, Running locally); tests and builds do not need it";

function say(line: string): void {
  process.stderr.write(`kms-route-audit: start: ${line}\n`);
}

function onPath(command: string): boolean {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const names = process.platform === "win32" ? [`${command}.cmd`, `${command}.exe`] : [command];
  return dirs.some((dir) => names.some((name) => existsSync(join(dir, name))));
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

async function waitForPorts(ports: number[], child: ChildProcess, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode}`);
    const open = await Promise.all(ports.map(listening));
    if (open.every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not listen on ${ports.join(", ")}`);
}

async function startAzurite(): Promise<ChildProcess | null> {
  const ports = Object.values(AZURITE_PORTS);
  const open = await Promise.all(ports.map(listening));
  if (open.every(Boolean)) {
    say(`storage emulator ports ${ports.join(", ")} already in use: using the Azurite there`);
    return null;
  }
  const location = join(ROOT, ".azurite");
  await mkdir(location, { recursive: true });
  const azurite = spawn(
    process.execPath,
    [
      join(ROOT, "node_modules", "azurite", "dist", "src", "azurite.js"),
      "--blobHost",
      "127.0.0.1",
      "--queueHost",
      "127.0.0.1",
      "--tableHost",
      "127.0.0.1",
      "--location",
      location,
      "--silent",
      // Azurite would otherwise send usage data.
      "--disableTelemetry",
    ],
    { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
  );
  await waitForPorts(ports, azurite);
  say(`Azurite listens on 127.0.0.1:${ports.join(", ")} (data in .azurite/)`);
  return azurite;
}

async function main(): Promise<number> {
  if (!onPath("func")) {
    say(CORE_TOOLS_MISSING);
    return 1;
  }
  const settings = join(ROOT, "local.settings.json");
  if (!existsSync(settings)) {
    await copyFile(join(ROOT, "local.settings.json.example"), settings);
    say("created local.settings.json from local.settings.json.example (never commit it)");
  }
  const version = spawnSync("func", ["--version"], { encoding: "utf8", shell: true });
  say(`Core Tools ${version.stdout.trim() || "(version unknown)"}`);
  const azurite = await startAzurite();
  const func = spawn("func", ["start", ...process.argv.slice(2)], {
    cwd: ROOT,
    stdio: "inherit",
    shell: process.platform === "win32",
  });
  const stop = () => {
    func.kill("SIGINT");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const code = await new Promise<number>((resolve) => {
    func.on("error", (error) => {
      say(`func failed to start: ${error.message}`);
      resolve(1);
    });
    func.on("exit", (exitCode) => resolve(exitCode ?? 1));
  });
  azurite?.kill();
  return code;
}

process.exitCode = await main();
