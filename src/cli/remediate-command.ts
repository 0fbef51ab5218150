import { writeFile } from "node:fs/promises";
import { exitWith } from "./command-exit.js";
import { Option, type Command } from "commander";
import { InputError, describeError } from "../errors.js";
import { createLogger } from "../logging/logger.js";
import { CLOUDS } from "../model.js";
import { writeChunksToStream } from "../outputs/write-output.js";
import { escapeControl } from "../redact.js";
import type { LogLevel } from "../logging/levels.js";
import { readSettings } from "../settings.js";
import {
  addCatalogOptions,
  addEstateOptions,
  catalogFilesFrom,
  estateInputsFrom,
  estateSourceFor,
  readCatalog,
} from "./estate-source.js";
import type { CommandIo } from "./scan-command.js";
import type { RemediationActionReport } from "../actions/remediation-action.js";
import { runAudit } from "../run-audit.js";
import { exitCodeFor } from "../run-outcome.js";

/** `kms-route-audit remediate --plan|--apply` (issue 6). */
export function registerRemediateCommand(program: Command, io: CommandIo) {
  const remediate = program
    .command("remediate")
    .description(
      "Plan (default) or apply the missing KMS routes (next hop Internet) on every affected route table.",
    );
  addEstateOptions(remediate, {
    input: "estate file, as for scan; repeatable",
    demo: "plan against the bundled sample estate",
    cloud: `Azure cloud: ${CLOUDS.join(", ")}`,
    subscription: "live: limit to this subscription; repeatable",
    managementGroup: "live: limit to this management group; repeatable",
  })
    .option("--plan", "print the routes that would be added (the default)")
    .option("--apply", "live only: add them (conditional on each route table's etag)")
    .option(
      "--replace-conflicting",
      "also change routes that use a KMS prefix with another next hop",
    )
    .addOption(
      new Option("-f, --format <format>", "output format")
        .choices(["table", "json"])
        .default("table"),
    )
    .option("-o, --output <file>", "write the report to a file instead of stdout");
  addCatalogOptions(remediate, {
    endpoints: "JSON file that extends or replaces the endpoint list",
    serviceTags: "Azure's service-tag file",
  })
    .addHelpText(
      "after",
      "\nExit codes: 0 done, 2 usage or input error, 3 some change failed or the scan was incomplete.",
    )
    .action(async (raw: Record<string, unknown>) => {
      const settings = readSettings(io.env);
      const inputs = estateInputsFrom(raw, settings);
      const { cloud } = inputs;
      if (raw.plan === true && raw.apply === true)
        throw new InputError("--plan and --apply cannot be combined");
      const apply = raw.apply === true;
      if (apply && (inputs.input.length > 0 || inputs.demo))
        throw new InputError(
          "--apply changes the live tenant; it cannot be used with --input or --demo",
        );
      const catalog = await readCatalog(cloud, catalogFilesFrom(raw, settings));
      const level: LogLevel = io.env.KMS_AUDIT_LOG_LEVEL ? settings.logLevel : "warn";
      // Apply is logged at info by default: every write is worth a line on stderr.
      const logger = createLogger({ level: apply && !io.env.KMS_AUDIT_LOG_LEVEL ? "info" : level });

      // Loaded only when the command runs: they bring the Azure network SDK.
      const { formatRemediationTable } = await import("../remediate/remediate.js");
      const { remediationAction } = await import("../actions/remediation-action.js");
      const source = await estateSourceFor(inputs, settings, io.stdin);
      const outcome = await runAudit(
        {
          source,
          cloud,
          catalog,
          // The same facts as a live scan reads, so plan and scan judge alike.
          facts:
            source.kind === "resource-graph"
              ? (await import("./facts-flags.js")).factsFor(inputs, settings)
              : undefined,
          actions: [
            remediationAction({
              mode: apply ? "apply" : "plan",
              replaceConflicting: raw.replaceConflicting === true,
              network: { cloud, armEndpoint: settings.armEndpoint },
            }),
          ],
        },
        { logger },
      );
      const { report } = outcome.actions[0] as RemediationActionReport;
      const text =
        raw.format === "json"
          ? `${JSON.stringify(report, null, 2)}\n`
          : // IDs, names and ARM's error texts come from outside: control characters escaped.
            formatRemediationTable(report).split("\n").map(escapeControl).join("\n");
      if (typeof raw.output === "string") {
        try {
          await writeFile(raw.output, text);
        } catch (error) {
          throw new InputError(`${raw.output}: cannot write output: ${describeError(error)}`);
        }
      } else await writeChunksToStream(io.stdout, [text]);
      exitWith(exitCodeFor(outcome, null));
    });
}
