import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { describeError } from "../errors.js";

/**
 * One tenant-wide audit at a time, across every instance of the Function App (Resource Graph's
 * quota is per identity, and an audit holds the whole estate in memory). HTTP requests try and
 * get 429 when it is taken; the timer waits its turn.
 */
export interface ScanLock {
  /** Where the lock lives, for logs: "memory" or a blob URL. */
  readonly location: string;
  /** The lock for `runId`, or null when another scan holds it. */
  tryAcquire(runId: string): Promise<ScanLockHandle | null>;
  /** Waits until the lock is free and takes it; rejects when `signal` aborts first. */
  acquire(runId: string, options?: AcquireOptions): Promise<ScanLockHandle>;
  /** Whether the scan `runId` still holds the lock (false once it ended, or its instance died). */
  holds(runId: string): Promise<boolean>;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** Told once, when the lock is taken and this call starts waiting. */
  onWait?: () => void;
}

export interface ScanLockHandle {
  readonly runId: string;
  /** Aborts when the lock was lost (its lease could not be renewed): stop the scan. */
  readonly signal: AbortSignal;
  /** Frees the lock; calling it again does nothing. */
  release(): Promise<void>;
}

/** The lock of a single process (local runs and tests without storage). */
export class MemoryScanLock implements ScanLock {
  readonly location = "memory";
  private holder: string | null = null;
  private freed: Promise<void> = Promise.resolve();

  tryAcquire(runId: string): Promise<ScanLockHandle | null> {
    return Promise.resolve(this.holder === null ? this.take(runId) : null);
  }

  async acquire(runId: string, options: AcquireOptions = {}): Promise<ScanLockHandle> {
    let told = false;
    while (this.holder !== null) {
      if (!told) options.onWait?.();
      told = true;
      options.signal?.throwIfAborted();
      const aborted = new Promise<never>((_, reject) => {
        options.signal?.addEventListener("abort", () => reject(options.signal?.reason as Error), {
          once: true,
        });
      });
      await (options.signal ? Promise.race([this.freed, aborted]) : this.freed);
    }
    return this.take(runId);
  }

  holds(runId: string): Promise<boolean> {
    return Promise.resolve(this.holder === runId);
  }

  private take(runId: string): ScanLockHandle {
    this.holder = runId;
    let done!: () => void;
    this.freed = new Promise<void>((resolve) => (done = resolve));
    let released = false;
    return {
      runId,
      signal: new AbortController().signal,
      release: () => {
        if (!released) {
          released = true;
          this.holder = null;
          done();
        }
        return Promise.resolve();
      },
    };
  }
}

export interface BlobScanLockOptions {
  /** Blob name of the lock inside the container. Default "locks/tenant-scan". */
  blobName?: string;
  /**
   * Lease duration, 15..60 s: how long the lock outlives a holder that died without releasing
   * it. Default 30 s. The holder renews it every third of that while it runs.
   */
  leaseSeconds?: number;
  /** How often a waiting acquire() tries again. Default 15 s. */
  retryInMs?: number;
  /** Names this instance in the lock's metadata (logs, support). Default WEBSITE_INSTANCE_ID or a UUID. */
  holder?: string;
  now?: () => Date;
  /** Waits; injectable for tests. Must reject when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told when a held lease could not be renewed (the scan is then aborted). */
  onLost?: (runId: string, error: unknown) => void;
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

function codeOf(error: unknown): string | undefined {
  const e = error as { code?: string; details?: { errorCode?: string } };
  return e.details?.errorCode ?? e.code;
}

/**
 * The lock as a blob lease in the app's own storage account (reached with its managed identity;
 * Storage Blob Data Owner). Taking the lock acquires a lease of `leaseSeconds` on one blob and
 * writes the run ID into the blob's metadata; the holder renews the lease every third of its
 * duration while the scan runs and releases it at the end. A holder that dies stops renewing,
 * and the lease expires after at most `leaseSeconds`: the next scan can start, and a poll of the
 * dead run sees that it no longer holds the lock.
 */
export class BlobScanLock implements ScanLock {
  readonly location: string;
  private readonly blob: BlockBlobClient;
  private readonly leaseSeconds: number;
  private readonly retryInMs: number;
  private readonly holder: string;
  private readonly now: () => Date;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private ready: Promise<void> | null = null;

  constructor(
    private readonly container: ContainerClient,
    private readonly options: BlobScanLockOptions = {},
  ) {
    this.blob = container.getBlockBlobClient(options.blobName ?? "locks/tenant-scan");
    this.location = this.blob.url;
    this.leaseSeconds = options.leaseSeconds ?? 30;
    if (!Number.isInteger(this.leaseSeconds) || this.leaseSeconds < 15 || this.leaseSeconds > 60) {
      throw new RangeError(
        `leaseSeconds must be an integer from 15 to 60; got ${this.leaseSeconds}`,
      );
    }
    this.retryInMs = options.retryInMs ?? 15_000;
    this.holder = options.holder ?? process.env.WEBSITE_INSTANCE_ID ?? randomUUID();
    this.now = options.now ?? (() => new Date());
    this.sleep =
      options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  }

  /** The container and the (empty) lock blob exist; created once per process. */
  private ensureBlob(): Promise<void> {
    this.ready ??= (async () => {
      await this.container.createIfNotExists();
      try {
        await this.blob.upload("", 0, { conditions: { ifNoneMatch: "*" } });
      } catch (error) {
        // Already there (409 BlobAlreadyExists; 412 while someone holds its lease).
        if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
      }
    })().catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  async tryAcquire(runId: string): Promise<ScanLockHandle | null> {
    await this.ensureBlob();
    const lease = this.blob.getBlobLeaseClient(randomUUID());
    try {
      await lease.acquireLease(this.leaseSeconds);
    } catch (error) {
      if (statusOf(error) === 409) return null; // LeaseAlreadyPresent: another scan holds it
      throw error;
    }
    const leaseId = lease.leaseId;
    try {
      await this.blob.setMetadata(
        { runid: runId, holder: this.holder, acquiredat: this.now().toISOString() },
        { conditions: { leaseId } },
      );
    } catch (error) {
      await lease.releaseLease().catch(() => undefined);
      throw error;
    }
    return this.renewWhileHeld(runId, lease);
  }

  async acquire(runId: string, options: AcquireOptions = {}): Promise<ScanLockHandle> {
    let told = false;
    for (;;) {
      options.signal?.throwIfAborted();
      const handle = await this.tryAcquire(runId);
      if (handle) return handle;
      if (!told) options.onWait?.();
      told = true;
      await this.sleep(this.retryInMs, options.signal);
    }
  }

  async holds(runId: string): Promise<boolean> {
    try {
      const properties = await this.blob.getProperties();
      return properties.leaseStatus === "locked" && properties.metadata?.runid === runId;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  private renewWhileHeld(
    runId: string,
    lease: ReturnType<BlockBlobClient["getBlobLeaseClient"]>,
  ): ScanLockHandle {
    const lost = new AbortController();
    const stopRenewing = new AbortController();
    const everyInMs = (this.leaseSeconds * 1000) / 3;
    const renewing = (async () => {
      for (;;) {
        try {
          await this.sleep(everyInMs, stopRenewing.signal);
        } catch {
          return; // released
        }
        try {
          await lease.renewLease();
        } catch (error) {
          if (stopRenewing.signal.aborted) return;
          // A transient failure is tried again at the next tick while the lease may still run;
          // a lease that is gone (taken, broken, expired and re-taken) cannot come back.
          const status = statusOf(error);
          if (status === 409 || status === 412 || status === 404) {
            this.options.onLost?.(runId, error);
            lost.abort(
              new Error(
                `the scan lock was lost (${codeOf(error) ?? status}: ${describeError(error)}); the scan stops so that two never run at once`,
              ),
            );
            return;
          }
        }
      }
    })();
    let released = false;
    return {
      runId,
      signal: lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        stopRenewing.abort();
        await renewing;
        if (!lost.signal.aborted) await lease.releaseLease().catch(() => undefined);
      },
    };
  }
}
