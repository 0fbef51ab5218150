/**
 * Issue 15, item 5: what reaches a terminal, a log or an HTTP answer. Control characters in data
 * are printed escaped; secrets in settings, URLs and other services' answers are redacted. The
 * CLI runs as the real binary; the HTTP function is the real handler.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createHttpScanHandlers } from "../src/function-app/http-scan-handlers.js";
import { createScanService } from "../src/function-app/scan-service.js";
import { anInvocation, bodyJson, get } from "./functions/support.js";
import { describeRun, runCli } from "./support/cli-process.js";
import { EstateBuilder } from "./support/estate-builder.js";

const SAS = "sv=2025-01-05&sp=rwdl&se=2027-01-01&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";
const SECRETS = ["c2VjcmV0LXNpZ25hdHVyZQ", "hunter2", "tok-3f9a8b7c6d5e4f3a2b1c0d"];
// The raw bytes a hostile name or answer could carry: ESC (terminal commands), BEL, NUL, CR.
// eslint-disable-next-line no-control-regex -- looking for raw control characters
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "kms-safety-"));
});
after(() => rm(tmp, { recursive: true, force: true }));

function assertNoSecret(text: string) {
  for (const s of SECRETS) assert.ok(!text.includes(s), `"${s}" leaked in: ${text}`);
}

void describe("what reaches a terminal", () => {
  void it("table: control characters in resource names are printed escaped", async () => {
    const b = new EstateBuilder();
    const rt = b.routeTable("rt-\u001b]0;pwned\u0007", [["0.0.0.0/0", "None"]]);
    b.vnet("vnet-\u001b[2J\u001b[31m", [{ name: "snet\u0000\r-x", routeTable: rt }]);
    const file = path.join(tmp, "hostile-names.json");
    await writeFile(file, JSON.stringify(b.rows));
    const r = await runCli(["scan", "--input", file], {}, { cwd: tmp });
    assert.equal(r.code, 0, describeRun(r));
    assert.doesNotMatch(r.stdout, RAW_CONTROL, "no raw control character on stdout");
    assert.ok(r.stdout.includes("vnet-\\x1b[2J\\x1b[31m/snet\\x00\\r-x"), r.stdout);
    assert.ok(r.stdout.includes("rt-\\x1b]0;pwned\\x07"), r.stdout);
  });

  void it("an error line about a binary file is one line, its bytes escaped", async () => {
    const file = path.join(tmp, "binary.json");
    await writeFile(file, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 7, 27]));
    const r = await runCli(["scan", "--input", file], {}, { cwd: tmp });
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /^kms-route-audit: [^\n]+\n$/, "exactly one line");
    assert.doesNotMatch(r.stderr.slice(0, -1), RAW_CONTROL);
    assert.ok(r.stderr.includes(file), r.stderr);
  });

  void it("a malformed setting holding a SAS is named on stderr without the signature", async () => {
    const r = await runCli(
      ["scan", "--demo"],
      { KMS_AUDIT_PENDING_BLOB_URL: `http://acct.blob.core.windows.net/c?${SAS}` },
      { cwd: tmp },
    );
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /KMS_AUDIT_PENDING_BLOB_URL/);
    assertNoSecret(r.stderr);
  });

  void it("a token endpoint's error text: one line, no secret, no raw control character", async () => {
    // A managed-identity endpoint that answers with a hostile, secret-bearing error.
    const server: Server = createServer((_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: "invalid_client",
          error_description:
            "AADSTS7000215: bad client_secret=hunter2 for https://u:hunter2@login.example/\n" +
            "Authorization: Bearer tok-3f9a8b7c6d5e4f3a2b1c0d\u001b[31m\u0007",
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await runCli(
        ["scan", "--subscription", "00000000-0000-4000-8000-000000000001"],
        {
          IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`,
          IDENTITY_HEADER: "hunter2",
          KMS_AUDIT_ARM_ENDPOINT: "https://127.0.0.1:1",
        },
        { cwd: tmp },
      );
      assert.equal(r.code, 3, describeRun(r));
      assert.match(r.stderr, /^kms-route-audit: scan failed: [^\n]+\n$/, describeRun(r));
      assertNoSecret(r.stderr);
      assert.doesNotMatch(r.stderr.slice(0, -1), RAW_CONTROL);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

void describe("what reaches an HTTP answer", () => {
  void it("a malformed setting holding a SAS or a password: 500 names it, without the secret", async () => {
    for (const env of [
      { KMS_AUDIT_PENDING_BLOB_URL: `http://acct.blob.core.windows.net/c?${SAS}` },
      { KMS_AUDIT_ARM_ENDPOINT: "http://admin:hunter2@arm.example/" },
    ]) {
      const { scan } = createHttpScanHandlers({ env, service: createScanService() });
      const { context, lines } = anInvocation("httpScan");
      const response = await scan(get("/api/scan"), context);
      assert.equal(response.status, 500);
      const problem = bodyJson<{ detail: string }>(response);
      assert.match(problem.detail, new RegExp(Object.keys(env)[0]!));
      assertNoSecret(JSON.stringify(response));
      assertNoSecret(lines.map((l) => l.text).join("\n"));
    }
  });
});
