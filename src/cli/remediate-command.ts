import { writeFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { endpointSetsFor, readEndpointFile } from "../catalog/endpoints.js";
import { readServiceTagFile } from "../catalog/service-tags.js";
import { InputError, describeError } from "../errors.js";
import { createLogger } from "../logging/logger.js";
import { CLOUDS } from "../model.js";
import {
  isGuid,
  isManagementGroupId,
  parseCloud,
  readSettings,
  type LogLevel,
} from "../settings.js";
import { estateSourceFor, type EstateInputs } from "./estate-source.js";
import { EXIT, type CommandIo } from "./scan-command.js";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `kms-route-audit remediate --plan|--apply` (issue 6). */
export function registerRemediateCommand(program: Command, io: CommandIo, exit: { code: number }) {
  program
    .command("remediate")
    .description(
      "Plan (default) or apply the missing KMS routes (next hop Internet) on every affected route table.",
    )
    .option("-i, --input <file>", "estate file, as for scan; repeatable", collect, [])
    .option("--demo", "plan against the bundled sample estate")
    .addOption(new Option("--cloud <name>", `Azure cloud: ${CLOUDS.join(", ")}`))
    .option("--subscription <id>", "live: limit to this subscription; repeatable", collect, [])
    .option(
      "--management-group <id>",
      "live: limit to this management group; repeatable",
      collect,
      [],
    )
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
    .option("-o, --output <file>", "write the report to a file instead of stdout")
    .option("--endpoints <file>", "JSON file that extends or replaces the endpoint list")
    .option("--service-tags <file>", "Azure's service-tag file")
    .addHelpText(
      "after",
      "\nExit codes: 0 done, 2 usage or input error, 3 some change failed or the scan was incomplete.",
    )
    .action(async (raw: Record<string, unknown>) => {
      const settings = readSettings(io.env);
      const cloud =
        typeof raw.cloud === "string" ? parseCloud(raw.cloud, "--cloud") : settings.cloud;
      const inputs: EstateInputs = {
        input: raw.input as string[],
        demo: raw.demo === true,
        cloud,
        subscriptions: raw.subscription as string[],
        managementGroups: raw.managementGroup as string[],
      };
      for (const s of inputs.subscriptions)
        if (!isGuid(s))
          throw new InputError(`--subscription: "${s}" is not a subscription ID (GUID)`);
      for (const m of inputs.managementGroups)
        if (!isManagementGroupId(m))
          throw new InputError(`--management-group: "${m}" is not a management group ID`);
      if (inputs.input.length > 0 && inputs.demo)
        throw new InputError("--input and --demo cannot be combined");
      if (raw.plan === true && raw.apply === true)
        throw new InputError("--plan and --apply cannot be combined");
      const apply = raw.apply === true;
      if (apply && (inputs.input.length > 0 || inputs.demo))
        throw new InputError(
          "--apply changes the live tenant; it cannot be used with --input or --demo",
        );
      const endpointFile =
        typeof raw.endpoints === "string" ? await readEndpointFile(raw.endpoints) : undefined;
      const endpointSets = endpointSetsFor(cloud, endpointFile);
      if (endpointSets.length === 0)
        throw new InputError(`${String(raw.endpoints)}: no endpoint set applies to cloud ${cloud}`);
      const serviceTags =
        typeof raw.serviceTags === "string" ? await readServiceTagFile(raw.serviceTags) : undefined;
      const level: LogLevel = io.env.KMS_AUDIT_LOG_LEVEL ? settings.logLevel : "warn";
      // Apply is logged at info by default: every write is worth a line on stderr.
      const logger = createLogger({ level: apply && !io.env.KMS_AUDIT_LOG_LEVEL ? "info" : level });

      // Loaded only when the command runs: it brings the Azure network SDK.
      const { formatRemediationTable, runRemediation } = await import("../remediate/remediate.js");
      const source = await estateSourceFor(inputs, settings, io.stdin);
      const report = await runRemediation(
        { source, cloud, endpointSets, serviceTags, logger },
        {
          mode: apply ? "apply" : "plan",
          replaceConflicting: raw.replaceConflicting === true,
          network: { cloud, armEndpoint: settings.armEndpoint },
        },
      );
      const text =
        raw.format === "json"
          ? `${JSON.stringify(report, null, 2)}\n`
          : formatRemediationTable(report);
      if (typeof raw.output === "string") {
        try {
          await writeFile(raw.output, text);
        } catch (error) {
          throw new InputError(`${raw.output}: cannot write output: ${describeError(error)}`);
        }
      } else io.stdout.write(text);
      exit.code = report.counts.failed > 0 || !report.run.scanComplete ? EXIT.incomplete : EXIT.ok;
    });
}
