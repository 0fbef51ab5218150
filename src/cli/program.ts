import { Command, CommanderError, Option } from "commander";
import { isPolicyAssignmentId } from "../policy/types.js";
import { InputError, describeError } from "../errors.js";
import { createLogger } from "../logging/logger.js";
import { CLOUDS } from "../model.js";
import { FORMATS, type OutputFormat } from "../outputs/format.js";
import { redact, safeLine } from "../redact.js";
import type { LogLevel } from "../logging/levels.js";
import { readSettings } from "../settings.js";
import { TOOL_VERSION } from "../version.js";
import {
  addCatalogOptions,
  addEstateOptions,
  catalogFilesFrom,
  estateInputsFrom,
} from "./estate-source.js";
import { registerExportCommand } from "./export-command.js";
import { registerRemediateCommand } from "./remediate-command.js";
import { CommandExit, exitWith } from "./command-exit.js";
import { EXIT, runScanCommand, type CommandIo } from "./scan-command.js";

const EXAMPLES = `
Examples:
  kms-route-audit scan --demo                          audit the bundled sample estate
  kms-route-audit export --output estate.ndjson        write the live Resource Graph read to a file
  kms-route-audit scan --input estate.ndjson           audit an exported estate (see README)
  kms-route-audit scan --input a.json --input b.ndjson --format json --output findings.json
  az graph query -q "..." | kms-route-audit scan --input -
  kms-route-audit scan --input estate.json --format sarif --output kms.sarif --fail-on NonCompliant
  kms-route-audit scan --subscription 00000000-0000-0000-0000-000000000000   live scan of one subscription

Exit codes: 0 done, 1 findings at or above --fail-on, 2 usage or input error, 3 scan incomplete.
Settings (environment): KMS_AUDIT_CLOUD, KMS_AUDIT_ARM_ENDPOINT, KMS_AUDIT_LOG_LEVEL (logs go to stderr),
KMS_AUDIT_LOGS_ENDPOINT and KMS_AUDIT_DCR_ID (for --log-analytics). See the README for all of them.`;

function buildProgram(io: CommandIo): Command {
  const program = new Command("kms-route-audit")
    .description(
      "Audit Azure subnets whose forced tunneling breaks Windows KMS activation (TCP 1688).",
    )
    .version(TOOL_VERSION)
    .exitOverride();

  const scan = program
    .command("scan")
    .description("Judge every subnet of an exported estate, the demo estate, or the live tenant.");
  addEstateOptions(scan, {
    input:
      'estate file: JSON array, Resource Graph/ARM list object, or NDJSON ("-" = stdin); repeatable',
    demo: "scan the bundled sample estate",
    cloud: `Azure cloud whose KMS endpoints apply: ${CLOUDS.join(", ")} (default: KMS_AUDIT_CLOUD or AzureCloud)`,
    subscription: "live scan: limit to this subscription; repeatable",
    managementGroup: "live scan: limit to this management group; repeatable",
  })
    .addOption(
      new Option("-f, --format <format>", "output format").choices(FORMATS).default("table"),
    )
    .option("-o, --output <file>", "write the output to a file instead of stdout")
    .option(
      "--log-analytics",
      "also send the results to Log Analytics (KMS_AUDIT_LOGS_ENDPOINT, KMS_AUDIT_DCR_ID)",
      false,
    )
    .addOption(
      new Option("--fail-on <status>", "exit 1 when a subnet is at or above this status").choices([
        "NonCompliant",
        "Unverified",
      ]),
    );
  addCatalogOptions(scan, {
    endpoints: "JSON file that extends or replaces the endpoint list (see README)",
    serviceTags:
      "Azure's service-tag file (ServiceTags_Public_*.json) to resolve service-tag routes",
  })
    // Facts read live before the audit (src/facts/), ARM clients in src/azure/.
    .option(
      "--confirm-gateway-routes",
      "live scan: read the learned routes of the gateways Unverified (BGP) subnets depend on (KMS_AUDIT_CONFIRM_GATEWAY_ROUTES)",
    )
    .option(
      "--verify-effective-routes",
      "live scan: read one VM NIC's effective routes per subnet still Unverified (KMS_AUDIT_VERIFY_EFFECTIVE_ROUTES)",
    )
    .option(
      "--policy-assignment <id>",
      "the kms-route-audit Manual policy's assignment: its exemptions make subnets Exempt (KMS_AUDIT_POLICY_ASSIGNMENT_ID)",
    )
    .option(
      "--read-policy",
      "live scan: read Azure Policy (policyresources) to recognise deny policies that would reject a fix (KMS_AUDIT_READ_POLICY)",
    )
    .option(
      "--attest",
      "write an Azure Policy attestation per audited subnet in the assignment's scope (needs --policy-assignment)",
    )
    .option(
      "--plan",
      "with --attest: read the attestations and print what would be written; write nothing",
    )
    .addHelpText("after", EXAMPLES)
    .action(async (raw: Record<string, unknown>) => {
      const settings = readSettings(io.env);
      const inputs = estateInputsFrom(raw, settings);
      const level: LogLevel = io.env.KMS_AUDIT_LOG_LEVEL ? settings.logLevel : "warn";
      const live = !inputs.demo && inputs.input.length === 0;
      exitWith(
        await runScanCommand(
          {
            ...inputs,
            format: raw.format as OutputFormat,
            output: typeof raw.output === "string" ? raw.output : null,
            logAnalytics: raw.logAnalytics === true,
            failOn: (raw.failOn as "NonCompliant" | "Unverified" | undefined) ?? null,
            catalog: catalogFilesFrom(raw, settings),
            // The settings apply to live scans; the flags are refused with --input/--demo.
            confirmGatewayRoutes:
              raw.confirmGatewayRoutes === true || (settings.confirmGatewayRoutes && live),
            verifyEffectiveRoutes:
              raw.verifyEffectiveRoutes === true || (settings.verifyEffectiveRoutes && live),
            attest: raw.attest === true,
            attestPlan: raw.plan === true,
          },
          {
            ...settings,
            ...(typeof raw.policyAssignment === "string"
              ? { policyAssignmentId: policyAssignmentFlag(raw.policyAssignment) }
              : {}),
            readPolicy:
              raw.readPolicy === true ||
              settings.readPolicy ||
              typeof raw.policyAssignment === "string",
          },
          io,
          createLogger({ level }),
        ),
      );
    });
  registerRemediateCommand(program, io);
  registerExportCommand(program, io);
  return program;
}

function policyAssignmentFlag(value: string): string {
  if (!isPolicyAssignmentId(value))
    throw new InputError(
      `--policy-assignment: "${value}" is not a policy assignment ID (/subscriptions/<id>[/resourceGroups/<rg>] or /providers/Microsoft.Management/managementGroups/<mg>, then /providers/Microsoft.Authorization/policyAssignments/<name>)`,
    );
  return value.trim();
}

/** Runs the CLI; the only place that turns errors into exit codes. */
export async function main(
  argv: string[],
  io: CommandIo,
  stderr: NodeJS.WritableStream,
): Promise<number> {
  const program = buildProgram({ ...io, stderr: io.stderr ?? stderr });
  program.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => stderr.write(s),
    // One line, like every other usage error: "kms-route-audit: unknown option '--x' (see --help)".
    outputError: (s, write) =>
      write(`kms-route-audit: ${safeLine(s.replace(/^error: /, ""))} (see --help)\n`),
  });
  for (const command of program.commands) command.configureOutput(program.configureOutput());
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommandExit) return error.code;
    if (error instanceof CommanderError) {
      // Commander has already printed its one-line message.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof InputError) {
      stderr.write(`kms-route-audit: ${safeLine(error.message)}\n`);
      return EXIT.usage;
    }
    // A source that failed outright (authentication, network) leaves the scan incomplete.
    // One line: credential chains report one paragraph per credential they tried.
    // Every line is redacted and has its control characters escaped (src/redact.ts).
    stderr.write(`kms-route-audit: scan failed: ${safeLine(describeError(error))}\n`);
    if (io.env.KMS_AUDIT_LOG_LEVEL === "debug" && error instanceof Error)
      stderr.write(`${redact(error.stack ?? "")}\n`);
    return EXIT.incomplete;
  }
}
