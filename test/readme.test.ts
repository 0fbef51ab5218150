import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { REASONS } from "../src/audit/reasons.js";
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
});
