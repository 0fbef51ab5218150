/**
 * Issue 15, item 6: remediation never writes a route without a precondition, and records a table
 * deleted after a successful write as what happened. The real NetworkManagementClient against the
 * loopback ARM emulator.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { pino } from "pino";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { remediationReport } from "./support/remediation.js";
import { startArmNetworkEmulator, type ArmNetworkEmulator } from "../kit/emulators/arm-network.js";
import { emulatorNetwork, memorySource } from "../kit/support/arm.js";
import { EstateBuilder, SUB } from "./support/estate-builder.js";

const logger = pino({ level: "silent" });
const RT = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt-etag`;
const SUBNET = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/spoke/subnets/snet-spoke`;

let emulator: ArmNetworkEmulator;
before(async () => {
  emulator = await startArmNetworkEmulator({ polls: 1 });
});
after(() => emulator.close());

beforeEach(() => {
  emulator.beforeRouteWrite = undefined;
  emulator.beforeTableRead = undefined;
  emulator.addRouteTable({
    id: RT,
    location: "westeurope",
    disableBgpRoutePropagation: true,
    subnets: [SUBNET],
    routes: [
      {
        name: "default-to-firewall",
        addressPrefix: "0.0.0.0/0",
        nextHopType: "VirtualAppliance",
        nextHopIpAddress: "10.0.1.4",
      },
    ],
  });
});

function rows(): ArmRow[] {
  const b = new EstateBuilder();
  b.vnet("spoke", [{ name: "snet-spoke", routeTable: RT }]);
  return [...b.rows, ...emulator.routeTableRows()];
}

function apply() {
  return remediationReport(
    memorySource(rows()),
    {
      mode: "apply",
      replaceConflicting: false,
      network: { ...emulatorNetwork(emulator), pollIntervalInMs: 5 },
    },
    logger,
  );
}

const putsSince = (from: number) => emulator.requests.slice(from).filter((r) => r.method === "PUT");
const tableReadsSince = (from: number) =>
  emulator.requests
    .slice(from)
    .filter((r) => r.method === "GET" && /routetables\/[^/]+$/i.test(r.path));

void describe("remediate --apply and the etag", () => {
  void it("a table read without an etag is read again once; with one the second time, every write is conditional", async () => {
    emulator.withholdEtag(RT, 1);
    const from = emulator.requests.length;
    const report = await apply();
    assert.equal(report.counts.applied, 3);
    assert.equal(report.counts.failed, 0);
    const puts = putsSince(from);
    assert.equal(puts.length, 3);
    for (const put of puts) assert.match(put.ifMatch ?? "", /^W\/"/, "If-Match on every write");
  });

  void it("a table that never shows an etag is never written: the change is reported not applied", async () => {
    emulator.withholdEtag(RT, Infinity);
    const from = emulator.requests.length;
    const report = await apply();
    assert.equal(putsSince(from).length, 0, "no unconditional write");
    assert.equal(tableReadsSince(from).length, 2, "read, then read once more");
    assert.equal(report.counts.applied, 0);
    assert.equal(report.counts.failed, 1);
    assert.equal(report.counts.skipped, 2);
    assert.match(report.changes[0]!.error ?? "", /without an etag.*If-Match/);
    assert.deepEqual(
      emulator.routeTables.get(RT.toLowerCase())!.routes.map((r) => r.name),
      ["default-to-firewall"],
      "the table is as it was",
    );
  });

  void it("the etag lost after our own write: the next route is not written without one", async () => {
    // Read 1 (plan) has an etag; reads 2 and 3 (after the first write) have none.
    emulator.beforeTableRead = (id, reads) => {
      if (reads === 2) emulator.withholdEtag(id, 2);
    };
    const from = emulator.requests.length;
    const report = await apply();
    assert.equal(putsSince(from).length, 1);
    assert.ok(putsSince(from).every((p) => p.ifMatch !== null));
    assert.deepEqual(
      report.changes.map((c) => c.status),
      ["applied", "failed", "skipped"],
    );
  });

  void it("a successful write followed by the table's deletion: applied, then the table gone (not failed)", async () => {
    emulator.beforeTableRead = (id, reads) => {
      // Someone deletes the table between our write and the read that follows it.
      if (reads === 2) emulator.routeTables.delete(id.toLowerCase());
    };
    const report = await apply();
    assert.deepEqual(
      report.changes.map((c) => c.status),
      ["applied", "skipped", "skipped"],
    );
    assert.equal(report.counts.failed, 0);
    assert.equal(
      report.changes.filter((c) => c.routeName === report.changes[0]!.routeName).length,
      1,
    );
    for (const later of report.changes.slice(1)) {
      assert.match(later.error ?? "", /route table was deleted after a route was written/);
    }
  });
});
