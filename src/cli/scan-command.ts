import { writeFile } from "node:fs/promises";
import { endpointSetsFor, readEndpointFile } from "../catalog/endpoints.js";
import { readServiceTagFile } from "../catalog/service-tags.js";
import { InputError, describeError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import type { CloudName, ScanResult, Status } from "../model.js";
import { formatResult, type OutputFormat } from "../outputs/format.js";
import { runScan } from "../scan.js";
import type { Settings } from "../settings.js";
import { createEstateFileSource } from "../sources/estate-files.js";
import { createResourceGraphSource } from "../sources/resource-graph/index.js";
import type { EstateSource } from "../sources/source.js";
import { confirmationFor, runConfirmedScan } from "../confirm/cli.js";
import { DEMO_ESTATE } from "./demo.js";

export interface ScanCommandOptions {
  input: string[];
  demo: boolean;
  cloud: CloudName;
  subscriptions: string[];
  managementGroups: string[];
  format: OutputFormat;
  output: string | null;
  logAnalytics: boolean;
  failOn: "NonCompliant" | "Unverified" | null;
  endpoints: string | null;
  serviceTags: string | null;
  /** Issue 6: confirm BGP-doubtful subnets against ARM (live only). */
  confirmGatewayRoutes?: boolean;
  verifyEffectiveRoutes?: boolean;
}

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: () => Promise<Buffer>;
  env: Record<string, string | undefined>;
}

export const EXIT = { ok: 0, findings: 1, usage: 2, incomplete: 3 } as const;

const FAIL_STATUSES: Record<"NonCompliant" | "Unverified", Status[]> = {
  NonCompliant: ["NonCompliant"],
  Unverified: ["NonCompliant", "Unverified"],
};

function sourceFor(options: ScanCommandOptions, settings: Settings, io: CommandIo): EstateSource {
  if (options.demo)
    return createEstateFileSource([DEMO_ESTATE], {
      kind: "demo",
      labels: ["samples/demo-estate.json"],
    });
  if (options.input.length > 0) return createEstateFileSource(options.input, { stdin: io.stdin });
  // Live: the command line's scope wins over the settings' scope.
  const narrowed = options.subscriptions.length > 0 || options.managementGroups.length > 0;
  return createResourceGraphSource({
    cloud: options.cloud,
    armEndpoint: settings.armEndpoint,
    subscriptions: narrowed ? options.subscriptions : settings.subscriptions,
    managementGroups: narrowed ? options.managementGroups : settings.managementGroups,
  });
}

/** Reads (I/O), scans (pure engine), writes; returns the exit code of DESIGN.md section 5. */
export async function runScanCommand(
  options: ScanCommandOptions,
  settings: Settings,
  io: CommandIo,
  logger: Logger,
): Promise<number> {
  if (options.input.length > 0 && options.demo)
    throw new InputError("--input and --demo cannot be combined");
  if (
    (options.input.length > 0 || options.demo) &&
    (options.subscriptions.length > 0 || options.managementGroups.length > 0)
  ) {
    throw new InputError(
      "--subscription and --management-group narrow a live scan; they cannot be used with --input or --demo",
    );
  }
  if (options.logAnalytics && (!settings.logsEndpoint || !settings.dcrId)) {
    throw new InputError(
      "--log-analytics needs the settings KMS_AUDIT_LOGS_ENDPOINT and KMS_AUDIT_DCR_ID",
    );
  }
  const endpointFile = options.endpoints ? await readEndpointFile(options.endpoints) : undefined;
  const endpointSets = endpointSetsFor(options.cloud, endpointFile);
  if (endpointSets.length === 0) {
    throw new InputError(`${options.endpoints}: no endpoint set applies to cloud ${options.cloud}`);
  }
  const serviceTags = options.serviceTags
    ? await readServiceTagFile(options.serviceTags)
    : undefined;

  const scanOptions = {
    source: sourceFor(options, settings, io),
    cloud: options.cloud,
    endpointSets,
    serviceTags,
    logger,
  };
  const result =
    options.confirmGatewayRoutes || options.verifyEffectiveRoutes
      ? await runConfirmedScan(scanOptions, confirmationFor(options, settings))
      : await runScan(scanOptions);

  const color =
    !options.output &&
    options.format === "table" &&
    io.stdout.isTTY === true &&
    !("NO_COLOR" in io.env);
  const text = formatResult(result, options.format, { color });
  if (options.output) {
    try {
      await writeFile(options.output, text);
    } catch (error) {
      throw new InputError(`${options.output}: cannot write output: ${describeError(error)}`);
    }
  } else {
    io.stdout.write(text);
  }
  return exitCodeFor(result, options.failOn);
}

/** Incomplete scans (3) outrank findings (1): a partial result cannot vouch for anything. */
export function exitCodeFor(result: ScanResult, failOn: ScanCommandOptions["failOn"]): number {
  if (!result.run.complete) return EXIT.incomplete;
  if (failOn && result.findings.some((f) => FAIL_STATUSES[failOn].includes(f.status)))
    return EXIT.findings;
  return EXIT.ok;
}
