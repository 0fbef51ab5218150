import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  attestationAction,
  type AttestationActionReport,
} from "../src/actions/attestation-action.js";
import { endpointSetsFor } from "../src/catalog/endpoints.js";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { createLogger } from "../src/logging/logger.js";
import { attestationName } from "../src/policy/attestation-state.js";
import { createAttestationsClient } from "../src/policy/attestations-client.js";
import { runAudit } from "../src/run-audit.js";
import type { EstateSource } from "../src/sources/source.js";
import {
  ATTESTATIONS_API_VERSION,
  startPolicyInsightsEmulator,
  type PolicyInsightsEmulator,
} from "../kit/emulators/policy-insights.js";
import { staticCredential } from "../kit/support/arm.js";
import {
  ASSIGNMENT,
  KMS_IPS,
  NET,
  SUB,
  networkRows,
  policyRows,
  subnetId,
} from "./support/policy-estate.js";

// What Azure does: "Azure Policy attestation structure" (learn.microsoft.com/azure/governance/
// policy/concepts/attestation-structure): an attestation sets the compliance state of a resource
// for a manual policy assignment, one per resource and assignment; complianceState Compliant,
// NonCompliant or Unknown; expiresOn is when the state reverts to the definition's default;
// assessmentDate, comments and evidence (description, sourceUri) are its record. "Azure Policy
// definitions manual effect": defaultState Unknown until attested. The REST reference
// "Attestations - Create Or Update At Resource" (api-version 2024-10-01): PUT/GET/DELETE
// {resourceId}/providers/Microsoft.PolicyInsights/attestations/{name}.

const SUBNETS = ["app-ok", "app-tunnel", "app-nva", "app-waived", "app-tagged", "GatewaySubnet"];
const HOUR = 3_600_000;
const T0 = new Date("2026-12-01T06:00:00Z");
const NAME = attestationName(ASSIGNMENT, null);
const logger = createLogger({ level: "silent" });

let policy: PolicyInsightsEmulator;
let clock = T0.getTime();
let slept: number[] = [];

function source(rows: ArmRow[], errors: { code: string; message: string }[] = []): EstateSource {
  return {
    kind: "file",
    inputs: ["memory"],
    scope: { subscriptions: [], managementGroups: [] },
    async *read(context) {
      await Promise.resolve();
      for (const e of errors) context.reportError(e);
      yield rows;
    },
  };
}

async function run(
  rows: ArmRow[],
  errors: { code: string; message: string }[] = [],
  mode: "plan" | "apply" = "apply",
) {
  const client = createAttestationsClient({
    cloud: "AzureCloud",
    armEndpoint: policy.url,
    credential: staticCredential,
    clientOptions: { tlsOptions: { ca: policy.certificate.cert } },
    now: () => new Date(clock),
    sleep: (ms) => {
      slept.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    baseDelayInMs: 1000,
  });
  const outcome = await runAudit(
    {
      source: source(rows, errors),
      cloud: "AzureCloud",
      catalog: { endpointSets: endpointSetsFor("AzureCloud"), forcedSets: [] } as never,
      policyAssignment: { id: ASSIGNMENT, definitionReferenceId: null },
      actions: [
        attestationAction({
          assignmentId: ASSIGNMENT,
          definitionReferenceId: null,
          mode,
          lifetime: { intervalInMs: 6 * HOUR },
          evidenceUri:
            "https://portal.azure.com/#@/resource/subscriptions/x/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law/logs",
          client,
        }),
      ],
      now: () => new Date(clock),
      newRunId: () => `run-${clock}`,
    },
    { logger },
  );
  return { result: outcome.result, report: outcome.actions[0] as AttestationActionReport };
}

const estate = () => [...networkRows(), ...policyRows({ alz: false })];
const stateOf = (name: string) => policy.attestationOf(subnetId(name))?.properties.complianceState;

before(async () => {
  policy = await startPolicyInsightsEmulator({ resources: SUBNETS.map(subnetId) });
});
after(() => policy.close());
beforeEach(() => {
  slept = [];
});

void describe("attestations through the real PolicyInsightsClient", () => {
  it("first run: one attestation per audited subnet, states as mapped, evidence, dates", async () => {
    clock = T0.getTime();
    const { result, report } = await run(estate());
    assert.equal(report.failed, 0);
    assert.deepEqual(
      Object.fromEntries(
        ["app-ok", "app-tunnel", "app-nva", "app-waived", "app-tagged"].map((n) => [n, stateOf(n)]),
      ),
      {
        "app-ok": "Compliant",
        "app-tunnel": "NonCompliant",
        "app-nva": "Unknown",
        "app-waived": "NonCompliant",
        "app-tagged": "NonCompliant",
      },
      "Exempt is attested as the state without the exemption",
    );
    assert.equal(
      policy.attestationOf(subnetId("GatewaySubnet")),
      undefined,
      "platform subnets are not attested",
    );
    assert.equal(report.counts.create, 5);
    assert.equal(policy.writes(), 5);
    for (const r of policy.requests) {
      assert.equal(r.apiVersion, ATTESTATIONS_API_VERSION);
      assert.equal(r.name, NAME);
    }
    const a = policy.attestationOf(subnetId("app-tunnel"))!.properties;
    assert.equal(a.policyAssignmentId, ASSIGNMENT);
    assert.equal(a.assessmentDate, result.run.startedAt.replace(/\.000Z$/, ".000Z"));
    // Two missed runs of a 6-hour schedule plus the margin (a day): 36 hours.
    assert.equal(new Date(String(a.expiresOn)).getTime() - T0.getTime(), 36 * HOUR);
    assert.match(
      String(a.comments),
      /^kms-route-audit: NonCompliant\. reasons KMS_ROUTES_MISSING, TUNNELED_ON_PREMISES\. deciding path \(kms 20\.118\.99\.224:1688\): /,
    );
    const evidence = a.evidence as { description: string; sourceUri: string }[];
    assert.match(
      evidence[0]!.description,
      new RegExp(`run ${result.run.id} .*KmsRouteAudit_CL \\| where RunId == '${result.run.id}'`),
    );
    assert.match(
      evidence[0]!.sourceUri,
      /^https:\/\/portal\.azure\.com\/#@\/resource\/subscriptions\/.*\/logs$/,
    );
    assert.match(
      String(policy.attestationOf(subnetId("app-waived"))!.properties.comments),
      /Exempt \(otherwise NonCompliant; Azure Policy exemption\)/,
    );
  });

  it("second run, a schedule later: reads every attestation, writes none", async () => {
    clock = T0.getTime() + 6 * HOUR;
    const writes = policy.writes();
    const { report } = await run(estate());
    assert.equal(policy.writes(), writes);
    assert.equal(report.counts.unchanged, 5);
    assert.equal(report.counts.written, 0);
  });

  it("a status change rewrites that subnet's attestation only", async () => {
    clock = T0.getTime() + 12 * HOUR;
    const rows = estate().map((r) =>
      r.id === `${NET}/routeTables/rt-tunnel`
        ? {
            ...r,
            properties: {
              routes: [
                {
                  name: "r0",
                  properties: { addressPrefix: "0.0.0.0/0", nextHopType: "VirtualNetworkGateway" },
                },
                ...KMS_IPS.map((ip, i) => ({
                  name: `kms${i}`,
                  properties: { addressPrefix: `${ip}/32`, nextHopType: "Internet" },
                })),
              ],
              disableBgpRoutePropagation: true,
            },
          }
        : r,
    );
    const writes = policy.writes();
    const { report } = await run(rows);
    assert.equal(policy.writes(), writes + 1);
    assert.equal(report.counts.change, 1);
    assert.equal(stateOf("app-tunnel"), "Compliant");
  });

  it("an unchanged attestation is renewed once it would expire within three runs", async () => {
    clock = T0.getTime() + 19 * HOUR;
    const { result, report } = await run(estate());
    // app-tunnel went back to NonCompliant (changed); the four others are 19 h old: renewed.
    assert.equal(report.counts.renew, 4);
    assert.equal(report.counts.change, 1);
    const a = policy.attestationOf(subnetId("app-ok"))!.properties;
    assert.equal(
      new Date(String(a.expiresOn)).getTime(),
      new Date(result.run.startedAt).getTime() + 36 * HOUR,
    );
    assert.ok(
      slept.every((ms) => ms <= 200),
      "writes are paced (5 a second), not retried",
    );
  });

  it("an incomplete scan attests what read data decided and nothing it could not read", async () => {
    clock = T0.getTime() + 40 * HOUR;
    const before = policy.attestationOf(subnetId("app-nva"))!.writes;
    const rows = [
      ...estate(),
      // A subnet known only from a route table's reference: its VNet was not read.
      {
        id: `${NET}/routeTables/rt-orphan`,
        name: "rt-orphan",
        type: "microsoft.network/routetables",
        properties: {
          routes: [],
          subnets: [{ id: `${NET}/virtualNetworks/other/subnets/unread` }],
        },
      },
    ];
    const { result, report } = await run(rows, [
      { code: "PAGE_NOT_READABLE", message: "Resource Graph resources query, page 2 failed" },
    ]);
    assert.equal(result.run.complete, false);
    const item = (id: string) =>
      report.items.find((i) => i.subnetId.toLowerCase() === id.toLowerCase())!;
    assert.equal(item(subnetId("app-nva")).skipped, "incompleteScan");
    assert.equal(item(`${NET}/virtualNetworks/other/subnets/unread`).skipped, "notRead");
    assert.equal(
      policy.attestationOf(subnetId("app-nva"))!.writes,
      before,
      "Unknown not written from a partial run",
    );
    assert.ok(["unchanged", "renew"].includes(item(subnetId("app-ok")).outcome));
  });

  it("429 with Retry-After and 503 are retried after the wait; the write lands", async () => {
    clock = T0.getTime() + 90 * HOUR;
    policy.injectFault({ status: 429, retryAfterSeconds: 7, method: "PUT" });
    policy.injectFault({ status: 503, method: "GET" });
    const { report } = await run(estate());
    assert.equal(report.failed, 0);
    assert.ok(slept.includes(7000), `slept ${slept.join(",")}`);
    assert.ok(slept.includes(1000), "the 503 waits the first back-off");
    assert.equal(report.counts.renew + report.counts.change, 5);
  });

  it("409 (another writer at the same moment): read again and decide anew", async () => {
    clock = T0.getTime() + 140 * HOUR;
    policy.injectFault({
      method: "PUT",
      concurrentWrite: {
        policyAssignmentId: ASSIGNMENT,
        complianceState: "Compliant",
        comments: "someone else",
      },
    });
    const { report } = await run(estate());
    assert.equal(report.failed, 0);
    assert.deepEqual(["app-ok", "app-tunnel", "app-nva", "app-waived", "app-tagged"].map(stateOf), [
      "Compliant",
      "NonCompliant",
      "Unknown",
      "NonCompliant",
      "NonCompliant",
    ]);
  });

  it("--plan reads and reports, writes nothing", async () => {
    clock = T0.getTime() + 300 * HOUR;
    const writes = policy.writes();
    const { report } = await run(estate(), [], "plan");
    assert.equal(policy.writes(), writes);
    assert.equal(report.mode, "plan");
    assert.equal(report.counts.renew, 5, "every one is due: what apply would write");
  });

  it("an assignment of another subscription: every subnet is out of its scope", async () => {
    const other = `/subscriptions/${SUB.replace(/^5/, "6")}/providers/Microsoft.Authorization/policyAssignments/kms`;
    const client = createAttestationsClient({
      cloud: "AzureCloud",
      armEndpoint: policy.url,
      credential: staticCredential,
      clientOptions: { tlsOptions: { ca: policy.certificate.cert } },
    });
    const outcome = await runAudit(
      {
        source: source(estate()),
        cloud: "AzureCloud",
        catalog: { endpointSets: endpointSetsFor("AzureCloud"), forcedSets: [] } as never,
        actions: [
          attestationAction({
            assignmentId: other,
            definitionReferenceId: null,
            mode: "apply",
            lifetime: { intervalInMs: 6 * HOUR },
            evidenceUri: null,
            client,
          }),
        ],
      },
      { logger },
    );
    const report = outcome.actions[0] as AttestationActionReport;
    assert.equal(report.counts.skipped, SUBNETS.length);
    assert.ok(
      report.items.every((i) => i.skipped === "outOfScope" || i.skipped === "notApplicable"),
    );
  });
});
