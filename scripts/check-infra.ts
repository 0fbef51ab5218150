/**
 * npm run check:infra — compiles and lints every Bicep file (any warning fails), checks that the
 * compiled templates carry the table schema of src/outputs/log-analytics/schema.ts, parses
 * every deployed KQL query against that schema (a Resource Graph query, `*.arg.kql`, against
 * Resource Graph's policyresources and its operators instead, and only from a Resource Graph
 * workbook item), and checks what azd reads: azure.yaml against
 * azd's published schema, and infra/main.parameters.json against main.bicep (scripts/azd-check.ts).
 *
 * Bicep comes from PATH (`bicep`, or `az bicep`); otherwise it is restored once from NuGet with
 * `dotnet` into .tools/bicep (git-ignored). Nothing else is downloaded.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { arch, platform } from "node:os";
import { dirname, join, relative } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { fileURLToPath } from "node:url";
import { infraSchemaDocument, TABLES } from "../src/outputs/log-analytics/schema.js";
import { checkAzd } from "./azd-check.js";
import { renderSchemaFile, SCHEMA_FILE } from "./generate-schema.js";
import {
  analyzeKql,
  analyzeResourceGraphKql,
  isResourceGraphQuery,
  readKqlFiles,
  RESOURCE_GRAPH_TABLES,
} from "./kql-check.js";
import { readPanels } from "./render-workbook.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const INFRA = join(ROOT, "infra");
const TOOLS = join(ROOT, ".tools");
export const BICEP_VERSION = "0.49.2";

type Bicep = (args: string[]) => { status: number | null; stdout: string; stderr: string };

function run(command: string, args: string[], cwd = ROOT) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return {
    status: result.error ? null : result.status,
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? "",
  };
}

function nugetRid(): string {
  const os = platform() === "darwin" ? "osx" : platform() === "win32" ? "win" : "linux";
  return `${os}-${arch() === "arm64" ? "arm64" : "x64"}`;
}

async function restoreBicep(): Promise<string> {
  const rid = nugetRid();
  const packageId = `Azure.Bicep.CommandLine.${rid}`;
  const folder = join(TOOLS, "bicep");
  const exe = join(
    folder,
    "packages",
    packageId.toLowerCase(),
    BICEP_VERSION,
    "tools",
    rid.startsWith("win") ? "bicep.exe" : "bicep",
  );
  if (existsSync(exe)) return exe;
  const sdk = run("dotnet", ["--version"]);
  if (sdk.status !== 0) {
    throw new Error("no bicep or az on PATH and no dotnet to restore Bicep from NuGet");
  }
  const major = sdk.stdout.trim().split(".")[0];
  await mkdir(folder, { recursive: true });
  const project = join(folder, "restore-bicep.csproj");
  await writeFile(
    project,
    `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net${major}.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="${packageId}" Version="[${BICEP_VERSION}]" /></ItemGroup>
</Project>
`,
  );
  process.stderr.write(
    `restoring ${packageId} ${BICEP_VERSION} from NuGet into ${relative(ROOT, folder)}\n`,
  );
  const restore = run("dotnet", ["restore", project, "--packages", join(folder, "packages")]);
  if (restore.status !== 0 || !existsSync(exe)) {
    throw new Error(`dotnet restore of ${packageId} failed:\n${restore.stdout}${restore.stderr}`);
  }
  await chmod(exe, 0o755);
  return exe;
}

async function findBicep(): Promise<{ bicep: Bicep; description: string }> {
  if (run("bicep", ["--version"]).status === 0) {
    return { bicep: (args) => run("bicep", args), description: "bicep on PATH" };
  }
  if (run("az", ["bicep", "version"]).status === 0) {
    return { bicep: (args) => run("az", ["bicep", ...args]), description: "az bicep" };
  }
  const exe = await restoreBicep();
  return { bicep: (args) => run(exe, args), description: relative(ROOT, exe) };
}

async function bicepFiles(directory: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...(await bicepFiles(path)));
    else if (entry.name.endsWith(".bicep")) found.push(path);
  }
  return found.sort();
}

/** Every `$fxv#N` variable (what loadTextContent/loadJsonContent inlined) in a compiled template. */
function loadedContent(template: unknown, into: unknown[] = []): unknown[] {
  if (Array.isArray(template)) {
    for (const item of template) loadedContent(item, into);
  } else if (template && typeof template === "object") {
    for (const [key, value] of Object.entries(template as Record<string, unknown>)) {
      if (key === "variables" && value && typeof value === "object") {
        for (const [name, content] of Object.entries(value as Record<string, unknown>)) {
          if (name.startsWith("$fxv#")) into.push(content);
        }
      }
      loadedContent(value, into);
    }
  }
  return into;
}

async function main() {
  const started = Date.now();
  const problems: string[] = [];
  const { bicep, description } = await findBicep();
  process.stdout.write(`bicep: ${description}\n`);

  // 1. The generated schema file matches the code.
  if ((await readFile(SCHEMA_FILE, "utf8").catch(() => "")) !== renderSchemaFile()) {
    problems.push(`${relative(ROOT, SCHEMA_FILE)} is stale: run npm run generate:schema`);
  }

  // 2. Compile and lint every Bicep file; every diagnostic counts.
  const outDir = join(TOOLS, "arm");
  const compiled = new Map<string, unknown>();
  const diagnostics = new Set<string>();
  for (const file of await bicepFiles(INFRA)) {
    const out = join(outDir, relative(INFRA, file).replace(/\.bicep$/, ".json"));
    await mkdir(dirname(out), { recursive: true });
    // Entry points (infra/*.bicep) are built, which compiles their modules too; every file is
    // linted on its own so an unused module is checked as well.
    const entry = dirname(file) === INFRA;
    const build = entry
      ? bicep(["build", file, "--outfile", out])
      : { status: 0, stdout: "", stderr: "" };
    const lint = bicep(["lint", file]);
    for (const line of `${build.stdout}${build.stderr}${lint.stdout}${lint.stderr}`.split("\n")) {
      if (/: (Warning|Error|Info) /.test(line)) diagnostics.add(line.trim());
    }
    if (build.status !== 0) problems.push(`bicep build ${relative(ROOT, file)} failed`);
    else if (entry) compiled.set(relative(INFRA, file), JSON.parse(await readFile(out, "utf8")));
    if (lint.status !== 0) problems.push(`bicep lint ${relative(ROOT, file)} failed`);
  }
  problems.push(...diagnostics);
  process.stdout.write(`built ${compiled.size} templates, linted every Bicep file\n`);

  // 3. The deployed tables and stream declarations are the code's schema.
  const main = compiled.get("main.bicep");
  const schemaCopies = main ? loadedContent(main).filter((c) => typeof c === "object") : [];
  const expected = infraSchemaDocument();
  if (schemaCopies.length < 2 || !schemaCopies.every((c) => isDeepStrictEqual(c, expected))) {
    problems.push(
      "compiled main.json: the tables and DCR modules do not carry the schema of schema.ts",
    );
  }

  // 4. Every query file is deployed, and parses against the schema.
  const queries = await readKqlFiles(join(INFRA, "queries"));
  const deployedText = new Set(
    main ? loadedContent(main).filter((c) => typeof c === "string") : [],
  );
  for (const [name, text] of queries) {
    if (!deployedText.has(text))
      problems.push(`infra/queries/${name} is not loaded by any Bicep file`);
    const found = isResourceGraphQuery(name)
      ? analyzeResourceGraphKql(text)
      : analyzeKql(text, TABLES);
    for (const p of found) {
      problems.push(`infra/queries/${name}:${p.line}:${p.column}: ${p.severity}: ${p.message}`);
    }
  }
  // A workbook item runs its query where its data source says: the file's kind must match.
  for (const panel of (await readPanels()).panels) {
    if (isResourceGraphQuery(panel.file) !== (panel.source === "resourceGraph")) {
      problems.push(
        `infra/app/workbook.bicep: ${panel.name} (${panel.source}) loads ${panel.file}: Resource Graph items load *.arg.kql, Log Analytics items *.kql`,
      );
    }
  }
  for (const text of deployedText) {
    if (![...queries.values()].includes(text)) {
      problems.push("main.json loads a text file that is not in infra/queries");
    }
  }
  const argCount = [...queries.keys()].filter(isResourceGraphQuery).length;
  process.stdout.write(
    `parsed ${queries.size - argCount} KQL queries against ${TABLES.map((t) => t.name).join(", ")} and ${argCount} against Resource Graph's ${RESOURCE_GRAPH_TABLES.map((t) => t.name).join(", ")}\n`,
  );

  // 5. azd: azure.yaml against its schema, the service, the package folder, the parameters file.
  const azd = await checkAzd(ROOT, main as Parameters<typeof checkAzd>[1]);
  problems.push(...azd);
  process.stdout.write(
    `checked azure.yaml (azd schema) and infra/main.parameters.json${azd.length ? "" : ": valid"}\n`,
  );

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (problems.length > 0) {
    process.stderr.write(
      `${problems.map((p) => `✗ ${p}`).join("\n")}\ncheck:infra failed (${seconds} s)\n`,
    );
    process.exitCode = 1;
  } else {
    process.stdout.write(`check:infra passed (${seconds} s)\n`);
  }
}

await main();
