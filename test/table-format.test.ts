import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TABLE_ROWS_PER_STATUS, formatTable } from "../src/outputs/table.js";
import { countByStatus } from "../src/model.js";
import type { ScanResult } from "../src/model.js";
import type { RouteSpec } from "./support/estate-builder.js";
import { EstateBuilder, auditResult } from "./support/estate-builder.js";

function resultWith(
  subnets: number,
  routes: RouteSpec[] = [["0.0.0.0/0", "VirtualNetworkGateway"]],
): ScanResult {
  const b = new EstateBuilder();
  const rt = b.routeTable("rt", routes);
  b.vnet(
    "vnet",
    Array.from({ length: subnets }, (_, i) => ({
      name: `snet-${String(i).padStart(6, "0")}`,
      routeTable: rt,
    })),
  );
  const { findings, warnings } = auditResult(b.rows);
  return {
    schemaVersion: 2,
    run: {
      id: "r",
      startedAt: "2026-11-28T00:00:00.000Z",
      finishedAt: "2026-11-28T00:00:01.000Z",
      cloud: "AzureCloud",
      source: { kind: "file", inputs: ["x"] },
      scope: { subscriptions: [], managementGroups: [] },
      complete: true,
      errors: [],
      warnings,
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

  it("prints the deciding path in words under each subnet's summary", () => {
    const text = formatTable(resultWith(1), { color: false });
    assert.match(
      text,
      /\n {4}path: 0\.0\.0\.0\/0 → VirtualNetworkGateway \(route 'route-0'\) → on-premises through the virtual network gateway\n/,
    );
  });

  it("lists malformed resources in their own section", () => {
    const text = formatTable(
      resultWith(1, [
        ["0.0.0.0/0", "VirtualNetworkGateway"],
        [42, "Internet", "numeric"],
      ]),
      { color: false },
    );
    assert.match(text, /Unverified \(1\)/);
    assert.match(
      text,
      /\nMalformed in the data \(1; what depends on it is Unverified, not Compliant\):\n {2}\/subscriptions\/.*\/routeTables\/rt: properties\.routes\[1\]\.addressPrefix /,
    );
  });

  it("handles estates with hundreds of thousands of findings (no argument-spread overflow)", () => {
    const text = formatTable(resultWith(150_000), { color: false });
    assert.match(text, /NonCompliant +150000/);
  });
});

describe("writing to a reader that went away", () => {
  it("stops at the first EPIPE and says so in one OutputError (the caller lets the run go on)", async () => {
    const { Writable } = await import("node:stream");
    const { writeChunksToStream } = await import("../src/outputs/write-output.js");
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
