/** docs/workbook.svg (the README's picture of the workbook) matches infra/app/workbook.bicep. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { PICTURE, readPanels, renderWorkbook } from "../scripts/render-workbook.js";

describe("the workbook picture", () => {
  it("shows every panel of the deployed workbook, with its query's columns", async () => {
    const { panels } = await readPanels();
    assert.deepEqual(
      panels.map((p) => p.name),
      [
        "compliance-over-time",
        "by-subscription",
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

  it("is up to date (npm run render:workbook rewrites it)", async () => {
    assert.equal(await readFile(PICTURE, "utf8"), await renderWorkbook());
  });
});
