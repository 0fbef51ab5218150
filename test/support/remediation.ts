import assert from "node:assert/strict";
import type { Logger } from "pino";
import {
  remediationAction,
  type RemediationActionReport,
} from "../../src/actions/remediation-action.js";
import { builtInCatalog } from "../../src/catalog/catalog.js";
import type { RemediationOptions, RemediationReport } from "../../src/remediate/remediate.js";
import { runAudit } from "../../src/run-audit.js";
import type { EstateSource } from "../../src/sources/source.js";

/** Remediation as the CLI runs it: the audit pipeline with the remediation action. */
export async function remediationReport(
  source: EstateSource,
  options: RemediationOptions,
  logger: Logger,
): Promise<RemediationReport> {
  const outcome = await runAudit(
    {
      source,
      cloud: "AzureCloud",
      catalog: builtInCatalog("AzureCloud"),
      actions: [remediationAction(options)],
    },
    { logger },
  );
  const [action] = outcome.actions as RemediationActionReport[];
  assert.ok(action?.report, `the remediation action failed: ${JSON.stringify(action?.errors)}`);
  return action.report;
}
