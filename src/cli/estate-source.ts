import { Option, type Command } from "commander";
import { loadCatalog, type Catalog } from "../catalog/catalog.js";
import { InputError } from "../errors.js";
import type { CloudName } from "../model.js";
import type { ByteStream } from "../sources/files/load-estate.js";
import { isGuid, isManagementGroupId } from "../azure/ids.js";
import { parseCloud, parseCount, type Settings } from "../settings.js";
import { createEstateFileSource } from "../sources/files/estate-files.js";
import type { EstateSource } from "../sources/source.js";
import { DEMO_ESTATE } from "./demo.js";

export interface EstateInputs {
  input: string[];
  demo: boolean;
  cloud: CloudName;
  subscriptions: string[];
  managementGroups: string[];
  /** --max-input-bytes, else KMS_AUDIT_MAX_INPUT_BYTES. */
  maxInputBytes: number;
  /** --max-input-rows, else KMS_AUDIT_MAX_INPUT_ROWS. */
  maxInputRows: number;
}

/** Commander's collector for repeatable options. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Each command's help text for the estate options. */
export interface EstateOptionHelp {
  input: string;
  demo: string;
  cloud: string;
  subscription: string;
  managementGroup: string;
}

/** Declares the estate options that estateInputsFrom reads, with the command's help texts. */
export function addEstateOptions(command: Command, help: EstateOptionHelp): Command {
  return command
    .option("-i, --input <file>", help.input, collect, [])
    .option("--demo", help.demo)
    .addOption(new Option("--cloud <name>", help.cloud))
    .option("--subscription <id>", help.subscription, collect, [])
    .option("--management-group <id>", help.managementGroup, collect, [])
    .option(
      "--max-input-bytes <n>",
      "largest estate input, per file (e.g. 512MiB; default 4GiB, KMS_AUDIT_MAX_INPUT_BYTES)",
    )
    .option(
      "--max-input-rows <n>",
      "most rows in all estate inputs (default 10000000, KMS_AUDIT_MAX_INPUT_ROWS)",
    );
}

function countOption(raw: unknown, flag: string, fallback: number, units: boolean): number {
  if (typeof raw !== "string") return fallback;
  const parsed = parseCount(raw, { units });
  if (typeof parsed === "string") throw new InputError(`${flag}: ${parsed}`);
  return parsed;
}

/** Declares the catalog options (read by catalogFilesFrom), with the command's help texts. */
export function addCatalogOptions(
  command: Command,
  help: { endpoints: string; serviceTags: string },
): Command {
  return command
    .option("--endpoints <file>", `${help.endpoints} (KMS_AUDIT_ENDPOINTS_FILE)`)
    .option("--service-tags <file>", `${help.serviceTags} (KMS_AUDIT_SERVICE_TAGS_FILE)`)
    .option(
      "--declarations <file>",
      "JSON file declaring what third-party appliances let through (KMS_AUDIT_DECLARATIONS_FILE; see README)",
    )
    .option(
      "--endpoint-set <name>",
      "judge this endpoint set for every subnet, whatever its VMs (e.g. rhui); repeatable (KMS_AUDIT_ENDPOINT_SETS)",
      collect,
      [],
    );
}

/** The catalog files and sets: the flags, else the settings of the same meaning. */
export interface CatalogFiles {
  endpoints: string | null;
  serviceTags: string | null;
  declarations: string | null;
  endpointSets: string[];
}

export function catalogFilesFrom(raw: Record<string, unknown>, settings?: Settings): CatalogFiles {
  const sets = Array.isArray(raw.endpointSet) ? (raw.endpointSet as string[]) : [];
  return {
    endpoints:
      typeof raw.endpoints === "string" ? raw.endpoints : (settings?.endpointsFile ?? null),
    serviceTags:
      typeof raw.serviceTags === "string" ? raw.serviceTags : (settings?.serviceTagsFile ?? null),
    declarations:
      typeof raw.declarations === "string"
        ? raw.declarations
        : (settings?.declarationsFile ?? null),
    endpointSets: sets.length > 0 ? sets : (settings?.endpointSets ?? []),
  };
}

/**
 * The estate options every command shares (--input, --demo, --cloud, --subscription,
 * --management-group), validated: the cloud defaults to the settings', IDs must be well formed,
 * and a live scope cannot narrow files.
 */
export function estateInputsFrom(raw: Record<string, unknown>, settings: Settings): EstateInputs {
  const cloud = typeof raw.cloud === "string" ? parseCloud(raw.cloud, "--cloud") : settings.cloud;
  const subscriptions = raw.subscription as string[];
  for (const s of subscriptions) {
    if (!isGuid(s)) throw new InputError(`--subscription: "${s}" is not a subscription ID (GUID)`);
  }
  const managementGroups = raw.managementGroup as string[];
  for (const m of managementGroups) {
    if (!isManagementGroupId(m)) {
      throw new InputError(`--management-group: "${m}" is not a management group ID`);
    }
  }
  const inputs = {
    input: raw.input as string[],
    demo: raw.demo === true,
    cloud,
    subscriptions,
    managementGroups,
    maxInputBytes: countOption(
      raw.maxInputBytes,
      "--max-input-bytes",
      settings.maxInputBytes,
      true,
    ),
    maxInputRows: countOption(raw.maxInputRows, "--max-input-rows", settings.maxInputRows, false),
  };
  if (inputs.input.length > 0 && inputs.demo) {
    throw new InputError("--input and --demo cannot be combined");
  }
  if (
    (inputs.input.length > 0 || inputs.demo) &&
    (subscriptions.length > 0 || managementGroups.length > 0)
  ) {
    throw new InputError(
      "--subscription and --management-group narrow a live scan; they cannot be used with --input or --demo",
    );
  }
  return inputs;
}

/** The catalog of a command: its files and sets (flags, else settings), read and checked. */
export function readCatalog(cloud: CloudName, files: CatalogFiles): Promise<Catalog> {
  return loadCatalog({
    cloud,
    endpointsFile: files.endpoints,
    serviceTagsFile: files.serviceTags,
    declarationsFile: files.declarations,
    endpointSets: files.endpointSets,
  });
}

/**
 * The estate a command reads: the demo, estate files, or the live tenant. The Azure SDK is loaded
 * only for a live scan, so offline commands start fast.
 */
export async function estateSourceFor(
  options: EstateInputs,
  settings: Settings,
  stdin: ByteStream,
): Promise<EstateSource> {
  if (options.demo) {
    return createEstateFileSource([DEMO_ESTATE], {
      kind: "demo",
      labels: ["samples/demo-estate.json"],
    });
  }
  if (options.input.length > 0) {
    return createEstateFileSource(options.input, {
      stdin,
      maxInputBytes: options.maxInputBytes,
      maxInputRows: options.maxInputRows,
    });
  }
  const { liveSourceFromSettings } = await import("../scan-setup.js");
  // The command line's cloud and scope win over the settings'.
  return liveSourceFromSettings({ ...settings, cloud: options.cloud }, options);
}
