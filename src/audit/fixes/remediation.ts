import type { Fix, Remediation } from "../../model.js";

/**
 * The fix scripts of a finding. They are text for JSON output only, so they are built when first
 * read (table, CSV, SARIF and Log Analytics never read them). The getters sit on the class, not on
 * each object: an object literal with accessors is kept in V8's slow dictionary mode, which on
 * 100k findings cost more time and memory than the scripts it saved. JSON.stringify reads them
 * through toJSON.
 */
export class LazyRemediation<T> implements Remediation {
  private built: Scripts | undefined;

  constructor(
    private readonly input: T,
    private readonly build: (input: T) => Fix[],
  ) {}

  private scripts(): Scripts {
    return (this.built ??= combine(this.build(this.input)));
  }

  get azureCli(): string {
    return this.scripts().azureCli;
  }

  get powershell(): string {
    return this.scripts().powershell;
  }

  get bicep(): string {
    return this.scripts().bicep;
  }

  get fixes(): Fix[] {
    return this.scripts().fixes;
  }

  toJSON(): Remediation {
    const { azureCli, powershell, bicep, fixes } = this.scripts();
    return { azureCli, powershell, bicep, fixes };
  }
}

interface Scripts {
  fixes: Fix[];
  azureCli: string;
  powershell: string;
  bicep: string;
}

function combine(fixes: Fix[]): Scripts {
  // One fix: its script as it is (schema 1 had exactly the route script here).
  if (fixes.length === 1) {
    const [f] = fixes as [Fix];
    return { fixes, azureCli: f.azureCli, powershell: f.powershell, bicep: f.bicep };
  }
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
