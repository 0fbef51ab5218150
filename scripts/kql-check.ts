/**
 * Parses KQL with the Kusto language service (@kusto/language-service-next) against the
 * declared table schemas, so a query that names a column the tables do not have fails.
 *
 * Two kinds of query file: Log Analytics (`*.kql`, against the tables of
 * src/outputs/log-analytics/schema.ts) and Azure Resource Graph (`*.arg.kql`, against
 * RESOURCE_GRAPH_TABLES below, and held to the operators Resource Graph supports).
 */
import { readFile, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import {
  kustoSchemaText,
  type ColumnType,
  type TableSchema,
} from "../src/outputs/log-analytics/schema.js";

interface KustoDiagnostic {
  Severity: string;
  Message: string;
  Start: number;
}
interface KustoList<T> {
  Count: number;
  getItem(index: number): T;
}
interface KustoSyntaxElement {
  /** Offset of the element's first character (after its leading trivia). */
  TextStart: number;
  constructor: { $$name?: string };
  WalkElements(action: (element: KustoSyntaxElement) => void): void;
}
interface KustoLanguage {
  Symbols: {
    TableSymbol: { From(schema: string): { WithName(name: string): unknown } };
    DatabaseSymbol: { ctor: new (name: string, members: unknown[]) => unknown };
  };
  GlobalState: { Default: { WithDatabase(db: unknown): unknown } };
  KustoCode: {
    ParseAndAnalyze(
      text: string,
      globals: unknown,
    ): {
      GetDiagnostics(): KustoList<KustoDiagnostic>;
      Syntax: KustoSyntaxElement;
    };
  };
}

let language: KustoLanguage | undefined;

function kusto(): KustoLanguage {
  if (!language) {
    // The package is a Bridge.NET build: two scripts that define globals when loaded.
    const require = createRequire(import.meta.url);
    require("@kusto/language-service-next/bridge.js");
    require("@kusto/language-service-next/Kusto.Language.Bridge.js");
    language = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;
  }
  return language;
}

export interface KqlProblem {
  severity: string;
  message: string;
  line: number;
  column: number;
}

/** A table that is not ours (Resource Graph's): its name and its columns' names and types. */
export interface TableShape {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: ColumnType }[];
}

/** A table as the language service takes it: its name and `(column:type, ...)`. */
interface TableText {
  name: string;
  schema: string;
}

function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

function parse(text: string, tables: readonly TableText[]) {
  const K = kusto();
  const symbols = tables.map((t) => K.Symbols.TableSymbol.From(t.schema).WithName(t.name));
  const globals = K.GlobalState.Default.WithDatabase(
    new K.Symbols.DatabaseSymbol.ctor("db", symbols),
  );
  return K.KustoCode.ParseAndAnalyze(text, globals);
}

function diagnosticsOf(text: string, code: ReturnType<typeof parse>): KqlProblem[] {
  const diagnostics = code.GetDiagnostics();
  const problems: KqlProblem[] = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    problems.push({ severity: d.Severity, message: d.Message, ...positionOf(text, d.Start) });
  }
  return problems;
}

/** Diagnostics of one query; an empty list means it parses and every name resolves. */
export function analyzeKql(text: string, tables: readonly TableSchema[]): KqlProblem[] {
  const tableTexts = tables.map((t) => ({ name: t.name, schema: kustoSchemaText(t) }));
  return diagnosticsOf(text, parse(text, tableTexts));
}

/**
 * Resource Graph's policyresources as a query sees it: the columns this project's own Resource
 * Graph reads take from it (src/sources/resource-graph/queries.ts, POLICY_QUERY). Everything a
 * policy state says is inside `properties` (dynamic), so the names under it (complianceState,
 * resourceId, policyDefinitionId) cannot be checked here: they come from Microsoft's sample
 * queries, cited in the query file. What is checked: the table, its columns, the syntax, and that
 * only operators Resource Graph supports are used.
 */
export const RESOURCE_GRAPH_TABLES: readonly TableShape[] = [
  {
    name: "policyresources",
    columns: [
      { name: "id", type: "string" },
      { name: "name", type: "string" },
      { name: "type", type: "string" },
      { name: "subscriptionId", type: "string" },
      { name: "resourceGroup", type: "string" },
      { name: "properties", type: "dynamic" },
    ],
  },
];

/**
 * The tabular operators Resource Graph supports ("Understanding the Azure Resource Graph query
 * language", Supported tabular/top level operators: count, distinct, extend, join, limit,
 * mv-expand, order, project, project-away, sort, summarize, take, top, union, where), as the
 * Kusto language service names their syntax nodes. `let` is not among them.
 */
const RESOURCE_GRAPH_OPERATORS: ReadonlySet<string> = new Set([
  "CountOperator",
  "DistinctOperator",
  "ExtendOperator",
  "JoinOperator",
  "TakeOperator",
  "MvExpandOperator",
  "SortOperator",
  "ProjectOperator",
  "ProjectAwayOperator",
  "SummarizeOperator",
  "TopOperator",
  "UnionOperator",
  "FilterOperator",
]);

/** Diagnostics of a Resource Graph query: as analyzeKql, plus operators Resource Graph lacks. */
export function analyzeResourceGraphKql(text: string): KqlProblem[] {
  const tables = RESOURCE_GRAPH_TABLES.map((t) => ({
    name: t.name,
    schema: `(${t.columns.map((c) => `${c.name}:${c.type}`).join(", ")})`,
  }));
  const code = parse(text, tables);
  const problems = diagnosticsOf(text, code);
  code.Syntax.WalkElements((element) => {
    const kind = (element.constructor.$$name ?? "").replace(/^Kusto\.Language\.Syntax\./, "");
    const what =
      kind === "LetStatement"
        ? "let statements"
        : kind.endsWith("Operator") && !RESOURCE_GRAPH_OPERATORS.has(kind)
          ? `the ${kind
              .replace(/Operator$/, "")
              .replace(/(?<=[a-z])(?=[A-Z])/g, "-")
              .toLowerCase()} operator`
          : null;
    if (what)
      problems.push({
        severity: "Error",
        message: `Resource Graph does not support ${what} (its tabular operators: count, distinct, extend, join, limit, mv-expand, order, project, project-away, sort, summarize, take, top, union, where)`,
        ...positionOf(text, element.TextStart),
      });
  });
  return problems;
}

/** Whether a query file is a Resource Graph query (by its name: `*.arg.kql`). */
export function isResourceGraphQuery(fileName: string): boolean {
  return fileName.endsWith(".arg.kql");
}

/** Every .kql file of a directory, by file name. */
export async function readKqlFiles(directory: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of (await readdir(directory)).filter((n) => n.endsWith(".kql")).sort()) {
    files.set(name, await readFile(join(directory, name), "utf8"));
  }
  return files;
}
