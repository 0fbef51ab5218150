/**
 * The CLI as a tool: the tarball `npm pack` makes installs into an empty directory outside the
 * clone and `kms-route-audit scan --demo` runs there, with nothing from the clone but the tarball.
 *
 * Offline on purpose (no test reaches the internet). `npm install -g ./kms-route-audit-*.tgz`
 * resolves the dependency ranges against the registry's package metadata, which `npm ci` never
 * caches, so it cannot run offline. The test therefore installs the tarball as the dependency of
 * an empty project whose package-lock.json pins the production dependencies exactly as the
 * repository's lockfile does (same versions, resolved URLs and integrity): `npm ci --offline` then
 * takes every tarball from the npm cache that the repository's `npm ci` filled.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { ScanResult } from "../src/model.js";
import { HANG_GUARD_MS } from "../kit/support/hang-guard.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Lock {
  packages: Record<string, { dev?: boolean; [k: string]: unknown }>;
}
interface Manifest {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
}

let tmp: string;
let tarball: string;
let app: string;
let manifest: Manifest;

function npm(args: string[], cwd: string) {
  const cli = process.env.npm_execpath;
  const [command, prefix] = cli && cli.endsWith(".js") ? [process.execPath, [cli]] : ["npm", []];
  return spawnSync(command, [...prefix, ...args], {
    cwd,
    encoding: "utf8",
    timeout: HANG_GUARD_MS,
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` },
  });
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "kms-cli-package-"));
  manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as Manifest;
  // dist/ is already built (npm test builds first); prepare would only compile it again.
  const pack = npm(["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], ROOT);
  assert.equal(pack.status, 0, pack.stderr);
  const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed);
  tarball = packed.filename;

  app = join(tmp, "empty-project");
  await mkdir(app);
  const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as Lock;
  const production = Object.entries(lock.packages).filter(
    ([path, entry]) => path.startsWith("node_modules/") && entry.dev !== true,
  );
  const spec = `file:../${tarball}`;
  await writeFile(
    join(app, "package.json"),
    JSON.stringify({
      name: "empty-project",
      private: true,
      dependencies: { [manifest.name]: spec },
    }),
  );
  await writeFile(
    join(app, "package-lock.json"),
    JSON.stringify({
      name: "empty-project",
      lockfileVersion: 3,
      requires: true,
      packages: {
        "": { name: "empty-project", dependencies: { [manifest.name]: spec } },
        [`node_modules/${manifest.name}`]: {
          version: manifest.version,
          resolved: spec,
          license: "MIT",
          dependencies: manifest.dependencies,
          bin: manifest.bin,
          engines: manifest.engines,
        },
        ...Object.fromEntries(production),
      },
    }),
  );
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function run(args: string[]) {
  return spawnSync(join(app, "node_modules", ".bin", "kms-route-audit"), args, {
    cwd: tmp,
    encoding: "utf8",
    timeout: HANG_GUARD_MS,
    env: { PATH: dirname(process.execPath), HOME: tmp },
  });
}

describe("the packed CLI, installed outside the clone", () => {
  it("the tarball holds the compiled CLI and the demo estate, no sources or tests", () => {
    const listing = spawnSync("tar", ["tzf", join(tmp, tarball)], { encoding: "utf8" });
    assert.equal(listing.status, 0, listing.stderr);
    const files = listing.stdout.trim().split("\n");
    assert.ok(files.includes("package/dist/src/cli/bin.js"));
    assert.ok(files.includes("package/samples/demo-estate.json"));
    assert.deepEqual(
      files.filter((f) => /^package\/(src|test|bench|scripts|infra|dist\/test)\//.test(f)),
      [],
    );
    assert.ok(!files.some((f) => f.endsWith(".ts") || f.endsWith(".map")));
  });

  it("installs offline into an empty project and runs scan --demo there", () => {
    const install = npm(
      ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev"],
      app,
    );
    assert.equal(install.status, 0, `${install.stdout}\n${install.stderr}`);

    const version = run(["--version"]);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), manifest.version);

    const demo = run(["scan", "--demo", "--format", "json"]);
    assert.equal(demo.status, 0, demo.stderr);
    const result = JSON.parse(demo.stdout) as ScanResult;
    assert.equal(result.run.source.kind, "demo");
    assert.equal(result.run.counts.total, 34);

    const help = run(["export", "--help"]);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--output <file>/);
  });
});
