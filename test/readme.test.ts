import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { REASONS } from "../src/reasons.js";
import { FORMATS } from "../src/outputs/format.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("documents every reason code", () => {
    for (const code of Object.keys(REASONS))
      assert.match(readme, new RegExp(`^\\| \`${code}\` +\\|`, "m"), `README lacks ${code}`);
  });
  it("documents every output format", () => {
    for (const format of FORMATS)
      assert.ok(readme.includes(`\`${format}\``), `README lacks format ${format}`);
  });
  it("gives a newcomer exactly the two commands", () => {
    assert.match(readme, /```bash\nnpm ci && npm run demo\nnpm test\n```/);
  });
  it("leads with what it does, the two commands, then how to deploy: azd, then manual", () => {
    const at = (text: string) => {
      const i = readme.indexOf(text);
      assert.ok(i >= 0, `README lacks ${text}`);
      return i;
    };
    const order = [
      at("# kms-route-audit\n\nAudits a whole Azure tenant"),
      at("npm ci && npm run demo\nnpm test"),
      at("## Deploy to Azure"),
      at("azd up"),
      at("az functionapp deployment source config-zip"),
      at("## Worked example"),
    ];
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
    );
    const headings = readme.match(/^## .+$/gm) ?? [];
    assert.equal(headings[0], "## Quick start");
    assert.equal(headings[1], "## Deploy to Azure");
  });
  it("documents the roles, the cost, the workbook picture, the runbook and the package size", () => {
    for (const text of [
      "### Roles it grants, and the roles you need to deploy",
      "### What it costs per month",
      "per 10k findings",
      "![The KMS activation routes workbook over the demo estate](docs/workbook.svg)",
      "### When an alert fires",
      "9.0 MB zip",
      "npm install -g ./kms-route-audit-*.tgz",
      "kms-route-audit export --output estate.ndjson",
      "azure-functions-core-tools@4",
    ])
      assert.ok(readme.includes(text), `README lacks ${text}`);
  });
});
