/**
 * Sums a V8 CPU profile (`node --cpu-prof`) of a scan by phase, from where each sample's function
 * lives: read and parse, inventory, audit, output, garbage collection, the rest (start-up, module
 * loading, idle). Works for any build's dist/ layout, old or new, so two builds' profiles compare.
 * `node dist/bench/profile-phases.js FILE.cpuprofile [more…]`; one line per profile, seconds.
 */
import { readFile } from "node:fs/promises";

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

const PHASES: [string, RegExp][] = [
  ["read", /node:buffer|node:string_decoder|load-estate|read-estate|chunk-records/],
  ["inventory", /\/src\/inventory\//],
  ["audit", /\/src\/(audit|net)\/|\/src\/model\.js/],
  ["output", /\/src\/outputs\//],
];

function phaseOf(functionName: string, url: string): string {
  if (functionName === "(garbage collector)") return "gc";
  if (functionName === "read") return "read";
  return PHASES.find(([, pattern]) => pattern.test(url))?.[0] ?? "other";
}

for (const file of process.argv.slice(2)) {
  const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const us = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    const phase = frame ? phaseOf(frame.functionName, frame.url) : "other";
    us.set(phase, (us.get(phase) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...us.values()].reduce((a, b) => a + b, 0);
  const seconds = (phase: string) => ((us.get(phase) ?? 0) / 1e6).toFixed(2);
  process.stdout.write(
    `${file}: ${["read", "inventory", "audit", "output", "gc", "other"].map((p) => `${p} ${seconds(p)}`).join(", ")}; total ${(total / 1e6).toFixed(2)} s\n`,
  );
}
