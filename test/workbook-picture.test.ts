/** docs/workbook.svg (the README's picture of the workbook) matches infra/app/workbook.bicep. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { attestedStateOf } from "../src/policy/attestation-state.js";
import {
  demoRows,
  PICTURE,
  policyStateAfterAttestation,
  readPanels,
  renderWorkbook,
  rowPolicyState,
} from "../scripts/render-workbook.js";

describe("the workbook picture", () => {
  it("shows every panel of the deployed workbook, with its query's columns", async () => {
    const { panels } = await readPanels();
    assert.deepEqual(
      panels.map((p) => p.name),
      [
        "compliance-over-time",
        "by-subscription",
        "policy-states",
        "scanner-policy-states",
        "worst-subnets",
        "legacy-kms-only",
        "incomplete-runs",
      ],
    );
    for (const panel of panels) assert.ok(panel.columns.length > 1, `${panel.name} has columns`);
    const worst = panels.find((p) => p.name === "worst-subnets");
    assert.deepEqual(worst?.columns.slice(0, 3), ["SubnetName", "Status", "Severity"]);
    const svg = await renderWorkbook();
    for (const panel of panels) assert.ok(svg.includes(panel.title), panel.title);
  });

  it("puts Azure Policy and the scanner side by side, counted the same way", async () => {
    const { panels } = await readPanels();
    const policy = panels.find((p) => p.name === "policy-states");
    const scanner = panels.find((p) => p.name === "scanner-policy-states");
    assert.equal(policy?.source, "resourceGraph");
    assert.equal(policy?.file, "infra/queries/policy-states.arg.kql");
    assert.equal(scanner?.source, "logs");
    assert.deepEqual([policy?.width, scanner?.width], [50, 50]);
    assert.equal(panels.indexOf(scanner), panels.indexOf(policy) + 1);
    assert.deepEqual(policy?.columns, ["ComplianceState", "Subnets"]);
    assert.deepEqual(scanner?.columns, policy?.columns);
    for (const p of panels.filter((p) => p !== policy && p !== scanner)) {
      assert.equal(p.source, "logs", p.name);
      assert.equal(p.width, 100, p.name);
    }
    // The picture says where the Policy numbers come from.
    assert.match(await renderWorkbook(), /Demo: no Azure Policy behind this picture/);
  });

  it("maps a finding row to the state the attestation action writes for its finding", async () => {
    const { findings, runs, latest } = await demoRows();
    const rows = findings.filter((f) => f.RunId === runs.at(-1)?.RunId);
    assert.equal(rows.length, latest.length);
    for (const finding of latest) {
      const row = rows.find((r) => r.SubnetId === finding.subnetId);
      assert.ok(row, finding.subnetId);
      assert.equal(rowPolicyState(row), attestedStateOf(finding), finding.subnetName);
    }
    // The demo has a tag-exempt subnet (attested as its state without the exemption), platform
    // subnets (no state) and no Azure Policy exemption (which Policy would show as Exempt).
    assert.ok(latest.some((f) => f.exemption?.source === "tag" && attestedStateOf(f) !== null));
    assert.ok(latest.some((f) => policyStateAfterAttestation(f) === null));
    assert.ok(latest.every((f) => policyStateAfterAttestation(f) === attestedStateOf(f)));
  });

  it("is up to date (npm run render:workbook rewrites it)", async () => {
    assert.equal(await readFile(PICTURE, "utf8"), await renderWorkbook());
  });
});
