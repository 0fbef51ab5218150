/**
 * How long the Resource Graph emulator takes to compute the impact aggregates of a NIC-heavy estate
 * (the totals query, and every partition at once on the first partition asked for). The emulator
 * runs in the bench's own process, so this time sits inside the live scan's paging, where the real
 * service would spend its own. `node dist/bench/emulator-aggregates.js 50000 [partitions]`; prints
 * one JSON line.
 */
import { impactPartition, impactTotals } from "../kit/emulators/resource-graph-queries.js";
import { nicHeavyEstate } from "./live-impact.js";

const subnets = Number(process.argv[2] ?? 50_000);
const partitions = Number(process.argv[3] ?? 11);
const rows = nicHeavyEstate(subnets).filter((r) => r.type !== "microsoft.resources/subscriptions");
const time = (f: () => unknown) => {
  const started = performance.now();
  f();
  return performance.now() - started;
};
process.stdout.write(
  `${JSON.stringify({
    subnets,
    rows: rows.length,
    totalsMs: time(() => impactTotals(rows)),
    partitionsMs: time(() => impactPartition(rows, 0, partitions)),
  })}\n`,
);
