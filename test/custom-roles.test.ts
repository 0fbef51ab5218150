import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

const root = new URL("../../", import.meta.url);
const bicep = readFileSync(new URL("infra/custom-roles.bicep", root), "utf8");
const role = (name: string) =>
  JSON.parse(readFileSync(new URL(`infra/roles/${name}.json`, root), "utf8")) as {
    Actions: string[];
    NotActions: string[];
  };

describe("custom roles", () => {
  it("the JSON definitions and the Bicep grant the same actions, and no write beyond routes", () => {
    for (const name of ["kms-route-audit-confirm", "kms-route-audit-remediate"]) {
      const { Actions, NotActions } = role(name);
      assert.deepEqual(NotActions, []);
      for (const action of Actions) assert.ok(bicep.includes(`'${action}'`), `${name}: ${action}`);
      for (const action of Actions)
        assert.ok(
          /\/(read|action)$/.test(action) ||
            action === "Microsoft.Network/routeTables/routes/write",
          action,
        );
    }
    assert.equal((bicep.match(/\/write'/g) ?? []).length, 1, "the only write is routes/write");
    assert.ok(!/delete/i.test(bicep.replace(/^\/\/.*$/gm, "").replace(/never deletes/g, "")));
  });
});
