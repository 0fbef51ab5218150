/**
 * Parses KQL with the Kusto language service (@kusto/language-service-next) against the
 * declared table schemas, so a query that names a column the tables do not have fails.
 */
import { readFile, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { kustoSchemaText, type TableSchema } from "../src/outputs/log-analytics/schema.js";

interface KustoDiagnostic {
  Severity: string;
  Message: string;
  Start: number;
}
interface KustoList<T> {
  Count: number;
  getItem(index: number): T;
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

/** Diagnostics of one query; an empty list means it parses and every name resolves. */
export function analyzeKql(text: string, tables: readonly TableSchema[]): KqlProblem[] {
  const K = kusto();
  const symbols = tables.map((t) =>
    K.Symbols.TableSymbol.From(kustoSchemaText(t)).WithName(t.name),
  );
  const globals = K.GlobalState.Default.WithDatabase(
    new K.Symbols.DatabaseSymbol.ctor("db", symbols),
  );
  const diagnostics = K.KustoCode.ParseAndAnalyze(text, globals).GetDiagnostics();
  const problems: KqlProblem[] = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    const before = text.slice(0, d.Start).split("\n");
    problems.push({
      severity: d.Severity,
      message: d.Message,
      line: before.length,
      column: (before.at(-1)?.length ?? 0) + 1,
    });
  }
  return problems;
}

/** Every .kql file of a directory, by file name. */
export async function readKqlFiles(directory: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of (await readdir(directory)).filter((n) => n.endsWith(".kql")).sort()) {
    files.set(name, await readFile(join(directory, name), "utf8"));
  }
  return files;
}
