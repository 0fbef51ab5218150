import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ContainerClient } from "@azure/storage-blob";
import { SettingsError, describeError } from "../src/errors.js";
import { createBlobPendingStore } from "../src/outputs/log-analytics/index.js";
import { MAX_MESSAGE_CHARS, escapeControl, redact, redactUrl, safeLine } from "../src/redact.js";
import { readSettings } from "../src/settings.js";

const SAS =
  "sv=2025-01-05&ss=b&srt=co&sp=rwdlac&se=2027-01-01T00:00:00Z&st=2026-01-01T00:00:00Z&spr=https&sig=Zm9vYmFyYmF6cXV4%2Bsecret%3D";
const SECRETS = [
  "Zm9vYmFyYmF6cXV4",
  "hunter2",
  "s3cr3t-v4lue",
  "eyJhbGciOi",
  "abcdefghijklmnopqrstu",
];

function assertNoSecret(text: string) {
  for (const s of SECRETS) assert.ok(!text.includes(s), `"${s}" leaked in: ${text}`);
}

void describe("redact", () => {
  void it("SAS query parameters, the signature and the grant", () => {
    const text = redact(`cannot list https://acct.blob.core.windows.net/pending?${SAS}: 403`);
    assertNoSecret(text);
    assert.match(
      text,
      /^cannot list https:\/\/acct\.blob\.core\.windows\.net\/pending\?sv=REDACTED&/,
    );
    assert.match(text, /sig=REDACTED: 403$/);
    // A signature outside a query string is still a signature.
    assertNoSecret(redact("SharedAccessSignature=sv=1&sig=Zm9vYmFyYmF6cXV4"));
  });

  void it("user:password@ in URLs, bearer tokens, JWTs, client secrets and keys", () => {
    const cases = [
      "proxy https://admin:hunter2@proxy.example:8080/ refused",
      "https://hunter2@example.test/x",
      "Authorization: Bearer abcdefghijklmnopqrstu.vwxyz",
      "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl expired",
      "AADSTS7000215: Invalid client secret. client_secret=s3cr3t-v4lue&scope=x",
      '{"clientSecret":"s3cr3t-v4lue","tenantId":"t"}',
      "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=hunter2==;EndpointSuffix=core",
      "https://func.example/api/scan?code=hunter2&format=json",
      "password: hunter2",
    ];
    for (const c of cases) assertNoSecret(redact(c));
    assert.equal(redact(cases[0]!), "proxy https://REDACTED@proxy.example:8080/ refused");
    assert.match(redact(cases[7]!), /\?code=REDACTED&format=json$/);
  });

  void it("leaves ordinary messages alone", () => {
    for (const text of [
      'armEndpoint "http://127.0.0.1:1" must be https:// (bearer tokens need TLS)',
      "Resource Graph resources query, tenant, page 2 failed: HTTP 503 ServiceUnavailable",
      "skip token does not belong to this query and scope",
      '{"error":{"code":"AuthorizationFailed","message":"no"}}',
      "estate.json: line 4 is not valid JSON",
    ]) {
      assert.equal(redact(text), text);
    }
  });

  void it("redactUrl keeps scheme, host and path", () => {
    assert.equal(
      redactUrl(new URL(`https://u:hunter2@acct.blob.core.windows.net/c?${SAS}`)),
      "https://REDACTED@acct.blob.core.windows.net/c?sv=REDACTED&ss=REDACTED&srt=REDACTED&sp=REDACTED&se=REDACTED&st=REDACTED&spr=REDACTED&sig=REDACTED",
    );
  });
});

void describe("escapeControl and safeLine", () => {
  void it("writes ESC, BEL, NUL, CR, LF, TAB, DEL, C1 and bidi overrides as escapes", () => {
    assert.equal(
      escapeControl("a\u001b[31mred\u0007\u0000b\r\n\t\u007f\u009b\u202eevil\u2028"),
      "a\\x1b[31mred\\x07\\x00b\\r\\n\\t\\x7f\\x9b\\u202eevil\\u2028",
    );
    assert.equal(escapeControl("snet-app, vnet/ü €"), "snet-app, vnet/ü €");
  });

  void it("safeLine: one line, redacted, escaped, bounded", () => {
    const line = safeLine(`first\n  second\r\n\u001b]0;title\u0007 https://a:hunter2@h/`);
    assert.equal(line, "first second \\x1b]0;title\\x07 https://REDACTED@h/");
    const long = safeLine("x".repeat(MAX_MESSAGE_CHARS + 10));
    assert.ok(long.length < MAX_MESSAGE_CHARS + 40);
    assert.match(long, /\(10 more characters\)$/);
  });
});

void describe("redaction at the boundaries", () => {
  void it("a malformed setting that holds a SAS or a password is named without it", () => {
    const envs = [
      { KMS_AUDIT_PENDING_BLOB_URL: `http://acct.blob.core.windows.net/c?${SAS}` },
      { KMS_AUDIT_LOGS_ENDPOINT: "ftp://user:hunter2@dce.example/", KMS_AUDIT_DCR_ID: "dcr-x" },
      { KMS_AUDIT_ARM_ENDPOINT: "not a url with password=hunter2" },
    ];
    for (const env of envs) {
      assert.throws(
        () => readSettings(env),
        (e: Error) => {
          assert.ok(e instanceof SettingsError, e.message);
          assertNoSecret(e.message);
          assertNoSecret(describeError(e));
          return true;
        },
      );
    }
  });

  void it("describeError redacts what a client library put in its message", () => {
    assertNoSecret(
      describeError(new Error(`PUT https://acct.blob.core.windows.net/c/x?${SAS} failed`)),
    );
    assertNoSecret(describeError("Bearer abcdefghijklmnopqrstu"));
  });

  void it("the blob pending store names its container without the SAS", () => {
    const store = createBlobPendingStore(
      new ContainerClient(`https://acct.blob.core.windows.net/pending?${SAS}`),
    );
    assertNoSecret(store.location);
    assert.match(store.location, /^https:\/\/acct\.blob\.core\.windows\.net\/pending\?/);
  });
});
