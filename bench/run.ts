/**
 * npm run bench [-- --sizes 10000,100000,1000000] [--repeats 3] [--no-live] [--no-offline]
 *   [--no-nic-heavy] [--nic-heavy-sizes 10000,50000,100000] [--nic-heavy-reads rows,aggregate]
 *   [--nic-heavy-heap-mb MB] [--dir DIR] [--baseline DIR]
 *
 * --baseline DIR: another build of the project (DIR/dist/src/cli/bin.js, e.g. a worktree of an
 * older commit, built); its offline scans and engine run on the same files, interleaved with this
 * build's. --nic-heavy-reads: which impact reads the NIC-heavy scans use; --nic-heavy-heap-mb: the
 * scan child's --max-old-space-size (a Function instance's memory; a child out of heap is reported).
 *
 * Every figure is a ratio measured within this run, scan and floor interleaved, because the
 * machine is shared and absolute times are noisy. See BENCHMARKS.md.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, statfs } from "node:fs/promises";
import { freemem, tmpdir } from "node:os";
import { getHeapStatistics } from "node:v8";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeEstate } from "./gen-estate.js";
import { benchLogAnalytics, benchResourceGraph } from "./live.js";
import { benchNicHeavy, type ImpactRead, type NicHeavyFigures } from "./live-impact.js";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const CLI = here("../src/cli/bin.js");
const FLOOR = here("./floor.js");
const ENGINE = here("./engine.js");
const TIME = "/usr/bin/time";

function print(text: string, ...rest: (string | number)[]): void {
  process.stdout.write(`${text.replace("%d", String(rest[0] ?? ""))}\n`);
}

interface ChildFigures {
  wallMs: number;
  maxRssBytes: number;
  /** User + system CPU time (/usr/bin/time), steadier than wall time on a busy machine; 0 without. */
  cpuMs: number;
  stdout: string;
}

/**
 * Runs node with args; wall time measured here, peak RSS and CPU time by /usr/bin/time (or the
 * child, for RSS).
 */
async function runChild(args: string[]): Promise<ChildFigures> {
  const rssFile = join(tmpdir(), `kms-bench-rss-${process.pid}`);
  const useTime = existsSync(TIME);
  const command = useTime ? TIME : process.execPath;
  const argv = useTime ? ["-f", "%M %U %S", "-o", rssFile, process.execPath, ...args] : args;
  const started = performance.now();
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}: ${stderr.slice(0, 2000)}`);
  let maxRssBytes = 0;
  let cpuMs = 0;
  if (useTime) {
    const [rssKb, user, system] = (await readFile(rssFile, "utf8")).trim().split(/\s+/).map(Number);
    maxRssBytes = (rssKb ?? 0) * 1024;
    cpuMs = ((user ?? 0) + (system ?? 0)) * 1000;
    await rm(rssFile, { force: true });
  }
  return { wallMs, maxRssBytes, cpuMs, stdout };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const min = (xs: number[]) => Math.min(...xs);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const x = (r: number) => `${r.toFixed(2)}x`;

interface OfflineFigures {
  subnets: number;
  format: "json" | "ndjson";
  bytes: number;
  floor: ChildFigures[];
  /** The floor that also keeps one Map entry per row (floor.js … index). */
  indexFloor: ChildFigures[];
  scanJson: ChildFigures[];
  scanTable: ChildFigures[];
  /** The --baseline build's scans of the same file, interleaved with this build's. */
  baselineJson: ChildFigures[];
  baselineTable: ChildFigures[];
}

async function ensureEstate(dir: string, subnets: number, format: "json" | "ndjson") {
  const file = join(dir, `estate-${subnets}-seed1.${format}`);
  if (!existsSync(file)) {
    const t = performance.now();
    const { rows } = await writeEstate({ subnets, seed: 1, format, output: file });
    print(`  generated ${file}: ${rows} rows in ${s(performance.now() - t)}`);
  }
  return file;
}

async function benchOffline(
  dir: string,
  subnets: number,
  format: "json" | "ndjson",
  repeats: number,
  baselineCli?: string,
): Promise<OfflineFigures> {
  const file = await ensureEstate(dir, subnets, format);
  const figures: OfflineFigures = {
    subnets,
    format,
    bytes: (await stat(file)).size,
    floor: [],
    indexFloor: [],
    scanJson: [],
    scanTable: [],
    baselineJson: [],
    baselineTable: [],
  };
  const scan = (f: string, cli = CLI) => [
    cli,
    "scan",
    "--input",
    file,
    "--format",
    f,
    "--output",
    "/dev/null",
  ];
  // Interleaved: floor, scan json, scan table (each beside the baseline's, which goes first every
  // other round), again; noise hits all of them alike.
  const scanBoth = async (
    round: number,
    f: string,
    into: ChildFigures[],
    baseline: ChildFigures[],
  ) => {
    const runBaseline = async () => {
      if (baselineCli) baseline.push(await runChild(scan(f, baselineCli)));
    };
    if (round % 2) await runBaseline();
    into.push(await runChild(scan(f)));
    if (round % 2 === 0) await runBaseline();
  };
  for (let i = 0; i < repeats; i++) {
    const floor = await runChild([FLOOR, file, format]);
    const reported = JSON.parse(floor.stdout) as { maxRssBytes: number };
    figures.floor.push({ ...floor, maxRssBytes: floor.maxRssBytes || reported.maxRssBytes });
    figures.indexFloor.push(await runChild([FLOOR, file, format, "index"]));
    await scanBoth(i, "json", figures.scanJson, figures.baselineJson);
    await scanBoth(i, "table", figures.scanTable, figures.baselineTable);
  }
  const f = figures;
  const fl = min(f.floor.map((r) => r.wallMs));
  const fi = min(f.indexFloor.map((r) => r.wallMs));
  const sj = min(f.scanJson.map((r) => r.wallMs));
  const st = min(f.scanTable.map((r) => r.wallMs));
  print(
    `  ${subnets} subnets, ${format}, ${mb(f.bytes)}: floor ${s(fl)} (${mb(max(f.floor))}), ` +
      `floor + one index entry per row ${s(fi)} = ${x(fi / fl)}; ` +
      `scan json ${s(sj)} = ${x(sj / fl)} (median ${x(median(f.scanJson.map((r) => r.wallMs)) / median(f.floor.map((r) => r.wallMs)))}), ${mb(max(f.scanJson))}; ` +
      `scan table ${s(st)} = ${x(st / fl)}, ${mb(max(f.scanTable))}`,
  );
  if (baselineCli)
    for (const [name, now, old] of [
      ["json", f.scanJson, f.baselineJson],
      ["table", f.scanTable, f.baselineTable],
    ] as const)
      print(`    scan ${name} ${compareToBaseline(now, old)}`);
  return figures;
}

/** Old vs new: best and median wall and CPU time, peak RSS, each with the ratio new/old. */
function compareToBaseline(now: ChildFigures[], old: ChildFigures[]): string {
  const both = (key: "wallMs" | "cpuMs") => {
    const [o, n] = [old.map((r) => r[key]), now.map((r) => r[key])];
    return (
      `${s(min(o))} / ${s(min(n))} = ${x(min(n) / min(o))} ` +
      `(median ${s(median(o))} / ${s(median(n))} = ${x(median(n) / median(o))})`
    );
  };
  return (
    `baseline / this build: wall ${both("wallMs")}, CPU ${both("cpuMs")}, ` +
    `peak RSS ${mb(max(old))} / ${mb(max(now))} = ${x(max(now) / max(old))}`
  );
}

interface EngineRun {
  buildMs: number;
  auditMs: number;
  subnets: number;
}

const max = (runs: ChildFigures[]) => Math.max(...runs.map((r) => r.maxRssBytes));

async function main() {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "10000,100000,1000000" },
      repeats: { type: "string", default: "3" },
      "no-live": { type: "boolean", default: false },
      "no-offline": { type: "boolean", default: false },
      "no-nic-heavy": { type: "boolean", default: false },
      "nic-heavy-sizes": { type: "string", default: "10000,50000,100000" },
      "nic-heavy-reads": { type: "string", default: "rows,aggregate" },
      "nic-heavy-heap-mb": { type: "string" },
      dir: { type: "string", default: join(tmpdir(), "kms-route-audit-bench") },
      baseline: { type: "string" },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error("--sizes: comma-separated positive integers");
  const repeats = Number(values.repeats);
  const dir = values.dir;
  await mkdir(dir, { recursive: true });
  const baselineCli = values.baseline && join(values.baseline, "dist/src/cli/bin.js");
  if (baselineCli && !existsSync(baselineCli))
    throw new Error(`--baseline: ${baselineCli} not found (build that checkout first)`);
  print(`kms-route-audit bench: node ${process.version}, sizes ${sizes.join(", ")}`);
  if (baselineCli) print(`baseline: ${baselineCli}`);

  const offline: OfflineFigures[] = [];
  if (!values["no-offline"]) {
    print("\noffline scan vs JSON.parse floor (best of %d, interleaved)", repeats);
    for (const n of [...sizes].sort((a, b) => a - b)) {
      // Measured: ~3.9 KB of peak RSS per subnet at 1M (--format json; findings in the same
      // situation share verdicts and fix scripts), ~1.9 KB of NDJSON per subnet on disk. The CLI
      // runs with V8's default heap limit; a size that cannot fit is skipped with the reason
      // rather than crash the run.
      const needBytes = n * 3.9 * 1024;
      const diskBytes = n * 2.2 * 1024;
      const heapLimit = getHeapStatistics().heap_size_limit;
      const fs = await statfs(dir);
      const why =
        needBytes > heapLimit
          ? `needs ~${mb(needBytes)} of heap, more than V8's default limit here (${mb(heapLimit)})`
          : freemem() < needBytes
            ? `needs ~${mb(needBytes)} free memory, ${mb(freemem())} free`
            : fs.bavail * fs.bsize < diskBytes
              ? `needs ~${mb(diskBytes)} disk in ${dir}`
              : null;
      if (why) {
        print(`  ${n} subnets: SKIPPED: ${why}`);
        continue;
      }
      offline.push(await benchOffline(dir, n, "ndjson", n >= 1_000_000 ? 1 : repeats, baselineCli));
      // One JSON array of 1M subnets is longer than the longest JavaScript string.
      if (n <= 100_000) offline.push(await benchOffline(dir, n, "json", repeats, baselineCli));
    }
    const nd = offline.filter((o) => o.format === "ndjson");
    for (let i = 1; i < nd.length; i++) {
      const a = nd[i - 1]!;
      const b = nd[i]!;
      const per = (o: OfflineFigures, runs: ChildFigures[]) =>
        min(runs.map((r) => r.wallMs)) / o.subnets;
      print(
        `  growth ${a.subnets} -> ${b.subnets}: time/subnet ratio scan json ${x(per(b, b.scanJson) / per(a, a.scanJson))}, floor ${x(per(b, b.floor) / per(a, a.floor))}; peak RSS/subnet ratio ${x(max(b.scanJson) / b.subnets / (max(a.scanJson) / a.subnets))}`,
      );
    }

    print("\nengine only (buildInventory + auditInventory on parsed rows)");
    const baselineEngine = values.baseline && join(values.baseline, "dist/bench/engine.js");
    for (const n of sizes.filter((n) => n <= 100_000)) {
      const file = await ensureEstate(dir, n, "ndjson");
      // With a baseline: `repeats` rounds of both engines, the baseline first every other round.
      const now: EngineRun[] = [];
      const old: EngineRun[] = [];
      let rows = 0;
      for (let round = 0; round < (baselineEngine ? repeats : 1); round++)
        for (const engine of round % 2 ? [baselineEngine, ENGINE] : [ENGINE, baselineEngine]) {
          if (!engine) continue;
          const out = await runChild(["--max-old-space-size=8192", engine, file, String(repeats)]);
          const r = JSON.parse(out.stdout) as { rows: number; runs: EngineRun[] };
          rows = r.rows;
          (engine === ENGINE ? now : old).push(...r.runs);
        }
      const best = min(now.map((x) => x.buildMs + x.auditMs));
      print(
        `  ${n} subnets (${rows} rows): ${Math.round(n / (best / 1000))} subnets/s ` +
          `(build ${s(min(now.map((x) => x.buildMs)))}, audit ${s(min(now.map((x) => x.auditMs)))}, best of ${now.length})`,
      );
      if (baselineEngine) {
        const ratio = (key: "buildMs" | "auditMs") =>
          `${s(min(old.map((r) => r[key])))} / ${s(min(now.map((r) => r[key])))} = ${x(min(now.map((r) => r[key])) / min(old.map((r) => r[key])))}`;
        print(`    baseline / this build: build ${ratio("buildMs")}, audit ${ratio("auditMs")}`);
      }
    }
  }

  if (!values["no-live"]) {
    // The quota (5 queries per 5 s) and a short window that weighs the fixed costs (process
    // start, token) more.
    for (const windowInMs of [5000, 1000]) {
      print(
        `\nlive: Resource Graph emulator, quota 5 queries / ${windowInMs / 1000} s (the service: 15 / 5 s), 50 ms per page`,
      );
      const g = await benchResourceGraph({
        subnets: 10_000,
        quota: { limit: 5, windowInMs },
        latencyInMs: 50,
      });
      print(
        `  ${g.subnets} subnets, ${g.rows.subscriptions} subscription + ${g.rows.resources} resource rows: ` +
          `${g.pages} requests vs minimum ${g.minimumPages} pages, ${g.throttled} x 429, ` +
          `${s(g.elapsedMs)} vs quota bound ${s(g.boundMs)} = ${x(g.elapsedMs / g.boundMs)}; ${g.rowsRead} rows read, ${g.errors} errors`,
      );
    }
    if (!values["no-nic-heavy"]) {
      const quota = { limit: 15, windowInMs: 5_000 };
      const latencyInMs = 50;
      const reads = values["nic-heavy-reads"].split(",") as ImpactRead[];
      if (reads.some((r) => r !== "rows" && r !== "aggregate"))
        throw new Error("--nic-heavy-reads: rows, aggregate or both, comma-separated");
      const heap = values["nic-heavy-heap-mb"];
      const maxOldSpaceMb = heap === undefined ? undefined : Number(heap);
      if (maxOldSpaceMb !== undefined && !(Number.isInteger(maxOldSpaceMb) && maxOldSpaceMb > 0))
        throw new Error("--nic-heavy-heap-mb: a positive integer (MB)");
      print(
        `\nlive: NIC-heavy tenant (10 NICs and 6 VMs on 60% of subnets), Resource Graph emulator at 15 queries / 5 s, ${latencyInMs} ms per page; a whole scan per read, in its own process` +
          (maxOldSpaceMb ? ` with --max-old-space-size=${maxOldSpaceMb}` : ""),
      );
      const peaks: { subnets: number; read: ImpactRead; maxRssBytes: number }[] = [];
      for (const n of values["nic-heavy-sizes"].split(",").map(Number)) {
        let f: NicHeavyFigures;
        try {
          f = await benchNicHeavy({ subnets: n, quota, latencyInMs, reads, maxOldSpaceMb });
        } catch (error) {
          // A scan child that runs out of heap is a figure too.
          const text = error instanceof Error ? error.message : String(error);
          print(
            `  ${n} subnets: FAILED: ${/FATAL ERROR[^\n]*/.exec(text)?.[0] ?? text.slice(0, 300)}`,
          );
          continue;
        }
        const rows = f.reads.find((r) => r.impact === "rows");
        const aggregate = f.reads.find((r) => r.impact === "aggregate");
        print(
          `  ${n} subnets, ${f.rows} rows (${f.nicAndVmRows} NIC and VM rows); ` +
            (rows && aggregate
              ? `same findings: ${rows.digest === aggregate.digest ? "yes" : "NO"} (${aggregate.findings})`
              : `${f.reads[0]?.findings} findings`),
        );
        for (const r of f.reads) {
          print(
            `    ${r.impact.padEnd(9)} ${String(r.pages).padStart(5)} pages, ${mb(r.bytes).padStart(9)}, ${s(r.elapsedMs)} vs quota bound ${s(r.boundMs)} = ${x(r.elapsedMs / r.boundMs)}, peak RSS ${mb(r.maxRssBytes)}, ${r.throttled} x 429${r.complete ? "" : ", INCOMPLETE"}`,
          );
          print(
            `              before the first page ${s(r.firstPageMs)}, paging ${s(r.lastPageMs - r.firstPageMs)} = ${x((r.lastPageMs - r.firstPageMs) / r.boundMs)} of the bound, after the last ${s(r.elapsedMs - r.lastPageMs)}`,
          );
          peaks.push({ subnets: n, read: r.impact, maxRssBytes: r.maxRssBytes });
        }
        if (rows && aggregate)
          print(
            `    aggregate/rows: pages ${x(aggregate.pages / rows.pages)}, bytes ${x(aggregate.bytes / rows.bytes)}, time ${x(aggregate.elapsedMs / rows.elapsedMs)}, peak RSS ${x(aggregate.maxRssBytes / rows.maxRssBytes)}`,
          );
      }
      for (const read of reads) {
        const p = peaks.filter((r) => r.read === read);
        for (let i = 1; i < p.length; i++) {
          const [a, b] = [p[i - 1]!, p[i]!];
          const perSubnet = (b.maxRssBytes - a.maxRssBytes) / (b.subnets - a.subnets);
          print(
            `  ${read} peak RSS ${a.subnets} -> ${b.subnets} subnets: ${(perSubnet / 1024).toFixed(2)} KB per subnet`,
          );
        }
      }
    }
    print("\nlive: Log Analytics emulator (1 MB per request)");
    const l = await benchLogAnalytics({ subnets: 10_000 });
    print(
      `  ${l.findings} finding rows, ${mb(l.findingBytes)} of JSON: ${l.requests} requests vs minimum ${l.minimumRequests}, ` +
        `largest ${(l.maxUncompressedBytes / 1e6).toFixed(3)} MB uncompressed / ${(l.maxCompressedBytes / 1e6).toFixed(3)} MB gzip, ${l.rejected} rejected, ${s(l.elapsedMs)}`,
    );
  }
}

await main();
