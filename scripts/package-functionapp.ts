/**
 * npm run package — the deployable Function App, built from the compiled dist/:
 *
 * 1. copies the project minus `.funcignore` (sources, tests, tools, infra, docs, node_modules)
 *    into artifacts/functionapp: host.json, package.json, package-lock.json, dist/src, dist/functions;
 * 2. installs the production dependencies there from package-lock.json (`npm ci --omit=dev
 *    --ignore-scripts --prefer-offline`: the npm cache that `npm ci` filled serves it), then drops
 *    their source maps, TypeScript sources and declarations, which Node never loads (about 60% of the bytes);
 * 3. zips that folder into artifacts/kms-route-audit-functionapp.zip (yazl; entries sorted, fixed
 *    timestamps, so the same inputs give the same zip).
 *
 * `azd deploy` deploys the folder (azure.yaml: dist, remoteBuild false); the manual path deploys
 * the zip with `az functionapp deployment source config-zip`. Options: --out DIR (default
 * artifacts), for tests.
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import ignore from "ignore";
import yazl from "yazl";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PACKAGE_FOLDER = "functionapp";
export const ZIP_NAME = "kms-route-audit-functionapp.zip";
/** Every zip entry gets this time: the zip depends on the files only. */
const ENTRY_TIME = new Date("2026-01-01T00:00:00Z");

/**
 * The deployed folder's own .funcignore. azd applies the default exclusions (node_modules among
 * them) to a folder without one, so it must exist; it keeps everything the package holds.
 */
const PACKAGE_FUNCIGNORE = `# kms-route-audit Function App package, made by npm run package: deploy it as it is.
local.settings.json
`;

/**
 * Files of dependencies that Node never loads: source maps, and the TypeScript sources and
 * declarations some packages ship beside their JavaScript.
 */
const NOT_LOADED = /\.(?:map|[cm]?ts)$/;

function posix(path: string): string {
  return path.split(sep).join("/");
}

/** Files of `directory` (relative, POSIX separators), sorted, leaving out what `skip` says. */
export async function listFiles(
  directory: string,
  skip: (relativePath: string, isDirectory: boolean) => boolean = () => false,
): Promise<string[]> {
  const found: string[] = [];
  async function walk(folder: string) {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const rel = posix(relative(directory, path));
      if (entry.isDirectory()) {
        if (!skip(rel, true)) await walk(path);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !skip(rel, false)) {
        found.push(rel);
      }
    }
  }
  await walk(directory);
  return found.sort();
}

export function npm(args: string[], cwd: string): void {
  // Under `npm run`, npm_execpath is the npm CLI of the Node that runs this script.
  const cli = process.env.npm_execpath;
  const [command, argv] =
    cli && cli.endsWith(".js") ? [process.execPath, [cli, ...args]] : ["npm", args];
  const result = spawnSync(command, argv, { cwd, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(" ")} failed in ${cwd} (exit ${String(result.status)})`);
  }
}

async function zipFolder(folder: string, files: string[], zipPath: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const file of files) {
    const info = await stat(join(folder, file));
    zip.addFile(join(folder, file), file, { mtime: ENTRY_TIME, mode: info.mode });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(zipPath));
}

export interface PackageReport {
  folder: string;
  zip: string;
  files: number;
  unpackedBytes: number;
  zipBytes: number;
}

export async function packageFunctionApp(outDir: string): Promise<PackageReport> {
  if (!existsSync(join(ROOT, "dist", "functions"))) {
    throw new Error("dist/functions is missing: run npm run build first");
  }
  const rules = ignore().add(await readFile(join(ROOT, ".funcignore"), "utf8"));
  const folder = join(outDir, PACKAGE_FOLDER);
  const zipPath = join(outDir, ZIP_NAME);
  await rm(folder, { recursive: true, force: true });
  await rm(zipPath, { force: true });

  // 1. The project minus .funcignore (an output folder inside the project is skipped too).
  const outInside = posix(relative(ROOT, resolve(outDir)));
  const project = await listFiles(
    ROOT,
    (rel, isDirectory) =>
      (outInside !== "" && !outInside.startsWith("..") && rel === outInside) ||
      rules.ignores(isDirectory ? `${rel}/` : rel),
  );
  for (const file of project) {
    await mkdir(dirname(join(folder, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(folder, file));
  }
  await writeFile(join(folder, ".funcignore"), PACKAGE_FUNCIGNORE);

  // 2. Production dependencies only, exactly as package-lock.json pins them.
  npm(
    ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
    folder,
  );
  // The package runs; it does not build: without scripts, npm in it never looks for the tools.
  const manifest = JSON.parse(await readFile(join(folder, "package.json"), "utf8")) as {
    scripts?: unknown;
  };
  delete manifest.scripts;
  await writeFile(join(folder, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const modules = join(folder, "node_modules");
  for (const file of await listFiles(modules)) {
    if (NOT_LOADED.test(file)) await rm(join(modules, file));
  }

  // 3. The zip.
  const files = await listFiles(folder);
  await zipFolder(folder, files, zipPath);
  let unpackedBytes = 0;
  for (const file of files) unpackedBytes += (await stat(join(folder, file))).size;
  return {
    folder,
    zip: zipPath,
    files: files.length,
    unpackedBytes,
    zipBytes: (await stat(zipPath)).size,
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function main() {
  const args = process.argv.slice(2);
  const at = args.indexOf("--out");
  const outDir = resolve((at >= 0 ? args[at + 1] : undefined) ?? join(ROOT, "artifacts"));
  const report = await packageFunctionApp(outDir);
  process.stdout.write(
    `packaged ${report.files} files (${megabytes(report.unpackedBytes)}) in ${relative(process.cwd(), report.folder) || "."}\n` +
      `zip: ${relative(process.cwd(), report.zip)} (${megabytes(report.zipBytes)})\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    process.stderr.write(
      `kms-route-audit: package: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
