/**
 * Issue 12, item 1: the Functions get everything the CLI's catalog flags give, a catalog file
 * given as a blob URL included (a Function App's package holds no user files). The real
 * BlobClient against Azurite: with a credential (the app's identity; Azurite's shared key here)
 * or the URL's own SAS; unreadable blobs are a named error without the SAS.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { ContainerSASPermissions, StorageSharedKeyCredential } from "@azure/storage-blob";
import { loadCatalog, type CatalogInputs } from "../src/catalog/catalog.js";
import { InputError, SettingsError } from "../src/errors.js";
import { runAudit } from "../src/run-audit.js";
import { readSettings } from "../src/settings.js";
import { createEstateFileSource } from "../src/sources/files/estate-files.js";
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from "./support/azurite.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DECLARATIONS = path.join(ROOT, "samples", "declarations.json");
let azurite: Azurite;
let blobUrl: string;

before(async () => {
  azurite = await startAzurite();
  const container = azurite.container("catalog");
  await container.create();
  const text = await readFile(DECLARATIONS, "utf8");
  await container.getBlockBlobClient("declarations.json").upload(text, Buffer.byteLength(text));
  blobUrl = `${container.url}/declarations.json`;
});
after(() => azurite.close());

const sharedKey = () => new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);

function inputs(declarationsFile: string, extra: Partial<CatalogInputs> = {}): CatalogInputs {
  return {
    cloud: "AzureCloud",
    endpointsFile: null,
    serviceTagsFile: null,
    declarationsFile,
    endpointSets: [],
    ...extra,
  };
}

async function statuses(declarationsFile: string, extra: Partial<CatalogInputs> = {}) {
  const catalog = await loadCatalog(inputs(declarationsFile, extra));
  const { result } = await runAudit(
    {
      source: createEstateFileSource([path.join(ROOT, "samples", "demo-estate.json")]),
      cloud: "AzureCloud",
      catalog,
    },
    { logger: pino({ level: "silent" }) },
  );
  return {
    counts: result.run.counts,
    byId: result.findings.map((f) => [f.subnetId, f.status]),
    details: result.findings.flatMap((f) =>
      f.endpoints.flatMap((e) => e.path.map((h) => h.detail)),
    ),
  };
}

void describe("catalog files as blobs", () => {
  it("a declarations blob read with a credential judges as the file does, and names the blob", async () => {
    const fromFile = await statuses(DECLARATIONS);
    const fromBlob = await statuses(blobUrl, { blob: { credential: sharedKey() } });
    assert.deepEqual(fromBlob.counts, fromFile.counts);
    assert.deepEqual(fromBlob.byId, fromFile.byId);
    assert.ok(fromBlob.details.some((d) => d.includes(`${blobUrl} appliances[0]`)));
  });

  it("a SAS URL is read with its SAS; its signature never reaches a message", async () => {
    const container = azurite.container("catalog");
    const sas = await container.generateSasUrl({
      permissions: ContainerSASPermissions.parse("r"),
      expiresOn: new Date(Date.now() + 3600_000),
    });
    const at = (blob: string) => sas.replace("/catalog?", `/catalog/${blob}?`);
    const read = await loadCatalog(inputs(at("declarations.json")));
    assert.equal(read.declarations?.byResource.size, 2);
    for (const s of [...(read.declarations?.byResource.values() ?? [])])
      assert.ok(!s.source.includes("sig="), s.source);
    await assert.rejects(loadCatalog(inputs(at("missing.json"))), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /\/catalog\/missing\.json: cannot read declarations file: /);
      assert.ok(!e.message.includes("sig="), e.message);
      return true;
    });
  });

  it("a blob that cannot be read is an input error naming it", async () => {
    await assert.rejects(
      loadCatalog(
        inputs(`${azurite.container("catalog").url}/nope.json`, {
          blob: { credential: sharedKey() },
        }),
      ),
      (e: unknown) =>
        e instanceof InputError &&
        e.message.includes("/catalog/nope.json: cannot read declarations file"),
    );
  });

  it("settings take a path or an https:// URL, and name the setting otherwise", () => {
    const https = "https://stkms.blob.core.windows.net/catalog/ServiceTags_Public.json";
    assert.equal(readSettings({ KMS_AUDIT_SERVICE_TAGS_FILE: https }).serviceTagsFile, https);
    assert.equal(
      readSettings({ KMS_AUDIT_ENDPOINTS_FILE: "/home/site/catalog/endpoints.json" }).endpointsFile,
      "/home/site/catalog/endpoints.json",
    );
    assert.throws(
      () =>
        readSettings({
          KMS_AUDIT_DECLARATIONS_FILE:
            "http://stkms.blob.core.windows.net/c/d.json?sv=1&sig=SECRETSIG",
        }),
      (e: unknown) =>
        e instanceof SettingsError &&
        e.message.includes("KMS_AUDIT_DECLARATIONS_FILE") &&
        !e.message.includes("SECRETSIG"),
    );
  });
});
