import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { endpointSetsFor } from "../src/catalog/endpoints.js";
import { runConfirmedScan, type ConfirmationOptions } from "../src/confirm/confirmed-scan.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { emulatorNetwork, memorySource } from "./support/arm.js";
import { startArmNetworkEmulator, type ArmNetworkEmulator } from "./emulators/arm-network.js";
import { findingFor } from "./support/estate-builder.js";
import { HUB_GW, hubAndSpokes, withVmNic } from "./support/confirmation-estate.js";

const logger = pino({ level: "silent" });

let emulator: ArmNetworkEmulator;
before(async () => {
  emulator = await startArmNetworkEmulator({ polls: 3, lroMode: "async" });
});
after(() => emulator.close());

function scan(rows: ArmRow[], extra: Partial<ConfirmationOptions> = {}) {
  return runConfirmedScan(
    {
      source: memorySource(rows),
      cloud: "AzureCloud",
      endpointSets: endpointSetsFor("AzureCloud"),
      logger,
    },
    {
      confirmGatewayRoutes: true,
      verifyEffectiveRoutes: false,
      // A timeout no loopback answer comes near, even on a loaded machine; the hang test sets
      // its own.
      network: { ...emulatorNetwork(emulator), pollIntervalInMs: 5, requestTimeoutInMs: 20_000 },
      ...extra,
    },
  );
}

describe("--confirm-gateway-routes against the ARM emulator (real NetworkManagementClient)", () => {
  it("done when: an ExpressRoute gateway learning 0.0.0.0/0 turns the spokes NonCompliant with evidence, one read per gateway", async () => {
    emulator.setGateway(HUB_GW, {
      routes: [
        { network: "0.0.0.0/0", sourcePeer: "10.0.0.13", asPath: "12076-64512" },
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
      assert.ok(f.reasons.includes("BGP_DEFAULT_ROUTE_LEARNED"));
      const evidence = f.endpoints[0]!.evidence;
      assert.equal(evidence?.kind, "GatewayLearnedRoute");
      assert.equal(evidence?.kind === "GatewayLearnedRoute" && evidence.sourcePeer, "10.0.0.13");
      assert.equal(evidence?.kind === "GatewayLearnedRoute" && evidence.asPath, "12076-64512");
    }
    const posts = emulator.requests.slice(before).filter((r) => r.method === "POST");
    assert.equal(posts.length, 1, "the gateway is read once for both spokes");
    assert.ok(emulator.polls() - pollsBefore >= 3, "the client polled the long-running operation");
    assert.equal(result.run.complete, true);
    assert.equal(result.run.counts.NonCompliant, 2);
  });

  it("split default and no default route", async () => {
    emulator.setGateway(HUB_GW, { routes: [{ network: "0.0.0.0/1" }, { network: "128.0.0.0/1" }] });
    let result = await scan(hubAndSpokes());
    assert.equal(findingFor(result.findings, "snet-spoke1").status, "NonCompliant");
    emulator.setGateway(HUB_GW, { routes: [{ network: "192.168.0.0/16" }] });
    result = await scan(hubAndSpokes());
    const f = findingFor(result.findings, "snet-spoke1");
    assert.equal(f.status, "Compliant");
    assert.deepEqual(f.reasons, ["BGP_NO_DEFAULT_ROUTE"]);
  });

  it("a forbidden gateway (403): spokes stay Unverified, the run records GATEWAY_ROUTES_UNREADABLE and is incomplete", async () => {
    emulator.setGateway(HUB_GW, { status: 403 });
    const result = await scan(hubAndSpokes());
    const f = findingFor(result.findings, "snet-spoke1");
    assert.equal(f.status, "Unverified");
    assert.ok(f.reasons.includes("GATEWAY_ROUTES_UNREADABLE"));
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

  it("--verify-effective-routes reads a VM NIC's effective routes for subnets still in doubt", async () => {
    emulator.setGateway(HUB_GW, { status: 500 });
    const { rows, nic } = withVmNic(hubAndSpokes());
    emulator.setNic(nic, {
      routes: [
        {
          source: "Default",
          state: "Invalid",
          addressPrefix: ["0.0.0.0/0"],
          nextHopType: "Internet",
        },
        {
          source: "VirtualNetworkGateway",
          state: "Active",
          addressPrefix: ["0.0.0.0/0"],
          nextHopType: "VirtualNetworkGateway",
          nextHopIpAddress: ["10.0.0.13"],
        },
      ],
    });
    const result = await scan(rows, { verifyEffectiveRoutes: true });
    const f = findingFor(result.findings, "snet-spoke1");
    assert.equal(f.status, "NonCompliant");
    assert.ok(f.reasons.includes("EFFECTIVE_ROUTES_CHECKED"));
    assert.equal(f.endpoints[0]!.evidence?.kind, "EffectiveRoute");
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
});
