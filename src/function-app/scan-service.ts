import type { TokenCredential } from "@azure/identity";
import { DefaultAzureCredential } from "@azure/identity";
import { ContainerClient, type StoragePipelineOptions } from "@azure/storage-blob";
import type { Settings } from "../settings.js";
import { BlobRunStore, MemoryRunStore, type RunStore, type RunStoreOptions } from "./run-store.js";
import {
  BlobScanLock,
  MemoryScanLock,
  type BlobScanLockOptions,
  type ScanLock,
} from "./scan-lock.js";

export type { RunRecord, RunStore, RunStoreOptions } from "./run-store.js";
export type { ScanLock, ScanLockHandle } from "./scan-lock.js";

/**
 * What the functions share across invocations: the one-scan lock and the HTTP run records.
 * In Azure both live in the app's storage account (KMS_AUDIT_RUNS_BLOB_URL, set by the Bicep), so
 * every instance sees the same lock and any instance answers a poll; without that setting (a
 * local `func start`, tests) they live in this process's memory.
 */
export interface ScanService {
  lock: ScanLock;
  runs: RunStore;
}

/** Lock and run records in this process's memory. */
export function createScanService(options: RunStoreOptions = {}): ScanService {
  return { lock: new MemoryScanLock(), runs: new MemoryRunStore(options) };
}

/** Lock (a blob lease) and run records (blobs) in one container shared by every instance. */
export function createBlobScanService(
  container: ContainerClient,
  options: RunStoreOptions & BlobScanLockOptions & { maxRunInMs?: number } = {},
): ScanService {
  return {
    lock: new BlobScanLock(container, options),
    runs: new BlobRunStore(container, options),
  };
}

let memory: ScanService | undefined;
const byContainer = new Map<string, ScanService>();

/**
 * The service the registered functions share: on KMS_AUDIT_RUNS_BLOB_URL with the app's identity
 * when the settings name it, else in memory. One per container and process.
 */
export function instanceScanService(
  settings: Pick<Settings, "runsBlobUrl">,
  overrides: { credential?: TokenCredential; storageOptions?: StoragePipelineOptions } = {},
): ScanService {
  if (!settings.runsBlobUrl) {
    memory ??= createScanService();
    return memory;
  }
  const url = settings.runsBlobUrl.href;
  let service = byContainer.get(url);
  if (!service) {
    const container = new ContainerClient(
      url,
      overrides.credential ?? new DefaultAzureCredential(),
      overrides.storageOptions,
    );
    service = createBlobScanService(container);
    byContainer.set(url, service);
  }
  return service;
}
