import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Timer } from "@azure/functions";
import { createScanService } from "../src/function-app/scan-service.js";
import { createTimerScanHandler } from "../src/function-app/timer-scan-handler.js";
import {
  startPolicyInsightsEmulator,
  type PolicyInsightsEmulator,
} from "../kit/emulators/policy-insights.js";
import type { ResourceGraphEmulator } from "../kit/emulators/resource-graph.js";
import { startArmRouter } from "./support/arm-router.js";
import type { RunningHttpsServer } from "../kit/support/https-server.js";
import { anInvocation, startLoopbackAzure, type LoopbackAzure } from "./functions/support.js";
import {
  ALZ_ASSIGNMENT,
  ASSIGNMENT,
  SUB,
  networkRows,
  policyRows,
  subnetId,
} from "./support/policy-estate.js";

// Done when (issue 14): after a timer run against emulated Azure, each subnet in the assignment's
// scope has an attestation matching its verdict, a second run writes nothing, native exemptions
// turn subnets Exempt, and a finding whose route fix a deny policy would reject offers the fix
// that passes. Azure's behaviour: "Azure Policy attestation structure", "Azure Policy exemption
// structure", "Azure Policy definitions deny effect" (Microsoft Learn); Resource Graph's
// policyresources table ("Azure Resource Graph table and resource type reference").

let azure: LoopbackAzure;
let rg: ResourceGraphEmulator;
let policy: PolicyInsightsEmulator;
let arm: RunningHttpsServer;
let pendingDir: string;

const SUBNETS = [
  "app-ok",
  "app-tunnel",
  "app-nva",
  "app-waived",
  "app-tagged",
  "GatewaySubnet",
  "AzureFirewallSubnet",
];

before(async () => {
  azure = await startLoopbackAzure();
  rg = await azure.resourceGraph([...networkRows({ hubFirewall: true }), ...policyRows()], {
    managementGroups: { corp: [SUB], contoso: [SUB] },
  });
  policy = await startPolicyInsightsEmulator({
    resources: SUBNETS.filter((n) => n !== "AzureFirewallSubnet").map(subnetId),
    isValidToken: (t) => azure.identity.isValidToken(t),
  });
  arm = await startArmRouter([
    {
      matches: (p) => /\/providers\/microsoft\.policyinsights\/attestations\//i.test(p),
      handle: (req, res, body) => policy.handle(req, res, body),
    },
    {
      matches: (p) => /\/providers\/microsoft\.resourcegraph\//i.test(p),
      forward: { url: rg.url, ca: azure.ca },
    },
  ]);
  pendingDir = await mkdtemp(join(tmpdir(), "kms-policy-timer-"));
});

after(async () => {
  await arm.close();
  await policy.close();
  await azure.close();
  await rm(pendingDir, { recursive: true, force: true });
});

const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: true },
  scheduleStatus: {
    last: "2026-12-01T00:00:00Z",
    next: "2026-12-01T06:00:00Z",
    lastUpdated: "2026-12-01T00:00:00Z",
  },
};

function handler() {
  return createTimerScanHandler({
    env: {
      KMS_AUDIT_ARM_ENDPOINT: arm.url,
      KMS_AUDIT_PENDING_DIR: pendingDir,
      KMS_AUDIT_SUBSCRIPTIONS: SUB,
      KMS_AUDIT_POLICY_ASSIGNMENT_ID: ASSIGNMENT,
      KMS_AUDIT_SCHEDULE: "0 0 */6 * * *",
    },
    overrides: {
      ...azure.overrides,
      attestations: {
        clientOptions: { tlsOptions: { ca: azure.ca } },
        sleep: () => Promise.resolve(),
      },
    },
    service: createScanService(),
  });
}

void describe("the timer attests through Azure Policy", () => {
  it("first run: attestations match the verdicts; exemptions Exempt; the denied route fix offers the firewall", async () => {
    const { context, lines } = anInvocation("timerScan");
    await handler()(timer, context);
    const policyPages = rg.requests.filter((r) => r.table === "policyresources");
    assert.ok(
      policyPages.length > 0 &&
        policyPages.every((r) => r.authorizationScopeFilter === "AtScopeAboveAndBelow"),
    );
    const state = (n: string) => policy.attestationOf(subnetId(n))?.properties.complianceState;
    assert.deepEqual(["app-ok", "app-tunnel", "app-nva", "app-waived", "app-tagged"].map(state), [
      "Compliant",
      "NonCompliant",
      "Unknown",
      "NonCompliant",
      "NonCompliant",
    ]);
    assert.equal(state("GatewaySubnet"), undefined);
    assert.equal(policy.writes(), 5);
    const written = lines.filter((l) => l.json?.msg === "attestation written");
    assert.equal(written.length, 5, "one audit line per attestation");
    const finished = lines.find((l) => l.json?.msg === "audit finished");
    assert.deepEqual(finished?.json?.actions, [{ action: "attestations", failed: 0 }]);
    assert.equal(
      (finished?.json?.counts as Record<string, number>).Exempt,
      2,
      "the waiver and the tag",
    );
  });

  it("second run writes nothing", async () => {
    const writes = policy.writes();
    const { context } = anInvocation("timerScan");
    await handler()(timer, context);
    assert.equal(policy.writes(), writes);
  });

  it("the findings: native exemption Exempt, route fix denied by the ALZ assignment with the passing alternative", async () => {
    // The same plan as the timer's, rendered: the finding JSON the HTTP API and the CLI return.
    const { runAudit } = await import("../src/run-audit.js");
    const { livePlan } = await import("../src/scan-setup.js");
    const { readSettings } = await import("../src/settings.js");
    const { createLogger } = await import("../src/logging/logger.js");
    const settings = readSettings({
      KMS_AUDIT_ARM_ENDPOINT: arm.url,
      KMS_AUDIT_SUBSCRIPTIONS: SUB,
      KMS_AUDIT_POLICY_ASSIGNMENT_ID: ASSIGNMENT,
    });
    const plan = await livePlan({ settings, overrides: azure.overrides });
    const { result } = await runAudit(plan, { logger: createLogger({ level: "silent" }) });
    const of = (n: string) => result.findings.find((f) => f.subnetName === n)!;
    assert.equal(of("app-waived").status, "Exempt");
    assert.equal(of("app-waived").exemption?.source, "policyExemption");
    assert.equal(of("app-waived").exemption?.category, "Waiver");
    const tunnel = of("app-tunnel");
    assert.ok(tunnel.reasons.includes("ROUTE_FIX_DENIED_BY_POLICY"));
    assert.equal(tunnel.policyConflicts[0]?.policyAssignmentId, ALZ_ASSIGNMENT);
    assert.deepEqual(
      tunnel.remediation?.fixes.map((f) => f.kind),
      ["routesViaFirewall", "firewallPolicyRule", "policyExemptionRequest", "routes"],
    );
    assert.ok(of("app-nva").reasons.includes("EXEMPTION_EXPIRED"));
  });
});
