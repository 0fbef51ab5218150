import type { Fix, Remediation } from "../../model.js";

/**
 * The fix scripts of a finding. They are text for JSON output only, so they are built when first
 * read (table, CSV, SARIF and Log Analytics never read them): the returned object's members are
 * getters over one build. The getters sit on objects shared by the subnets in one situation, not on
 * findings: an accessor puts an object literal in V8's slow dictionary mode, which on 100k findings
 * cost more time and memory than it saved.
 */
export function lazyRemediation(build: () => Fix[]): Remediation {
  let built: { fixes: Fix[]; azureCli: string; powershell: string; bicep: string } | undefined;
  const get = () => (built ??= combine(build()));
  return {
    get azureCli() {
      return get().azureCli;
    },
    get powershell() {
      return get().powershell;
    },
    get bicep() {
      return get().bicep;
    },
    get fixes() {
      return get().fixes;
    },
  };
}

function combine(fixes: Fix[]) {
  // One fix: its script as it is (schema 1 had exactly the route script here).
  if (fixes.length === 1) return { fixes, ...fixes[0]! };
  const join = (pick: (f: Fix) => string, comment: string) =>
    fixes.map((f, i) => `${comment} ${i + 1}. ${oneLine(f.summary)}\n${pick(f)}`).join("\n\n");
  return {
    fixes,
    azureCli: join((f) => f.azureCli, "#"),
    powershell: join((f) => f.powershell, "#"),
    bicep: join((f) => f.bicep, "//"),
  };
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]+/g, " ");
}
