/**
 * The facts stage (DESIGN.md section 4) against the loopback ARM emulator, through the real
 * NetworkManagementClient: learned routes of the gateways subnets learn from and, for subnets still
 * in doubt, a VM NIC's effective routes are read before the audit, which then judges once.
 * Schema 1 re-judged findings after the audit (--confirm-gateway-routes); the flags stay.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { createFactsStage, type FactsOptions } from "../src/facts/facts-stage.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { builtInCatalog } from "../src/catalog/catalog.js";
import { runAudit } from "../src/run-audit.js";
import { emulatorNetwork, memorySource } from "../kit/support/arm.js";
import { startArmNetworkEmulator, type ArmNetworkEmulator } from "../kit/emulators/arm-network.js";
import { findingFor } from "./support/estate-builder.js";
import {
  HUB_GW,
  TUNNELLED_EFFECTIVE_ROUTES,
  hubAndSpokes,
  withVmNic,
} from "./support/facts-estate.js";

const logger = pino({ level: "silent" });

let emulator: ArmNetworkEmulator;
before(async () => {
  emulator = await startArmNetworkEmulator({ polls: 3, lroMode: "async" });
});
after(() => emulator.close());

async function scan(rows: ArmRow[], extra: Partial<FactsOptions> = {}) {
  return (
    await runAudit(
      {
        source: memorySource(rows),
        cloud: "AzureCloud",
        catalog: builtInCatalog("AzureCloud"),
        facts: createFactsStage({
          learnedRoutes: true,
          effectiveRoutes: false,
          // A timeout no loopback answer comes near, even on a loaded machine; the hang test sets
          // its own.
          network: {
            ...emulatorNetwork(emulator),
            pollIntervalInMs: 5,
            requestTimeoutInMs: 20_000,
          },
          ...extra,
        }),
      },
      { logger },
    )
  ).result;
}

describe("the facts stage against the ARM emulator (real NetworkManagementClient)", () => {
  it("done when: an ExpressRoute gateway learning 0.0.0.0/0 turns the spokes NonCompliant with evidence, one read per gateway", async () => {
    emulator.setGateway(HUB_GW, {
      routes: [
        { network: "0.0.0.0/0", sourcePeer: "10.0.0.13", origin: "EBgp", asPath: "12076-64512" },
        { network: "10.1.0.0/16", origin: "Network" },
      ],
    });
    const before = emulator.requests.length;
    const pollsBefore = emulator.polls();
    const result = await scan(hubAndSpokes());
    for (const name of ["snet-spoke1", "snet-spoke2"]) {
      const f = findingFor(result.findings, name);
      assert.equal(f.status, "NonCompliant");
      assert.equal(f.severity, "high");
      const e = f.endpoints[0]!;
      assert.equal(e.decidedBy, "GatewayRoute");
      assert.deepEqual(e.path[0], {
        kind: "Route",
        resourceId: HUB_GW,
        detail:
          "0.0.0.0/0 learned: learned by gateway hub-gw from peer 10.0.0.13 (EBgp, AS path 12076-64512)",
      });
    }
    const posts = emulator.requests.slice(before).filter((r) => r.method === "POST");
    assert.equal(posts.length, 1, "the gateway is read once for both spokes");
    assert.ok(emulator.polls() - pollsBefore >= 3, "the client polled the long-running operation");
    assert.equal(result.run.complete, true);
    assert.equal(result.run.counts.NonCompliant, 2);
    // The cause is the learned route (BGP_DEFAULT_ROUTE_LEARNED, kept from schema 1).
    for (const name of ["snet-spoke1", "snet-spoke2"]) {
      const f = findingFor(result.findings, name);
      assert.ok(f.reasons.includes("BGP_DEFAULT_ROUTE_LEARNED"), f.reasons.join());
      assert.equal(f.endpoints[0]!.reason, "BGP_DEFAULT_ROUTE_LEARNED");
    }
  });

  it("split default and no default route", async () => {
    emulator.setGateway(HUB_GW, { routes: [{ network: "0.0.0.0/1" }, { network: "128.0.0.0/1" }] });
    let result = await scan(hubAndSpokes());
    assert.equal(findingFor(result.findings, "snet-spoke1").status, "NonCompliant");
    emulator.setGateway(HUB_GW, { routes: [{ network: "192.168.0.0/16" }] });
    result = await scan(hubAndSpokes());
    const f = findingFor(result.findings, "snet-spoke1");
    assert.equal(f.status, "Compliant");
    // Schema 2: the system route decides; BGP_NO_DEFAULT_ROUTE is no longer produced.
    assert.deepEqual(f.reasons, ["NO_FORCED_TUNNEL"]);
    assert.ok(f.endpoints.every((e) => e.decidedBy === "SystemRoute" && e.reachable === true));
  });

  it("reads the gateway even when the spokes' route tables decide today (a learned /1 could beat them)", async () => {
    emulator.setGateway(HUB_GW, { routes: [{ network: "0.0.0.0/1" }, { network: "128.0.0.0/1" }] });
    const before = emulator.requests.length;
    const result = await scan(hubAndSpokes({ spokeRoutes: [["0.0.0.0/0", "Internet"]] }));
    assert.equal(emulator.requests.slice(before).filter((r) => r.method === "POST").length, 1);
    const f = findingFor(result.findings, "snet-spoke1");
    assert.equal(f.status, "NonCompliant");
    assert.ok(f.endpoints.every((e) => e.decidedBy === "GatewayRoute"));
  });

  it("reads no gateway when every subnet that could learn from it has BGP propagation off", async () => {
    const before = emulator.requests.length;
    const result = await scan(
      hubAndSpokes({ spokeRoutes: [["0.0.0.0/0", "Internet"]], disableBgpRoutePropagation: true }),
    );
    assert.equal(emulator.requests.length, before, "no ARM call");
    assert.equal(findingFor(result.findings, "snet-spoke1").status, "Compliant");
    assert.equal(result.run.complete, true);
  });

  it("a forbidden gateway (403): spokes stay Unverified, the run records GATEWAY_ROUTES_UNREADABLE and is incomplete", async () => {
    emulator.setGateway(HUB_GW, { status: 403 });
    const result = await scan(hubAndSpokes());
    const f = findingFor(result.findings, "snet-spoke1");
    assert.equal(f.status, "Unverified");
    assert.deepEqual(f.reasons, ["GATEWAY_ROUTES_UNREADABLE"]);
    assert.equal(result.run.complete, false);
    assert.equal(result.run.errors.length, 1);
    assert.equal(result.run.errors[0]!.code, "GATEWAY_ROUTES_UNREADABLE");
    assert.equal(result.run.errors[0]!.target, HUB_GW);
    assert.match(result.run.errors[0]!.message, /403/);
  });

  it("a gateway that never answers times out and is recorded, not fatal", async () => {
    emulator.setGateway(HUB_GW, { hang: true });
    const result = await scan(hubAndSpokes(), {
      network: { ...emulatorNetwork(emulator), requestTimeoutInMs: 300 },
    });
    assert.equal(findingFor(result.findings, "snet-spoke2").status, "Unverified");
    assert.match(result.run.errors[0]!.message, /no answer within 300 ms/);
  });

  it("gateways over the budget are not read: recorded, their spokes stay Unverified", async () => {
    emulator.setGateway(HUB_GW, { routes: [{ network: "0.0.0.0/0" }] });
    const before = emulator.requests.length;
    const result = await scan(hubAndSpokes(), { budgets: { gateways: 0 } });
    assert.equal(emulator.requests.length, before);
    assert.equal(findingFor(result.findings, "snet-spoke1").status, "Unverified");
    assert.deepEqual(
      result.run.errors.map((e) => [e.code, e.target]),
      [["GATEWAY_ROUTES_UNREADABLE", HUB_GW]],
    );
    assert.match(result.run.errors[0]!.message, /budget of 0 gateways/);
  });

  it("--verify-effective-routes reads a VM NIC's effective routes for subnets still in doubt", async () => {
    emulator.setGateway(HUB_GW, { status: 500 });
    const { rows, nic } = withVmNic(hubAndSpokes());
    emulator.setNic(nic, {
      routes: TUNNELLED_EFFECTIVE_ROUTES.map((r) => ({ ...r, name: r.name ?? undefined })),
    });
    const result = await scan(rows, { effectiveRoutes: true });
    const f = findingFor(result.findings, "snet-spoke1");
    assert.equal(f.status, "NonCompliant");
    assert.equal(f.endpoints[0]!.path[0]!.resourceId, nic);
    assert.match(f.endpoints[0]!.path[0]!.detail, /effective route of NIC vm1-nic/);
    assert.equal(
      findingFor(result.findings, "snet-spoke2").status,
      "Unverified",
      "no NIC: no read",
    );
    assert.deepEqual(
      result.run.errors.map((e) => e.code),
      ["GATEWAY_ROUTES_UNREADABLE"],
    );
  });

  it("a NIC whose effective routes cannot be read: the subnet stays Unverified and the run says so", async () => {
    emulator.setGateway(HUB_GW, { status: 500 });
    const { rows, nic } = withVmNic(hubAndSpokes());
    emulator.setNic(nic, { status: 409 });
    const result = await scan(rows, { learnedRoutes: false, effectiveRoutes: true });
    assert.equal(findingFor(result.findings, "snet-spoke1").status, "Unverified");
    assert.deepEqual(
      result.run.errors.map((e) => [e.code, e.target]),
      [["EFFECTIVE_ROUTES_UNREADABLE", nic]],
    );
    assert.equal(result.run.complete, false);
  });
});
