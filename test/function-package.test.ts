/**
 * npm run package: the deployable Function App holds the compiled app and its production
 * dependencies only, the zip holds exactly that folder, and the functions load from it with
 * nothing but its own node_modules. And `npm ci --omit=dev` of the project succeeds (prepare
 * needs no TypeScript). Installs come from the npm cache that `npm ci` filled (--prefer-offline).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import yauzl from "yauzl";
import {
  listFiles,
  packageFunctionApp,
  ROOT,
  type PackageReport,
} from "../scripts/package-functionapp.js";
import { HANG_GUARD_MS } from "../kit/support/hang-guard.js";

interface Manifest {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts?: Record<string, string>;
  main: string;
}

let tmp: string;
let report: PackageReport;
let manifest: Manifest;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "kms-package-"));
  manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as Manifest;
  report = await packageFunctionApp(tmp);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function npmCommand(): [string, string[]] {
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith(".js") ? [process.execPath, [cli]] : ["npm", []];
}

function zipEntries(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const names: string[] = [];
      zip.on("entry", (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on("end", () => resolve(names.sort()));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

const ALLOWED = [
  /^host\.json$/,
  /^package\.json$/,
  /^package-lock\.json$/,
  /^\.funcignore$/,
  /^dist\/functions\/[^/]+\.js$/,
  /^dist\/src\/.+\.js$/,
  /^node_modules\//,
];

describe("npm run package (the Function App package)", () => {
  it("holds the compiled app and production dependencies only", async () => {
    const files = await listFiles(report.folder);
    const stray = files.filter((f) => !ALLOWED.some((pattern) => pattern.test(f)));
    assert.deepEqual(stray, [], "nothing but the app, its manifest and node_modules");
    for (const f of ["dist/functions/http-scan.js", "dist/functions/timer-scan.js", "host.json"])
      assert.ok(files.includes(f), `${f} is in the package`);
    assert.ok(!files.some((f) => /\.(ts|map)$/.test(f)), "no sources, maps or declarations");

    const modules = new Set(
      files
        .filter((f) => f.startsWith("node_modules/") && f.endsWith("/package.json"))
        .map((f) => f.slice("node_modules/".length, -"/package.json".length)),
    );
    for (const name of Object.keys(manifest.dependencies))
      assert.ok(modules.has(name), `dependency ${name} is installed`);
    for (const name of Object.keys(manifest.devDependencies))
      assert.ok(!modules.has(name), `devDependency ${name} is not in the package`);

    const packaged = JSON.parse(
      await readFile(join(report.folder, "package.json"), "utf8"),
    ) as Manifest;
    assert.equal(packaged.main, manifest.main, "the host finds the functions by main");
    assert.equal(packaged.scripts, undefined, "the package runs; it has nothing to build");
  });

  it("the zip holds exactly the package folder, a fraction of a working copy", async () => {
    assert.deepEqual(await zipEntries(report.zip), await listFiles(report.folder));
    // A working copy's node_modules is ~750 MB; the package stays far below it.
    assert.ok(report.zipBytes < 40 * 1024 * 1024, `zip of ${report.zipBytes} bytes`);
    assert.ok(report.unpackedBytes < 120 * 1024 * 1024, `${report.unpackedBytes} bytes unpacked`);
  });

  it("the functions load from the package with nothing but its own node_modules", () => {
    const script = `for (const f of ["http-scan", "http-scan-runs", "timer-scan"]) {
      const m = await import("./dist/functions/" + f + ".js");
      process.stdout.write(Object.keys(m).sort().join(",") + "\\n");
    }`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: report.folder,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "" },
      timeout: HANG_GUARD_MS,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split("\n"), [
      "httpScan,httpScanOptions",
      "httpScanRun,httpScanRunOptions",
      "timerScan,timerScanOptions",
    ]);
  });

  it("npm ci --omit=dev of the project succeeds without TypeScript (prepare skips the build)", async () => {
    const project = join(tmp, "omit-dev");
    await mkdir(join(project, "scripts"), { recursive: true });
    for (const file of ["package.json", "package-lock.json", "scripts/prepare.mjs"])
      await copyFile(join(ROOT, file), join(project, file));
    const [command, prefix] = npmCommand();
    const run = spawnSync(
      command,
      [...prefix, "ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"],
      { cwd: project, encoding: "utf8", timeout: HANG_GUARD_MS },
    );
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /prepare: TypeScript is not installed \(production install\)/);
  });
});
