/**
 * Live benchmark of issue 12, item 4: a NIC-heavy tenant (10 NICs and 6 VMs on 60% of the
 * subnets) read from the Resource Graph emulator at the service's quota (15 queries per 5 s) and a
 * fixed latency per page, once with every NIC and VM row (impact "rows", the read before) and once
 * with Resource Graph's aggregates (the default), each in a fresh process that scans the whole way
 * (source, inventory, audit) like the timer. Pages, bytes, wall time against the quota bound of the
 * pages read, peak RSS, and whether both reads gave the same findings (a digest of every one).
 * The wall time is split where the emulator saw the first and the last page asked for: start-up
 * and token before, paging between, inventory and audit after.
 * `reads` picks the reads (default both); `maxOldSpaceMb` caps the scan child's V8 heap, to model a
 * Function instance's memory.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ArmRow } from "../src/inventory/arm-row.js";
import { withNicHeavyImpact } from "../kit/estates/nic-heavy.js";
import { startResourceGraphEmulator } from "../kit/emulators/resource-graph.js";
import { createLoopbackCertificate } from "../kit/support/tls.js";
import { startIdentityEndpoint } from "../kit/support/identity-endpoint.js";
import { generateEstate } from "./estate-generator.js";
import { quotaBoundInMs } from "./live.js";

const CHILD = fileURLToPath(new URL("./scan-child.js", import.meta.url));

export interface ImpactReadFigures {
  impact: "rows" | "aggregate";
  pages: number;
  bytes: number;
  throttled: number;
  elapsedMs: number;
  /** From the scan's start to the first page asked for, and to the last page answered. */
  firstPageMs: number;
  lastPageMs: number;
  boundMs: number;
  maxRssBytes: number;
  findings: number;
  digest: string;
  complete: boolean;
}

export interface NicHeavyFigures {
  subnets: number;
  rows: number;
  nicAndVmRows: number;
  reads: ImpactReadFigures[];
}

/** The estate: the bench generator's network, its own NICs and VMs replaced by NIC-heavy ones. */
export function nicHeavyEstate(subnets: number): ArmRow[] {
  const network = (function* () {
    for (const row of generateEstate({ subnets, seed: 7 })) {
      const type = row.type.toLowerCase();
      if (
        type !== "microsoft.network/networkinterfaces" &&
        type !== "microsoft.compute/virtualmachines"
      )
        yield row;
    }
  })();
  return [...withNicHeavyImpact(network, { seed: 7 })];
}

export type ImpactRead = ImpactReadFigures["impact"];

export async function benchNicHeavy(options: {
  subnets: number;
  quota: { limit: number; windowInMs: number };
  latencyInMs: number;
  reads?: readonly ImpactRead[];
  maxOldSpaceMb?: number;
}): Promise<NicHeavyFigures> {
  const rows = nicHeavyEstate(options.subnets);
  const nicAndVmRows = rows.filter((r) =>
    ["microsoft.network/networkinterfaces", "microsoft.compute/virtualmachines"].includes(
      r.type.toLowerCase(),
    ),
  ).length;
  const certificate = await createLoopbackCertificate();
  const identity = await startIdentityEndpoint();
  const reads: ImpactReadFigures[] = [];
  try {
    for (const impact of options.reads ?? (["rows", "aggregate"] as const)) {
      const emulator = await startResourceGraphEmulator({
        rows,
        isValidToken: (t) => identity.isValidToken(t),
        quota: options.quota,
        latencyInMs: options.latencyInMs,
      });
      try {
        const child = await runScanChild(
          { cloud: "AzureCloud", armEndpoint: emulator.url, impact },
          { NODE_EXTRA_CA_CERTS: certificate.caFile, ...identity.env() },
          options.maxOldSpaceMb ? [`--max-old-space-size=${options.maxOldSpaceMb}`] : [],
        );
        const served = emulator.requests.filter((r) => r.status === 200);
        const at = emulator.requests.map((r) => r.at - child.startedAtMs);
        reads.push({
          impact,
          pages: emulator.requests.length,
          bytes: served.reduce((n, r) => n + r.bytes, 0),
          throttled: emulator.throttled,
          elapsedMs: child.elapsedMs,
          firstPageMs: Math.min(...at),
          lastPageMs: Math.max(...at) + options.latencyInMs,
          boundMs: quotaBoundInMs(
            served.length,
            options.quota.limit,
            options.quota.windowInMs,
            options.latencyInMs,
          ),
          maxRssBytes: child.maxRssBytes,
          findings: child.findings,
          digest: child.digest,
          complete: child.complete,
        });
      } finally {
        await emulator.close();
      }
    }
  } finally {
    await identity.close();
    await certificate.dispose();
  }
  return { subnets: options.subnets, rows: rows.length, nicAndVmRows, reads };
}

interface ChildResult {
  startedAtMs: number;
  elapsedMs: number;
  maxRssBytes: number;
  findings: number;
  digest: string;
  complete: boolean;
  errors: number;
}

function runScanChild(
  options: object,
  env: Record<string, string>,
  nodeFlags: string[],
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, CHILD], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        NO_PROXY: "127.0.0.1,localhost",
        ...env,
        KMS_BENCH_SOURCE_OPTIONS: JSON.stringify(options),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as ChildResult);
      } catch {
        reject(new Error(`scan child exited ${code}: ${err.slice(0, 2000)}`));
      }
    });
  });
}
