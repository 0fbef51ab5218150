/**
 * Issue 15, item 4: files and streams, through the real binary. FIFOs and `--input <(...)` are
 * read once; inputs are bounded in bytes and rows; binary devices are refused from their first
 * bytes; one very long line parses; an unreadable large file is an input error (2); a stdout that
 * fails ends with one line and exit 2, never a stack trace.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ScanResult } from "../src/model.js";
import { BIN, describeRun, runCli, type CliRun } from "./support/cli-process.js";
import { syntheticEstate } from "../kit/estates/synthetic.js";
import { HANG_GUARD_MS } from "../kit/support/hang-guard.js";

const DEMO = fileURLToPath(new URL("../../samples/demo-estate.json", import.meta.url));
const run = promisify(execFile);

let tmp: string;
let demoRows: Record<string, unknown>[];

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "kms-streams-"));
  await chmod(tmp, 0o755); // a test running as root reads its files as another user too
  demoRows = JSON.parse(await readFile(DEMO, "utf8")) as Record<string, unknown>[];
});
after(() => rm(tmp, { recursive: true, force: true }));

/** A bash script with NODE and BIN set: `"$NODE" "$BIN" scan ...` is the CLI. */
function sh(script: string, env: Record<string, string> = {}): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], {
      cwd: tmp,
      env: {
        PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: tmp,
        NODE: process.execPath,
        BIN,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: HANG_GUARD_MS,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
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
  });
}

/** Exit 2 with exactly one stderr line, no stack trace, nothing on stdout. */
function assertOneLineError(r: CliRun, pattern: RegExp) {
  assert.equal(r.code, 2, describeRun(r));
  assert.match(r.stderr, /^kms-route-audit: [^\n]+\n$/, `one line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  assert.match(r.stderr, pattern);
}

const subnetsOf = (r: CliRun) => {
  assert.equal(r.code, 0, describeRun(r));
  const result = JSON.parse(r.stdout) as ScanResult;
  return result.findings.map((f) => `${f.subnetId} ${f.status}`).sort();
};

let demoSubnets: string[];
before(async () => {
  demoSubnets = subnetsOf(await runCli(["scan", "--demo", "--format", "json"], {}, { cwd: tmp }));
});

void describe("FIFOs and process substitution are read once", () => {
  void it("a FIFO holding a JSON document", async () => {
    const fifo = path.join(tmp, "estate.fifo");
    await run("mkfifo", [fifo]);
    // The writer opens the FIFO when the CLI does, writes the document and closes it: a second
    // open by the CLI would wait for a writer forever.
    const [r] = await Promise.all([
      runCli(["scan", "--format", "json", "--input", fifo], {}, { cwd: tmp }),
      writeFile(fifo, JSON.stringify(demoRows, null, 2)),
    ]);
    assert.deepEqual(subnetsOf(r), demoSubnets);
  });

  void it("--input <(...) with a JSON document and with NDJSON", async () => {
    const json = await sh(`"$NODE" "$BIN" scan --format json --input <(cat '${DEMO}')`);
    assert.deepEqual(subnetsOf(json), demoSubnets);
    const ndjsonFile = path.join(tmp, "demo.ndjson");
    await writeFile(ndjsonFile, demoRows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const ndjson = await sh(`"$NODE" "$BIN" scan --format json --input <(cat '${ndjsonFile}')`);
    assert.deepEqual(subnetsOf(ndjson), demoSubnets);
  });
});

void describe("bounded input", () => {
  void it("/dev/urandom and /dev/zero are refused from their first bytes", async () => {
    for (const device of ["/dev/urandom", "/dev/zero"]) {
      const r = await runCli(["scan", "--input", device], {}, { cwd: tmp });
      assertOneLineError(r, new RegExp(`${device}: binary data, not JSON or NDJSON text`));
    }
  });

  void it("an input larger than --max-input-bytes / KMS_AUDIT_MAX_INPUT_BYTES: exit 2 naming the limit", async () => {
    const flag = await runCli(
      ["scan", "--input", DEMO, "--max-input-bytes", "1KiB"],
      {},
      { cwd: tmp },
    );
    assertOneLineError(flag, /larger than the input limit of 1024 bytes \(--max-input-bytes/);
    const setting = await runCli(
      ["scan", "--input", DEMO],
      { KMS_AUDIT_MAX_INPUT_BYTES: "2048" },
      { cwd: tmp },
    );
    assertOneLineError(setting, /larger than the input limit of 2048 bytes/);
    const stream = await sh(`cat '${DEMO}' | "$NODE" "$BIN" scan --input - --max-input-bytes 4096`);
    assertOneLineError(stream, /<stdin>: larger than the input limit of 4096 bytes/);
    const bad = await runCli(["scan", "--demo", "--max-input-bytes", "lots"], {}, { cwd: tmp });
    assertOneLineError(bad, /--max-input-bytes: "lots" is not a byte count/);
    const badSetting = await runCli(
      ["scan", "--demo"],
      { KMS_AUDIT_MAX_INPUT_ROWS: "-3" },
      { cwd: tmp },
    );
    assertOneLineError(badSetting, /setting KMS_AUDIT_MAX_INPUT_ROWS: "-3" is not a whole number/);
  });

  void it("an endless NDJSON stream stops at --max-input-rows", async () => {
    const row = JSON.stringify({
      id: "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt",
      type: "microsoft.network/routetables",
    });
    const r = await sh(`yes '${row}' | "$NODE" "$BIN" scan --input - --max-input-rows 5000`);
    assertOneLineError(r, /<stdin>: more than the input limit of 5000 rows in all inputs/);
  });
});

void describe("long lines", () => {
  void it("a minified estate on one line (chunked path), as a file and as a stream, and a 2 MB NDJSON row", async () => {
    const estate = syntheticEstate({ subnets: 6000 });
    const pretty = path.join(tmp, "estate-pretty.json");
    const minified = path.join(tmp, "estate-minified.json");
    const longRow = path.join(tmp, "estate-long-row.ndjson");
    await writeFile(pretty, JSON.stringify(estate, null, 1));
    await writeFile(minified, JSON.stringify(estate)); // ~14 MB, no newline at all
    const wide = syntheticEstate({ subnets: 6000, subnetsPerVnet: 6000 });
    await writeFile(longRow, wide.map((r) => JSON.stringify(r)).join("\n"));
    const expected = subnetsOf(
      await runCli(["scan", "--format", "json", "--input", pretty], {}, { cwd: tmp }),
    );
    assert.ok(expected.length > 6000);
    assert.deepEqual(
      subnetsOf(await runCli(["scan", "--format", "json", "--input", minified], {}, { cwd: tmp })),
      expected,
    );
    assert.deepEqual(
      subnetsOf(await sh(`cat '${minified}' | "$NODE" "$BIN" scan --format json --input -`)),
      expected,
    );
    const wideRun = await runCli(
      ["scan", "--format", "json", "--input", longRow],
      {},
      { cwd: tmp },
    );
    assert.ok(subnetsOf(wideRun).length > 6000);
    assert.ok(Math.max(...wide.map((r) => JSON.stringify(r).length)) > 2 << 20, "a row > 2 MiB");
  });

  void it("below the chunked size: a one-line document and a 1 MB NDJSON row (plain path)", async () => {
    const estate = syntheticEstate({ subnets: 2500, subnetsPerVnet: 2500 });
    const pretty = path.join(tmp, "small-pretty.json");
    const minified = path.join(tmp, "small-minified.json");
    const ndjson = path.join(tmp, "small-long-row.ndjson");
    await writeFile(pretty, JSON.stringify(estate, null, 1));
    await writeFile(minified, JSON.stringify(estate));
    await writeFile(ndjson, estate.map((r) => JSON.stringify(r)).join("\n"));
    assert.ok((await readFile(minified)).length < 8 << 20, "below the chunked reading size");
    const expected = subnetsOf(
      await runCli(["scan", "--format", "json", "--input", pretty], {}, { cwd: tmp }),
    );
    for (const file of [minified, ndjson]) {
      const r = await runCli(["scan", "--format", "json", "--input", file], {}, { cwd: tmp });
      assert.deepEqual(subnetsOf(r), expected, file);
    }
  });
});

void describe("files that cannot be read, outputs that cannot be written", () => {
  void it("an unreadable large file is an input error (exit 2), like a small one", async () => {
    const large = path.join(tmp, "unreadable-large.json");
    const small = path.join(tmp, "unreadable-small.json");
    await writeFile(large, JSON.stringify(syntheticEstate({ subnets: 4000 }))); // > 8 MiB
    await writeFile(small, JSON.stringify(demoRows));
    await chmod(large, 0);
    await chmod(small, 0);
    // Root reads anything: run the CLI as nobody then.
    const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    for (const file of [large, small]) {
      const r = await runCli(
        ["scan", "--input", file],
        {},
        { cwd: tmp, ...(user ? { user } : {}) },
      );
      assertOneLineError(r, new RegExp(`${file}: cannot read: .*EACCES`));
    }
  });

  void it("stdout on a full device: one line, exit 2, no stack trace", async () => {
    const r = await sh(`"$NODE" "$BIN" scan --demo --format json > /dev/full`);
    assertOneLineError(r, /stdout: cannot write output: no space left on the device \(ENOSPC\)/);
  });

  void it("stdout into a pipe its reader closed: one line, exit 2, no stack trace", async () => {
    const big = path.join(tmp, "big.json");
    await writeFile(big, JSON.stringify(syntheticEstate({ subnets: 3000 })));
    const r = await sh(
      `"$NODE" "$BIN" scan --input '${big}' --format json | head -c 10 > /dev/null; exit "\${PIPESTATUS[0]}"`,
    );
    assertOneLineError(r, /stdout: cannot write output: the reader closed the pipe \(EPIPE\)/);
  });
});
