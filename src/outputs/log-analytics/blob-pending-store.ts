import type { TokenCredential } from "@azure/identity";
import { ContainerClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { redactUrl } from "../../redact.js";
import { describeError } from "../../errors.js";
import {
  checkId,
  isBatchId,
  parseBatch,
  PendingStoreError,
  type PendingBatch,
  type PendingStore,
} from "./pending-store.js";

const PREFIX = "pending/";

function blobName(id: string): string {
  return `${PREFIX}${checkId(id)}.json`;
}

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number }).statusCode === 404;
}

/**
 * Pending batches as blobs in a container of the Function App's own storage account, so rows
 * that could not be delivered survive the instance (Flex Consumption has no lasting local disk).
 * A single-shot upload is atomic: a reader sees the whole batch or none of it.
 */
export function createBlobPendingStore(container: ContainerClient): PendingStore {
  // A container URL may carry a SAS: messages name the container, never the signature.
  const location = redactUrl(container.url);
  return {
    location,
    async list(onCorrupt, onForeign) {
      const names: string[] = [];
      try {
        for await (const blob of container.listBlobsFlat({ prefix: PREFIX })) names.push(blob.name);
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
      const batches: PendingBatch[] = [];
      for (const name of names.sort()) {
        const id = name.endsWith(".json") ? name.slice(PREFIX.length, -".json".length) : null;
        if (id === null || !isBatchId(id)) {
          // E.g. pending/sub/x.json or pending/batch.copy.json: not written by this store.
          onForeign?.(name, "not a pending batch name (pending/<id>.json); left alone");
          continue;
        }
        let text: string;
        try {
          text = (await container.getBlockBlobClient(name).downloadToBuffer()).toString("utf8");
        } catch (error) {
          if (isNotFound(error)) continue; // removed since it was listed
          onForeign?.(name, `cannot be read (${describeError(error)}); left alone`);
          continue;
        }
        const batch = parseBatch(text, id);
        if (typeof batch !== "string") {
          batches.push(batch);
          continue;
        }
        // Set aside under corrupt/, out of the way of later runs.
        try {
          const aside = container.getBlockBlobClient(`corrupt/${id}.json`);
          await aside.upload(text, Buffer.byteLength(text));
          await container.getBlockBlobClient(name).deleteIfExists();
          onCorrupt?.(id, batch);
        } catch (error) {
          onCorrupt?.(id, `${batch}; could not be set aside (${describeError(error)})`);
        }
      }
      return batches;
    },
    async put(batch) {
      const name = blobName(batch.id);
      try {
        await container.createIfNotExists();
        const body = JSON.stringify(batch);
        await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: "application/json" },
        });
      } catch (error) {
        throw new PendingStoreError(
          `pending store ${location} cannot be written: ${describeError(error)}`,
          { cause: error },
        );
      }
    },
    async remove(id) {
      await container.getBlockBlobClient(blobName(id)).deleteIfExists();
    },
  };
}

/** The store on `KMS_AUDIT_PENDING_BLOB_URL` (a container URL), reached with the app's identity. */
export function createBlobPendingStoreFromUrl(
  containerUrl: string | URL,
  credential: TokenCredential,
  options?: StoragePipelineOptions,
): PendingStore {
  return createBlobPendingStore(new ContainerClient(String(containerUrl), credential, options));
}
