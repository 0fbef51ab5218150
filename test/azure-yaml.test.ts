/**
 * azure.yaml against azd's published schema (the vendored excerpt in infra/schemas), without
 * Bicep: check:infra repeats this with the compiled main.json to cross-check the parameters.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { checkAzd, validateAzureYaml } from "../scripts/azd-check.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("azure.yaml", () => {
  it("is valid against azd's schema and deploys the package folder to the api service", async () => {
    assert.deepEqual(await checkAzd(ROOT, undefined), []);
  });

  it("the schema refuses what azd refuses", async () => {
    const good = await readFile(new URL("../../azure.yaml", import.meta.url), "utf8");
    const cases: [string, RegExp][] = [
      [
        good.replace("name: kms-route-audit", "name: KMS_Route_Audit"),
        /\/name: must match pattern/,
      ],
      [
        good.replace("host: function", "host: containerapp"),
        /remoteBuild: boolean schema is false/,
      ],
      [good.replace("    project: .\n", ""), /must have required property 'project'/],
      [
        good.replace("          shell: sh\n", "          shell: bash\n"),
        /shell: must be equal to one of/,
      ],
      ["name: x\nservices: {}\n", /\/name: must NOT have fewer than 2 characters/],
      ["name: [unclosed\n", /not valid YAML/],
    ];
    for (const [text, expected] of cases) {
      const problems = await validateAzureYaml(ROOT, text);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${expected} in ${JSON.stringify(problems)}`,
      );
    }
  });
});
