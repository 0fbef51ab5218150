import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { pino } from "pino";
import type { ArmRow } from "../src/inventory/arm-row.js";
import type { RemediationOptions } from "../src/remediate/remediate.js";
import { remediationReport } from "./support/remediation.js";
import { startArmNetworkEmulator, type ArmNetworkEmulator } from "../kit/emulators/arm-network.js";
import { emulatorNetwork, memorySource } from "../kit/support/arm.js";
import { EstateBuilder, SUB, audit, findingFor } from "./support/estate-builder.js";

const logger = pino({ level: "silent" });
const RT = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt-spokes`;
const subnetOf = (vnet: string) =>
  `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/snet-${vnet}`;

let emulator: ArmNetworkEmulator;
before(async () => {
  emulator = await startArmNetworkEmulator({ polls: 2 });
});
after(() => emulator.close());

/**
 * Two spokes share rt-spokes: 0.0.0.0/0 to the firewall's IP; the emulator holds the same table.
 * No firewall at 10.0.1.4 is in the estate, so the spokes are Unverified (NEXT_HOP_NOT_IN_INVENTORY,
 * DESIGN.md section 3, rule 2) and the route fix adds the /32s that decide them either way.
 */
beforeEach(() => {
  emulator.beforeRouteWrite = undefined;
  emulator.addRouteTable({
    id: RT,
    location: "westeurope",
    disableBgpRoutePropagation: true,
    subnets: [subnetOf("spoke1"), subnetOf("spoke2")],
    routes: [
      {
        name: "default-to-firewall",
        addressPrefix: "0.0.0.0/0",
        nextHopType: "VirtualAppliance",
        nextHopIpAddress: "10.0.1.4",
      },
      { name: "kms-20-118-99-224", addressPrefix: "10.9.9.0/24", nextHopType: "VnetLocal" },
    ],
  });
});

/** Resource Graph-like rows: VNets from the builder, route tables as the emulator holds them now. */
function rows(): ArmRow[] {
  const b = new EstateBuilder();
  for (const name of ["spoke1", "spoke2"]) b.vnet(name, [{ name: `snet-${name}`, routeTable: RT }]);
  return [...b.rows, ...emulator.routeTableRows()];
}

function remediate(options: Partial<RemediationOptions> = {}, estate: ArmRow[] = rows()) {
  return remediationReport(
    memorySource(estate),
    {
      mode: "apply",
      replaceConflicting: false,
      network: { ...emulatorNetwork(emulator), pollIntervalInMs: 5 },
      ...options,
    },
    logger,
  );
}

describe("remediate", () => {
  it("plan lists only the missing KMS routes, once per shared table, with free names", async () => {
    const report = await remediate({ mode: "plan" });
    assert.deepEqual(
      report.changes.map((c) => [c.action, c.routeName, c.addressPrefix, c.status]),
      [
        ["create", "kms-20-118-99-224-2", "20.118.99.224/32", "planned"],
        ["create", "kms-40-83-235-53", "40.83.235.53/32", "planned"],
        ["create", "kms-23-102-135-246", "23.102.135.246/32", "planned"],
      ],
    );
    assert.equal(report.changes[0]!.subnetIds.length, 2);
    assert.equal(
      emulator.requests.filter((r) => r.method === "PUT").length,
      0,
      "plan writes nothing",
    );
  });

  it("done when: apply, then a new scan finds every remediated subnet Compliant; a second apply adds nothing", async () => {
    const before = emulator.requests.length;
    const stale = rows();
    const report = await remediate({}, stale);
    assert.equal(report.counts.applied, 3);
    assert.equal(report.counts.failed, 0);
    const puts = emulator.requests.slice(before).filter((r) => r.method === "PUT");
    assert.equal(puts.length, 3);
    for (const put of puts) assert.match(put.ifMatch ?? "", /^W\/"/, "every write is conditional");
    const table = emulator.routeTables.get(RT.toLowerCase())!;
    assert.deepEqual(
      table.routes.slice(0, 2).map((r) => r.name),
      ["default-to-firewall", "kms-20-118-99-224"],
      "nothing else changed",
    );
    assert.equal(table.routes[1]!.addressPrefix, "10.9.9.0/24");

    const unfixed = findingFor(audit(stale), "snet-spoke1");
    assert.equal(unfixed.status, "Unverified");
    assert.deepEqual(unfixed.reasons, ["NEXT_HOP_NOT_IN_INVENTORY"]);
    const findings = audit(rows());
    for (const name of ["snet-spoke1", "snet-spoke2"]) {
      const f = findingFor(findings, name);
      assert.equal(f.status, "Compliant", name);
      assert.deepEqual(f.reasons, ["KMS_ROUTES_PRESENT"]);
    }

    const again = await remediate();
    assert.deepEqual(again.changes, [], "a fresh scan finds nothing missing");
    // Even from the stale scan, apply re-reads each table and finds the routes present.
    const fromStale = await remediate({}, stale);
    assert.equal(fromStale.counts.applied, 0);
    assert.equal(fromStale.counts.unchanged, 3);
    assert.equal(emulator.requests.slice(before).filter((r) => r.method === "PUT").length, 3);
  });

  it("a stale etag (412): the table is re-read, re-planned, and the concurrent edit survives", async () => {
    let edited = false;
    emulator.beforeRouteWrite = (tableId) => {
      if (edited) return;
      edited = true;
      // Another operator adds a route between our read and our first write.
      emulator.editRouteTable(tableId, (t) =>
        t.routes.push({
          name: "kms-20-118-99-224-2",
          addressPrefix: "192.168.5.0/24",
          nextHopType: "VirtualAppliance",
          nextHopIpAddress: "10.0.1.4",
        }),
      );
    };
    const before = emulator.requests.length;
    const report = await remediate();
    const statuses = emulator.requests
      .slice(before)
      .filter((r) => r.method === "PUT")
      .map((r) => r.status);
    assert.deepEqual(statuses, [412, 201, 201, 201]);
    assert.equal(report.counts.applied, 3);
    const table = emulator.routeTables.get(RT.toLowerCase())!;
    const theirs = table.routes.find((r) => r.name === "kms-20-118-99-224-2")!;
    assert.equal(theirs.addressPrefix, "192.168.5.0/24", "the concurrent edit was not overwritten");
    assert.equal(
      report.changes[0]!.routeName,
      "kms-20-118-99-224-3",
      "re-planned with a free name",
    );
  });

  it("a table that keeps changing: one re-plan, then the table is given up with an error", async () => {
    emulator.beforeRouteWrite = (tableId) => emulator.editRouteTable(tableId, () => undefined);
    const report = await remediate();
    assert.equal(report.counts.applied, 0);
    assert.equal(report.counts.failed, 1);
    assert.equal(report.counts.skipped, 2);
    assert.match(report.changes[0]!.error ?? "", /412/);
  });

  it("a KMS prefix with another next hop is a conflict, left alone unless --replace-conflicting", async () => {
    emulator.editRouteTable(RT, (t) =>
      t.routes.push({
        name: "kms-to-fw",
        addressPrefix: "40.83.235.53/32",
        nextHopType: "VirtualAppliance",
        nextHopIpAddress: "10.0.1.4",
      }),
    );
    let report = await remediate();
    const conflict = report.changes.find((c) => c.addressPrefix === "40.83.235.53/32")!;
    assert.equal(conflict.action, "conflict");
    assert.equal(conflict.status, "skipped");
    assert.equal(
      emulator.routeTables.get(RT.toLowerCase())!.routes.find((r) => r.name === "kms-to-fw")!
        .nextHopType,
      "VirtualAppliance",
    );
    assert.equal(report.counts.conflicts, 1);

    report = await remediate({ replaceConflicting: true });
    const replaced = report.changes.find((c) => c.addressPrefix === "40.83.235.53/32")!;
    assert.deepEqual(
      [replaced.action, replaced.status, replaced.routeName],
      ["replace", "applied", "kms-to-fw"],
    );
    assert.equal(
      emulator.routeTables.get(RT.toLowerCase())!.routes.find((r) => r.name === "kms-to-fw")!
        .nextHopType,
      "Internet",
    );
  });
});
