import { readFile } from "node:fs/promises";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import {
  AnonymousCredential,
  BlobClient,
  type StoragePipelineOptions,
  type StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { InputError, describeError } from "../errors.js";

/**
 * Where a catalog file (endpoints, service tags, declarations) comes from: a local path, or a
 * blob URL, so a Function App, whose package holds no user files, can be given one. A blob URL
 * with a SAS (`sig=`) is read with it; without, with the app's identity (Storage Blob Data Reader
 * on the container; the app's own storage account already grants it).
 */
export interface CatalogBlobAccess {
  /** Default: DefaultAzureCredential. Tests: Azurite's shared key. */
  credential?: TokenCredential | StorageSharedKeyCredential;
  clientOptions?: StoragePipelineOptions;
}

/** The largest catalog file read (Azure's weekly service-tag file is ~5 MB). */
export const MAX_CATALOG_BYTES = 64 * 1024 * 1024;

export function isBlobUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** A blob URL as messages show it: without its query (a SAS is a credential). */
export function blobName(location: string): string {
  const url = new URL(location);
  return `${url.origin}${url.pathname}`;
}

/** The text of a catalog file, named for messages; InputError naming it when it cannot be read. */
export async function readCatalogText(
  location: string,
  what: string,
  access: CatalogBlobAccess = {},
): Promise<{ name: string; text: string }> {
  if (!isBlobUrl(location)) {
    try {
      return { name: location, text: await readFile(location, "utf8") };
    } catch (error) {
      throw new InputError(`${location}: cannot read ${what}: ${describeError(error)}`);
    }
  }
  const name = blobName(location);
  const url = new URL(location);
  const credential = url.searchParams.has("sig")
    ? new AnonymousCredential()
    : (access.credential ?? new DefaultAzureCredential());
  const client = new BlobClient(location, credential, access.clientOptions);
  let size: number | undefined;
  try {
    size = (await client.getProperties()).contentLength;
  } catch (error) {
    throw new InputError(`${name}: cannot read ${what}: ${describeError(error)}`);
  }
  if (size !== undefined && size > MAX_CATALOG_BYTES)
    throw new InputError(
      `${name}: ${what} is ${size} bytes, more than the ${MAX_CATALOG_BYTES} a catalog file may have`,
    );
  try {
    return { name, text: (await client.downloadToBuffer()).toString("utf8") };
  } catch (error) {
    throw new InputError(`${name}: cannot read ${what}: ${describeError(error)}`);
  }
}
