import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TABLE_ROWS_PER_STATUS, formatTable } from "../src/outputs/table.js";
import { countByStatus } from "../src/scan.js";
import type { ScanResult } from "../src/model.js";
import { EstateBuilder, audit } from "./support/estate-builder.js";

function resultWith(subnets: number): ScanResult {
  const b = new EstateBuilder();
  const rt = b.routeTable("rt", [["0.0.0.0/0", "VirtualNetworkGateway"]]);
  b.vnet(
    "vnet",
    Array.from({ length: subnets }, (_, i) => ({
      name: `snet-${String(i).padStart(6, "0")}`,
      routeTable: rt,
    })),
  );
  const findings = audit(b.rows);
  return {
    schemaVersion: 1,
    run: {
      id: "r",
      startedAt: "2026-11-28T00:00:00.000Z",
      finishedAt: "2026-11-28T00:00:01.000Z",
      cloud: "AzureCloud",
      source: { kind: "file", inputs: ["x"] },
      scope: { subscriptions: [], managementGroups: [] },
      complete: true,
      errors: [],
      counts: countByStatus(findings),
      endpoints: [],
    },
    findings,
  };
}

describe("table format", () => {
  it("lists the worst subnets of a status and says how many more there are", () => {
    const text = formatTable(resultWith(TABLE_ROWS_PER_STATUS + 50), { color: false });
    assert.match(text, /NonCompliant \(250\)/);
    assert.equal((text.match(/vnet\/snet-\d+/g) ?? []).length, TABLE_ROWS_PER_STATUS);
    assert.match(text, /\.\.\. and 50 more NonCompliant subnets/);
  });

  it("handles estates with hundreds of thousands of findings (no argument-spread overflow)", () => {
    const text = formatTable(resultWith(150_000), { color: false });
    assert.match(text, /NonCompliant +150000/);
  });
});

describe("writing to a reader that went away", () => {
  it("stops at the first EPIPE and says so in one OutputError (the caller lets the run go on)", async () => {
    const { Writable } = await import("node:stream");
    const { writeChunksToStream } = await import("../src/outputs/format.js");
    let writes = 0;
    const stream = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        writes += 1;
        const error = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
        callback(error);
      },
    });
    const chunks = Array.from({ length: 50 }, () => "x".repeat(2_000_000));
    await assert.rejects(writeChunksToStream(stream, chunks), (e: Error) => {
      assert.equal(e.name, "OutputError");
      assert.equal(e.message, "stdout: cannot write output: the reader closed the pipe (EPIPE)");
      return true;
    });
    assert.ok(writes >= 1 && writes < 50, `stopped after ${writes} writes`);
  });
});
