/** npm start without Azure Functions Core Tools: one line saying how to install them, exit 1. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { HANG_GUARD_MS } from "../kit/support/hang-guard.js";

const SCRIPT = fileURLToPath(new URL("../scripts/start-local.js", import.meta.url));

describe("npm start", () => {
  it("without Core Tools on PATH: exit 1 and one line on how to install them", () => {
    const run = spawnSync(process.execPath, [SCRIPT], {
      encoding: "utf8",
      env: { PATH: dirname(process.execPath) },
      timeout: HANG_GUARD_MS,
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(
      run.stderr,
      /^kms-route-audit: start: Azure Functions Core Tools \(func\) not found/,
    );
    assert.match(run.stderr, /azure-functions-core-tools@4/);
    assert.equal(run.stderr.trim().split("\n").length, 1);
  });
});
