import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_SCHEDULE, readSettings } from "../src/settings.js";

const LA = {
  KMS_AUDIT_LOGS_ENDPOINT: "https://dcr-x.westeurope-1.ingest.monitor.azure.com",
  KMS_AUDIT_DCR_ID: "dcr-0123456789abcdef0123456789abcdef",
};

describe("settings", () => {
  it("has documented defaults", () => {
    const s = readSettings({ XDG_STATE_HOME: "/var/state" });
    assert.equal(s.cloud, "AzureCloud");
    assert.equal(s.schedule, DEFAULT_SCHEDULE);
    assert.equal(s.findingsStream, "Custom-KmsRouteAudit_CL");
    assert.equal(s.runsStream, "Custom-KmsRouteAuditRun_CL");
    assert.equal(s.logLevel, "info");
    assert.deepEqual([s.subscriptions, s.managementGroups], [[], []]);
    assert.equal(s.armEndpoint, null);
    assert.equal(s.pendingBlobUrl, null);
    assert.equal(s.runsBlobUrl, null, "run records and the scan lock in memory");
    assert.equal(s.pendingDirectory, "/var/state/kms-route-audit/pending");
    assert.equal(s.confirmGatewayRoutes, false);
    assert.equal(s.remediation, "off");
  });

  it("parses lists, clouds in any case and URLs", () => {
    const s = readSettings({
      ...LA,
      KMS_AUDIT_CLOUD: "azureusgovernment",
      KMS_AUDIT_SUBSCRIPTIONS:
        " 0f1e2d3c-4b5a-4969-8877-665544332211 , a1b2c3d4-e5f6-4a5b-9c8d-7e6f5a4b3c2d,",
      KMS_AUDIT_MANAGEMENT_GROUPS: "contoso,landing-zones(corp)",
      KMS_AUDIT_PENDING_BLOB_URL: "https://st.blob.core.windows.net/pending",
      KMS_AUDIT_RUNS_BLOB_URL: "https://st.blob.core.windows.net/scan-runs",
    });
    assert.equal(s.cloud, "AzureUSGovernment");
    assert.equal(s.subscriptions.length, 2);
    assert.deepEqual(s.managementGroups, ["contoso", "landing-zones(corp)"]);
    assert.equal(s.pendingBlobUrl?.href, "https://st.blob.core.windows.net/pending");
    assert.equal(s.runsBlobUrl?.href, "https://st.blob.core.windows.net/scan-runs");
    assert.equal(s.dcrId, LA.KMS_AUDIT_DCR_ID);
  });

  const bad: [string, Record<string, string>][] = [
    ["KMS_AUDIT_CLOUD", { KMS_AUDIT_CLOUD: "Mars" }],
    ["KMS_AUDIT_ARM_ENDPOINT", { KMS_AUDIT_ARM_ENDPOINT: "http://management.azure.com" }],
    ["KMS_AUDIT_RUNS_BLOB_URL", { KMS_AUDIT_RUNS_BLOB_URL: "http://st.blob.core.windows.net/r" }],
    ["KMS_AUDIT_SUBSCRIPTIONS", { KMS_AUDIT_SUBSCRIPTIONS: "not-a-guid" }],
    ["KMS_AUDIT_MANAGEMENT_GROUPS", { KMS_AUDIT_MANAGEMENT_GROUPS: "bad/mg" }],
    ["KMS_AUDIT_SCHEDULE", { KMS_AUDIT_SCHEDULE: "every 6 hours" }],
    ["KMS_AUDIT_LOGS_ENDPOINT", { KMS_AUDIT_DCR_ID: LA.KMS_AUDIT_DCR_ID }],
    ["KMS_AUDIT_DCR_ID", { KMS_AUDIT_LOGS_ENDPOINT: LA.KMS_AUDIT_LOGS_ENDPOINT }],
    ["KMS_AUDIT_DCR_ID", { ...LA, KMS_AUDIT_DCR_ID: "dcr-123" }],
    ["KMS_AUDIT_FINDINGS_STREAM", { KMS_AUDIT_FINDINGS_STREAM: "KmsRouteAudit_CL" }],
    ["KMS_AUDIT_RUNS_STREAM", { KMS_AUDIT_RUNS_STREAM: "Custom-bad name" }],
    ["KMS_AUDIT_LOG_LEVEL", { KMS_AUDIT_LOG_LEVEL: "loud" }],
    ["KMS_AUDIT_PENDING_DIR", { KMS_AUDIT_PENDING_DIR: "relative/dir" }],
    [
      "KMS_AUDIT_PENDING_BLOB_URL",
      { KMS_AUDIT_PENDING_BLOB_URL: "http://st.blob.core.windows.net/p" },
    ],
    ["KMS_AUDIT_CONFIRM_GATEWAY_ROUTES", { KMS_AUDIT_CONFIRM_GATEWAY_ROUTES: "yes" }],
    ["KMS_AUDIT_REMEDIATION", { KMS_AUDIT_REMEDIATION: "fix-it" }],
    ["KMS_AUDIT_VERIFY_EFFECTIVE_ROUTES", { KMS_AUDIT_VERIFY_EFFECTIVE_ROUTES: "1" }],
  ];
  for (const [setting, env] of bad) {
    it(`refuses a malformed ${setting}, naming it`, () => {
      assert.throws(
        () => readSettings(env),
        (error: Error) =>
          error.name === "SettingsError" && error.message.startsWith(`setting ${setting}:`),
      );
    });
  }
});
