/**
 * npm run render:workbook — docs/workbook.svg: a picture of the deployed workbook
 * (infra/app/workbook.bicep) for the README. The panels, their order, titles, visualizations and
 * table columns are read from the Bicep and the KQL files it loads; the numbers are the demo
 * estate's (samples/demo-estate.json) turned into Log Analytics rows by the sink's own row
 * builder and aggregated here the way each panel's query does. test/workbook-picture.test.ts
 * fails when the picture no longer matches the workbook.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { builtInCatalog } from "../src/catalog/catalog.js";
import type { Finding } from "../src/model.js";
import { toFindingRows, toRunRow } from "../src/outputs/log-analytics/rows.js";
import type { FindingRow, RunRow } from "../src/outputs/log-analytics/schema.js";
import { attestedStateOf } from "../src/policy/attestation-state.js";
import { runAudit } from "../src/run-audit.js";
import { createEstateFileSource } from "../src/sources/files/estate-files.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PICTURE = join(ROOT, "docs", "workbook.svg");

export interface Panel {
  name: string;
  title: string;
  visualization: string;
  /** The query file, relative to the repository (infra/queries/...). */
  file: string;
  /** Where the item runs its query: Log Analytics (queryType 0) or Resource Graph (queryType 1). */
  source: "logs" | "resourceGraph";
  /** Percent of the workbook's width: 50 for halfWidth(...) items, shown side by side. */
  width: 100 | 50;
  query: string;
  columns: string[];
}

/** Splits at top-level commas (not inside parentheses, brackets or quotes). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = "";
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if ("([".includes(ch)) depth++;
    else if (")]".includes(ch)) depth--;
    else if (ch === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
      continue;
    }
    current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

const nameOf = (item: string) => (/^(\w+)\s*=/.exec(item)?.[1] ?? item.trim()).trim();

/** The columns a query's last project/summarize leaves (the panel's table columns). */
export function columnsOf(query: string): string[] {
  const body = query
    .split("\n")
    .filter((l) => !l.trim().startsWith("//"))
    .join("\n");
  // The main statement: after the last `let ...;`.
  const main = body.slice(body.lastIndexOf(";") + 1);
  let columns: string[] = [];
  for (const stage of main.split(/\n\s*\|/).slice(1)) {
    const text = stage.replace(/\s+/g, " ").trim();
    const project = /^project (.+)$/.exec(text);
    const summarize = /^summarize (.+)$/.exec(text);
    if (project?.[1]) columns = splitTopLevel(project[1]).map(nameOf);
    else if (summarize?.[1]) {
      const [aggregates = "", by = ""] = summarize[1].split(/ by (?![^(]*\))/);
      const keys = by ? splitTopLevel(by).map(nameOf) : [];
      const values = splitTopLevel(aggregates).map(nameOf);
      // arg_max(x, *) keeps every column: the next project names them.
      columns = aggregates.includes("*") ? [] : [...keys, ...values];
    }
  }
  return columns;
}

export async function readPanels(): Promise<{ intro: string; panels: Panel[] }> {
  const bicep = await readFile(join(ROOT, "infra", "app", "workbook.bicep"), "utf8");
  const intro = /json: '([^']*)'/.exec(bicep)?.[1]?.replace(/\\n/g, "\n") ?? "";
  const panels: Panel[] = [];
  const item =
    /(halfWidth\(\s*)?(queryItem|resourceGraphItem)\(\s*'([^']+)',\s*'([^']+)',\s*loadTextContent\('([^']+)'\),\s*'([^']+)'\s*\)/g;
  for (const m of bicep.matchAll(item)) {
    const [, half, kind = "", name = "", title = "", file = "", visualization = ""] = m;
    const path = join("infra", "app", file);
    const query = await readFile(join(ROOT, path), "utf8");
    panels.push({
      name,
      title,
      visualization,
      file: relative(ROOT, join(ROOT, path)).split(sep).join("/"),
      source: kind === "resourceGraphItem" ? "resourceGraph" : "logs",
      width: half ? 50 : 100,
      query,
      columns: columnsOf(query),
    });
  }
  return { intro, panels };
}

export interface DemoRuns {
  findings: FindingRow[];
  runs: RunRow[];
  /** The findings of the latest run, as the run itself holds them (what the scanner attests). */
  latest: Finding[];
}

/** The demo estate as the rows of four complete runs, six hours apart. */
export async function demoRows(): Promise<DemoRuns> {
  const findings: FindingRow[] = [];
  const runs: RunRow[] = [];
  let latest: Finding[] = [];
  for (let i = 0; i < 4; i++) {
    const at = new Date(Date.UTC(2026, 11, 1, 6 * i, 0, 0));
    const { result } = await runAudit(
      {
        source: createEstateFileSource([join(ROOT, "samples", "demo-estate.json")], {
          kind: "demo",
          labels: ["samples/demo-estate.json"],
        }),
        cloud: "AzureCloud",
        catalog: builtInCatalog("AzureCloud"),
        now: () => at,
        newRunId: () => `00000000-0000-4000-8000-00000000000${i}`,
      },
      { logger: pino({ level: "silent" }) },
    );
    findings.push(...toFindingRows(result));
    latest = result.findings;
    runs.push(
      toRunRow(result, {
        findingRecords: result.findings.length,
        failedRecords: 0,
        resentRecords: 0,
        pendingRecords: 0,
      }),
    );
  }
  return { findings, runs, latest };
}

/** Compliance states in the order both Policy panels' queries sort them (their Rank). */
const STATE_RANK: Record<string, number> = { NonCompliant: 0, Unknown: 1, Compliant: 2, Exempt: 3 };

function countByState(states: (string | null)[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const s of states) if (s !== null) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].sort(
    ([a], [b]) => (STATE_RANK[a] ?? 4) - (STATE_RANK[b] ?? 4) || a.localeCompare(b),
  );
}

/**
 * A finding row's Policy state as infra/queries/scanner-policy-states.kql computes it from the
 * row alone: Unverified as Unknown, Exempt as NonCompliant when some endpoint IP is not reachable
 * (otherwise Unknown), NotApplicable as none. The test holds it to attestedStateOf on the findings.
 */
export function rowPolicyState(row: FindingRow): string | null {
  switch (row.Status) {
    case "Compliant":
    case "NonCompliant":
      return row.Status;
    case "Unverified":
      return "Unknown";
    case "Exempt":
      return (row.Endpoints as { reachable: boolean | null }[]).some((e) => e.reachable === false)
        ? "NonCompliant"
        : "Unknown";
    default:
      return null;
  }
}

/**
 * What Azure Policy shows for a subnet after the scanner attested it: the attested state
 * (attestedStateOf), except that a subnet with an Azure Policy exemption shows as Exempt whatever
 * its attestation (README "Azure Policy"). Platform subnets have no state. It assumes the
 * assignment covers the subnet and its attestation has not expired.
 */
export function policyStateAfterAttestation(finding: Finding): string | null {
  const attested = attestedStateOf(finding);
  if (attested === null) return null;
  return finding.exemption?.source === "policyExemption" ? "Exempt" : attested;
}

type Cell = string | number | null;

const SEVERITY_RANK: Record<string, number> = { high: 0, medium: 1, low: 2 };

/** Each panel's rows over the latest run, the way its query computes them. */
function panelRows(panel: Panel, { findings, runs, latest: attested }: DemoRuns): Cell[][] {
  const latest = runs.at(-1)?.RunId;
  const current = findings.filter((f) => f.RunId === latest);
  const cell = (row: Record<string, unknown>, column: string): Cell => {
    const value = row[column];
    if (Array.isArray(value)) return value.join(", ");
    return typeof value === "number" || typeof value === "string" ? value : null;
  };
  switch (panel.name) {
    case "by-subscription": {
      const bySub = new Map<string, FindingRow[]>();
      for (const f of current)
        bySub.set(f.SubscriptionId, [...(bySub.get(f.SubscriptionId) ?? []), f]);
      const rows = [...bySub.values()].map((group) => {
        const count = (s: string) => group.filter((f) => f.Status === s).length;
        const values: Record<string, Cell> = {
          SubscriptionId: group[0]?.SubscriptionId ?? "",
          SubscriptionName: group[0]?.SubscriptionName ?? group[0]?.SubscriptionId ?? "",
          NonCompliant: count("NonCompliant"),
          Unverified: count("Unverified"),
          Exempt: count("Exempt"),
          Compliant: count("Compliant"),
          NotApplicable: count("NotApplicable"),
          WindowsVmsAtRisk: group
            .filter((f) => f.Status === "NonCompliant" || f.Status === "Unverified")
            .reduce((n, f) => n + (f.WindowsVmCount ?? 0), 0),
        };
        return panel.columns.map((c) => values[c] ?? null);
      });
      return rows.sort((a, b) => Number(b[2]) - Number(a[2]) || Number(b[3]) - Number(a[3]));
    }
    case "worst-subnets":
      return current
        .filter((f) => f.Status === "NonCompliant" || f.Status === "Unverified")
        .sort(
          (a, b) =>
            (SEVERITY_RANK[a.Severity] ?? 3) - (SEVERITY_RANK[b.Severity] ?? 3) ||
            (b.WindowsVmCount ?? 0) - (a.WindowsVmCount ?? 0) ||
            (b.NicCount ?? 0) - (a.NicCount ?? 0),
        )
        .map((f) => panel.columns.map((c) => cell(f as unknown as Record<string, unknown>, c)));
    case "legacy-kms-only":
      return current
        .filter((f) => (f.Reasons as string[]).includes("LEGACY_KMS_IP_ONLY"))
        .sort((a, b) => (b.WindowsVmCount ?? 0) - (a.WindowsVmCount ?? 0))
        .map((f) => panel.columns.map((c) => cell(f as unknown as Record<string, unknown>, c)));
    case "policy-states":
      return countByState(attested.map(policyStateAfterAttestation));
    case "scanner-policy-states":
      return countByState(current.map(rowPolicyState));
    case "incomplete-runs":
      return runs
        .filter((r) => !r.Complete || r.FailedRecords > 0 || r.ErrorCount > 0)
        .map((r) => panel.columns.map((c) => cell(r as unknown as Record<string, unknown>, c)));
    default:
      return runs.map((r) =>
        panel.columns.map((c) => cell(r as unknown as Record<string, unknown>, c)),
      );
  }
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const WIDTH = 1180;
const STATUS_COLORS: Record<string, string> = {
  NonCompliant: "#d13438",
  Unverified: "#ca5010",
  Unknown: "#ca5010",
  Exempt: "#8764b8",
  Compliant: "#107c10",
  NotApplicable: "#8a8886",
};

/** Splits text into lines of at most `max` characters, at spaces. */
function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const cut = rest.lastIndexOf(" ", max);
    const at = cut > 0 ? cut : max;
    lines.push(rest.slice(0, at));
    rest = rest.slice(at).trimStart();
  }
  return [...lines, rest];
}

/** A grid at x, y, `width` wide; `note` is printed under it (small, grey, wrapped). */
function table(
  panel: Panel,
  rows: Cell[][],
  y: number,
  x = 20,
  width = WIDTH - 40,
  note = "",
): { svg: string; height: number } {
  const shown = panel.columns.slice(0, 8);
  const hidden = panel.columns.length - shown.length;
  const colWidth = width / Math.max(1, shown.length);
  const maxChars = Math.floor(colWidth / 7.4);
  const out: string[] = [];
  out.push(`<rect x="${x}" y="${y}" width="${width}" height="22" fill="#f3f2f1"/>`);
  shown.forEach((c, i) =>
    out.push(
      `<text x="${x + 6 + i * colWidth}" y="${y + 15}" font-weight="600">${escape(clip(c, maxChars))}</text>`,
    ),
  );
  let rowY = y + 22;
  const body = rows.length > 0 ? rows.slice(0, 8) : [];
  if (body.length === 0) {
    out.push(
      `<text x="${x + 6}" y="${rowY + 16}" fill="#605e5c">The query returned no results.</text>`,
    );
    rowY += 24;
  }
  for (const row of body) {
    shown.forEach((_, i) => {
      const value = row[i];
      const text = value === null || value === undefined ? "" : String(value);
      const color = STATUS_COLORS[text] ?? "#323130";
      out.push(
        `<text x="${x + 6 + i * colWidth}" y="${rowY + 16}" fill="${color}">${escape(clip(text, maxChars))}</text>`,
      );
    });
    out.push(
      `<line x1="${x}" x2="${x + width}" y1="${rowY + 22}" y2="${rowY + 22}" stroke="#edebe9"/>`,
    );
    rowY += 22;
  }
  const notes = [
    rows.length > body.length ? `${rows.length - body.length} more rows` : "",
    hidden > 0 ? `${hidden} more columns: ${panel.columns.slice(8).join(", ")}` : "",
    note,
  ].filter(Boolean);
  if (notes.length > 0) {
    const lines = wrap(notes.join("; "), Math.floor((width - 12) / 6));
    lines.forEach((line, i) =>
      out.push(
        `<text x="${x + 6}" y="${rowY + 16 + i * 15}" fill="#605e5c" font-size="11">${escape(line)}</text>`,
      ),
    );
    rowY += 22 + (lines.length - 1) * 15;
  }
  return { svg: out.join("\n"), height: rowY - y };
}

/** What the picture says under a panel whose numbers are not what the deployed query reads. */
const PANEL_NOTES: Record<string, string> = {
  "policy-states":
    "Demo: no Azure Policy behind this picture. The numbers are the states the latest run's attestations give (attestedStateOf; a Policy exemption shows as Exempt), as Policy shows them after the run if the assignment covers every subnet.",
};

function timechart(panel: Panel, runs: RunRow[], y: number): { svg: string; height: number } {
  const series = panel.columns.filter((c) => c !== "TimeGenerated");
  const height = 170;
  const left = 70;
  const right = WIDTH - 200;
  const top = y + 10;
  const bottom = y + height - 30;
  const values = runs.flatMap((r) =>
    series.map((s) => Number((r as unknown as Record<string, unknown>)[s] ?? 0)),
  );
  const max = Math.max(1, ...values);
  const xOf = (i: number) => left + ((right - left) * i) / Math.max(1, runs.length - 1);
  const yOf = (v: number) => bottom - ((bottom - top) * v) / max;
  const out: string[] = [
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#c8c6c4"/>`,
    `<text x="${left - 8}" y="${top + 4}" text-anchor="end" fill="#605e5c">${max}</text>`,
    `<text x="${left - 8}" y="${bottom + 4}" text-anchor="end" fill="#605e5c">0</text>`,
  ];
  runs.forEach((r, i) =>
    out.push(
      `<text x="${xOf(i)}" y="${bottom + 18}" text-anchor="middle" fill="#605e5c" font-size="11">${escape(r.TimeGenerated.slice(5, 16).replace("T", " "))}</text>`,
    ),
  );
  series.forEach((s, k) => {
    const color = STATUS_COLORS[s] ?? "#0078d4";
    const points = runs
      .map((r, i) => `${xOf(i)},${yOf(Number((r as unknown as Record<string, unknown>)[s] ?? 0))}`)
      .join(" ");
    out.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`);
    out.push(
      `<rect x="${right + 30}" y="${top + k * 20}" width="12" height="12" fill="${color}"/>`,
    );
    out.push(`<text x="${right + 48}" y="${top + k * 20 + 11}">${escape(s)}</text>`);
  });
  return { svg: out.join("\n"), height };
}

export async function renderWorkbook(): Promise<string> {
  const { intro, panels } = await readPanels();
  const demo = await demoRows();
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${WIDTH}" height="40" fill="#0078d4"/>`);
  parts.push(
    `<text x="20" y="26" fill="#ffffff" font-size="16" font-weight="600">KMS activation routes (demo) — Azure Monitor workbook</text>`,
  );
  let y = 62;
  const wrapped = intro.split("\n").flatMap((line) => {
    const out: string[] = [];
    let rest = line;
    while (rest.length > 150) {
      const cut = rest.lastIndexOf(" ", 150);
      out.push(rest.slice(0, cut));
      rest = rest.slice(cut + 1);
    }
    return [...out, rest];
  });
  for (const line of wrapped) {
    const heading = line.startsWith("## ");
    const text = line.replace(/^## /, "").replace(/\*/g, "");
    parts.push(
      `<text x="20" y="${y}" ${heading ? 'font-size="15" font-weight="600"' : ""}>${escape(text)}</text>`,
    );
    y += heading ? 24 : 18;
  }
  parts.push(
    `<rect x="20" y="${y}" width="230" height="26" rx="3" fill="#ffffff" stroke="#8a8886"/>`,
    `<text x="30" y="${y + 17}">TimeRange: Last 30 days ▾</text>`,
  );
  y += 44;
  // Half-width panels in a row share it, as the workbook lays them out (customWidth 50).
  for (let i = 0; i < panels.length;) {
    const row = panels[i]!.width === 50 ? panels.slice(i, i + 2) : [panels[i]!];
    const pair = row.length === 2 && row.every((p) => p.width === 50);
    const cells = pair ? row : row.slice(0, 1);
    const width = pair ? (WIDTH - 60) / 2 : WIDTH - 40;
    let height = 0;
    cells.forEach((panel, k) => {
      const x = 20 + k * (width + 20);
      const label = `${panel.visualization} · ${panel.source === "resourceGraph" ? "Azure Resource Graph · " : ""}${panel.file}`;
      parts.push(
        `<text x="${x}" y="${y + 14}" font-size="14" font-weight="600">${escape(panel.title)}</text>`,
        pair
          ? `<text x="${x}" y="${y + 30}" fill="#605e5c" font-size="11">${escape(label)}</text>`
          : `<text x="${x + width}" y="${y + 14}" text-anchor="end" fill="#605e5c" font-size="11">${escape(label)}</text>`,
      );
      const top = y + (pair ? 40 : 24);
      const drawn =
        panel.visualization === "timechart"
          ? timechart(panel, demo.runs, top)
          : table(panel, panelRows(panel, demo), top, x, width, PANEL_NOTES[panel.name]);
      parts.push(drawn.svg);
      height = Math.max(height, top - y + drawn.height);
    });
    y += height + 26;
    i += cells.length;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="Segoe UI, Helvetica, Arial, sans-serif" font-size="12" fill="#323130">
<rect width="${WIDTH}" height="${y}" fill="#ffffff"/>
${parts.join("\n")}
</svg>
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(PICTURE, await renderWorkbook());
  process.stdout.write(`wrote ${PICTURE}\n`);
}
