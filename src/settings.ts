import { homedir } from "node:os";
import { isAbsolute, join, normalize } from "node:path";
import { z } from "zod";
import { isGuid, isManagementGroupId } from "./azure/ids.js";
import { LOG_LEVELS, type LogLevel } from "./logging/levels.js";
import { InputError, SettingsError } from "./errors.js";
import { redactUrl } from "./redact.js";
import { DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_INPUT_ROWS } from "./sources/files/load-estate.js";
import { CLOUDS, type CloudName } from "./model.js";
import { FINDINGS_TABLE, RUNS_TABLE } from "./outputs/log-analytics/schema.js";

/** Every setting of DESIGN.md section 5, parsed and validated once into a typed object. */
export interface Settings {
  cloud: CloudName;
  armEndpoint: URL | null;
  /** KMS_AUDIT_PENDING_BLOB_URL: the Functions' pending store, a blob container (https). */
  pendingBlobUrl: URL | null;
  /**
   * KMS_AUDIT_RUNS_BLOB_URL: the Functions' HTTP run records and one-scan lock, a blob container
   * (https) of the app's storage; without it they live in the instance's memory.
   */
  runsBlobUrl: URL | null;
  subscriptions: string[];
  managementGroups: string[];
  schedule: string;
  logsEndpoint: URL | null;
  dcrId: string | null;
  findingsStream: string;
  runsStream: string;
  logLevel: LogLevel;
  /**
   * Directory of the CLI's Log Analytics pending store (rows a run could not deliver):
   * KMS_AUDIT_PENDING_DIR, else $XDG_STATE_HOME/kms-route-audit/pending, else
   * ~/.local/state/kms-route-audit/pending.
   */
  pendingDirectory: string;
  /**
   * KMS_AUDIT_REMEDIATION: what the timer function does about missing KMS routes after its audit:
   * nothing (off, the default), plan them (logged), or apply them.
   */
  remediation: "off" | "plan" | "apply";
  /** KMS_AUDIT_CONFIRM_GATEWAY_ROUTES: read gateways' learned routes for BGP-doubtful subnets. */
  confirmGatewayRoutes: boolean;
  /** KMS_AUDIT_VERIFY_EFFECTIVE_ROUTES: read a VM NIC's effective routes per subnet in doubt. */
  verifyEffectiveRoutes: boolean;
  /**
   * KMS_AUDIT_IMPACT_READ: how a live scan reads NICs and VMs: "aggregate" (default; Resource Graph
   * counts them per subnet, only the ones a path needs come as rows) or "rows" (every one).
   */
  impactRead: "aggregate" | "rows";
  /** KMS_AUDIT_ENDPOINTS_FILE: an endpoint file that extends or replaces the built-in sets. */
  endpointsFile: string | null;
  /** KMS_AUDIT_SERVICE_TAGS_FILE: Azure's service-tag file (ServiceTags_Public_*.json). */
  serviceTagsFile: string | null;
  /** KMS_AUDIT_DECLARATIONS_FILE: declared appliance behaviour (README "Declared appliances"). */
  declarationsFile: string | null;
  /** KMS_AUDIT_ENDPOINT_SETS: sets judged for every subnet whatever its VMs (e.g. rhui). */
  endpointSets: string[];
  /** KMS_AUDIT_MAX_INPUT_BYTES: bytes one estate input may hold (default 4 GiB). */
  maxInputBytes: number;
  /** KMS_AUDIT_MAX_INPUT_ROWS: rows all estate inputs together may hold (default 10,000,000). */
  maxInputRows: number;
  /**
   * KMS_AUDIT_POLICY_ASSIGNMENT_ID: the assignment of the kms-route-audit Manual policy. Its
   * exemptions make subnets Exempt, and the timer attests every audited subnet in its scope.
   */
  policyAssignmentId: string | null;
  /** KMS_AUDIT_POLICY_DEFINITION_REFERENCE_ID: the definition's reference ID in an initiative. */
  policyDefinitionReferenceId: string | null;
  /**
   * KMS_AUDIT_READ_POLICY: read Azure Policy (assignments, definitions, exemptions) from Resource
   * Graph to recognise deny policies that would reject a fix. Default: true when
   * KMS_AUDIT_POLICY_ASSIGNMENT_ID is set, else false.
   */
  readPolicy: boolean;
  /** KMS_AUDIT_WORKSPACE_ID: the Log Analytics workspace's resource ID (attestation evidence link). */
  workspaceId: string | null;
}

export const DEFAULT_SCHEDULE = "0 0 */6 * * *";

const DCR_IMMUTABLE_ID = /^dcr-[0-9a-f]{32}$/i;
const STREAM = /^Custom-[A-Za-z0-9_]{1,45}$/;
// NCRONTAB: six fields (second minute hour day month day-of-week), or a TimeSpan "hh:mm:ss".
const NCRONTAB_FIELD = /^[0-9A-Za-z*/,-]+$/;
const TIMESPAN = /^\d{1,2}:\d{2}:\d{2}$/;

const WORKSPACE_ID =
  /^\/subscriptions\/[0-9a-f-]{36}\/resourcegroups\/[^/]+\/providers\/microsoft\.operationalinsights\/workspaces\/[^/]+$/i;
const POLICY_ASSIGNMENT =
  /^(\/providers\/microsoft\.management\/managementgroups\/[^/]+|\/subscriptions\/[0-9a-f-]{36}(\/resourcegroups\/[^/]+)?)\/providers\/microsoft\.authorization\/policyassignments\/[^/]+$/i;
const REFERENCE_ID = /^[^\s/]{1,128}$/;

/** Whether KMS_AUDIT_LOGS_ENDPOINT and KMS_AUDIT_DCR_ID are both set. */
export function logAnalyticsConfigured(
  settings: Settings,
): settings is Settings & { logsEndpoint: URL; dcrId: string } {
  return settings.logsEndpoint !== null && settings.dcrId !== null;
}

/** `where` names a setting (KMS_AUDIT_CLOUD) or a command-line option (--cloud). */
export function parseCloud(value: string, where: string): CloudName {
  const match = CLOUDS.find((c) => c.toLowerCase() === value.trim().toLowerCase());
  if (!match) {
    const why = `unknown cloud "${value}"; expected one of ${CLOUDS.join(", ")}`;
    throw where.startsWith("--")
      ? new InputError(`${where}: ${why}`)
      : new SettingsError(where, why);
  }
  return match;
}

function list(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function httpsUrl(name: string, raw: string | undefined): URL | null {
  if (raw === undefined || raw.trim() === "") return null;
  const parsed = z.url({ protocol: /^https$/ }).safeParse(raw.trim());
  if (!parsed.success) throw new SettingsError(name, `"${raw}" is not an https:// URL`);
  return new URL(parsed.data);
}

function matching(name: string, raw: string | undefined, pattern: RegExp, what: string) {
  if (raw === undefined || raw.trim() === "") return null;
  const value = raw.trim();
  if (!pattern.test(value)) throw new SettingsError(name, `"${value}" is not ${what}`);
  return value;
}

export function validateSchedule(name: string, raw: string): string {
  const value = raw.trim();
  const fields = value.split(/\s+/);
  const ok =
    TIMESPAN.test(value) || (fields.length === 6 && fields.every((f) => NCRONTAB_FIELD.test(f)));
  if (!ok) {
    throw new SettingsError(
      name,
      `"${raw}" is not an NCRONTAB expression with six fields (second minute hour day month weekday), e.g. "${DEFAULT_SCHEDULE}"`,
    );
  }
  return value;
}

/**
 * The pending-store directory the settings name (see Settings.pendingDirectory). An explicit
 * KMS_AUDIT_PENDING_DIR must be absolute: a relative one would move with the working directory and
 * the next run would not find the rows it should resend. A relative XDG_STATE_HOME is ignored, as
 * the XDG base directory specification says.
 */
export function pendingDirectoryFrom(env: Record<string, string | undefined>): string {
  const explicit = env.KMS_AUDIT_PENDING_DIR?.trim();
  if (explicit) {
    if (explicit.includes("\0") || !isAbsolute(explicit)) {
      throw new SettingsError(
        "KMS_AUDIT_PENDING_DIR",
        `"${explicit}" is not an absolute directory path`,
      );
    }
    return normalize(explicit);
  }
  const xdg = env.XDG_STATE_HOME?.trim();
  const state = xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".local", "state");
  return join(state, "kms-route-audit", "pending");
}

function remediationSetting(raw: string | undefined): Settings["remediation"] {
  const value = (raw ?? "").trim().toLowerCase();
  if (value === "") return "off";
  if (value === "off" || value === "plan" || value === "apply") return value;
  throw new SettingsError("KMS_AUDIT_REMEDIATION", `"${raw}" is not one of off, plan, apply`);
}

function impactReadSetting(raw: string | undefined): Settings["impactRead"] {
  const value = (raw ?? "").trim().toLowerCase();
  if (value === "") return "aggregate";
  if (value === "aggregate" || value === "rows") return value;
  throw new SettingsError("KMS_AUDIT_IMPACT_READ", `"${raw}" is not one of aggregate, rows`);
}

function filePath(name: string, raw: string | undefined): string | null {
  const value = raw?.trim();
  if (!value) return null;
  if (value.includes("\0")) throw new SettingsError(name, "is not a file path");
  return value;
}

/** A catalog file: a local path or an https:// blob URL (src/catalog/catalog-text.ts). */
function catalogLocation(name: string, raw: string | undefined): string | null {
  const value = filePath(name, raw);
  if (value === null || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  const url = z.url({ protocol: /^https$/ }).safeParse(value);
  if (!url.success)
    throw new SettingsError(
      name,
      `"${redactUrl(value)}" is neither a file path nor an https:// blob URL`,
    );
  return value;
}

const SET_NAME = /^[a-z][a-z0-9-]{0,30}$/;

function endpointSetNames(raw: string | undefined): string[] {
  const names = list(raw);
  for (const n of names)
    if (!SET_NAME.test(n))
      throw new SettingsError("KMS_AUDIT_ENDPOINT_SETS", `"${n}" is not an endpoint set name`);
  return names;
}

function booleanSetting(name: string, raw: string | undefined): boolean {
  if (raw === undefined || raw.trim() === "") return false;
  const value = raw.trim().toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  throw new SettingsError(name, `"${raw}" is not true or false`);
}

const UNITS: Record<string, number> = {
  "": 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};

/**
 * A positive count: digits, for bytes optionally with a unit (512MiB, 4GiB, 2GB). Returns the
 * reason it is not one, or the number. Used for the settings and the command-line options alike.
 */
export function parseCount(raw: string, options: { units: boolean }): number | string {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = UNITS[(match?.[2] ?? "").toLowerCase()];
  if (!match || unit === undefined || (!options.units && match[2] !== "")) {
    return options.units
      ? `"${raw}" is not a byte count (digits, optionally with KiB, MiB, GiB, TiB, KB, MB, GB or TB)`
      : `"${raw}" is not a whole number`;
  }
  const value = Number(match[1]) * unit;
  if (!Number.isSafeInteger(value) || value < 1) return `"${raw}" is not a count of at least 1`;
  return value;
}

function countSetting(
  name: string,
  raw: string | undefined,
  fallback: number,
  units: boolean,
): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const parsed = parseCount(raw, { units });
  if (typeof parsed === "string") throw new SettingsError(name, parsed);
  return parsed;
}

/** Reads and validates every setting. Throws SettingsError naming the first bad one. */
export function readSettings(env: Record<string, string | undefined> = process.env): Settings {
  const subscriptions = list(env.KMS_AUDIT_SUBSCRIPTIONS);
  for (const s of subscriptions) {
    if (!isGuid(s))
      throw new SettingsError("KMS_AUDIT_SUBSCRIPTIONS", `"${s}" is not a subscription ID (GUID)`);
  }
  const managementGroups = list(env.KMS_AUDIT_MANAGEMENT_GROUPS);
  for (const m of managementGroups) {
    if (!isManagementGroupId(m)) {
      throw new SettingsError("KMS_AUDIT_MANAGEMENT_GROUPS", `"${m}" is not a management group ID`);
    }
  }
  const level = (env.KMS_AUDIT_LOG_LEVEL ?? "info").trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new SettingsError(
      "KMS_AUDIT_LOG_LEVEL",
      `"${env.KMS_AUDIT_LOG_LEVEL}" is not one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  const logsEndpoint = httpsUrl("KMS_AUDIT_LOGS_ENDPOINT", env.KMS_AUDIT_LOGS_ENDPOINT);
  const dcrId = matching(
    "KMS_AUDIT_DCR_ID",
    env.KMS_AUDIT_DCR_ID,
    DCR_IMMUTABLE_ID,
    "a DCR immutable ID (dcr- and 32 hex digits)",
  );
  if ((logsEndpoint === null) !== (dcrId === null)) {
    const missing = logsEndpoint === null ? "KMS_AUDIT_LOGS_ENDPOINT" : "KMS_AUDIT_DCR_ID";
    throw new SettingsError(missing, "is required when the other Log Analytics setting is set");
  }
  const policyAssignmentId = matching(
    "KMS_AUDIT_POLICY_ASSIGNMENT_ID",
    env.KMS_AUDIT_POLICY_ASSIGNMENT_ID,
    POLICY_ASSIGNMENT,
    "a policy assignment ID (/subscriptions/<id>[/resourceGroups/<rg>] or /providers/Microsoft.Management/managementGroups/<mg>, then /providers/Microsoft.Authorization/policyAssignments/<name>)",
  );
  const readPolicyRaw = env.KMS_AUDIT_READ_POLICY;
  return {
    policyAssignmentId,
    policyDefinitionReferenceId: matching(
      "KMS_AUDIT_POLICY_DEFINITION_REFERENCE_ID",
      env.KMS_AUDIT_POLICY_DEFINITION_REFERENCE_ID,
      REFERENCE_ID,
      "a policy definition reference ID (no spaces or slashes, at most 128 characters)",
    ),
    readPolicy:
      readPolicyRaw === undefined || readPolicyRaw.trim() === ""
        ? policyAssignmentId !== null
        : booleanSetting("KMS_AUDIT_READ_POLICY", readPolicyRaw),
    workspaceId: matching(
      "KMS_AUDIT_WORKSPACE_ID",
      env.KMS_AUDIT_WORKSPACE_ID,
      WORKSPACE_ID,
      "a Log Analytics workspace resource ID",
    ),
    cloud: env.KMS_AUDIT_CLOUD?.trim()
      ? parseCloud(env.KMS_AUDIT_CLOUD, "KMS_AUDIT_CLOUD")
      : "AzureCloud",
    armEndpoint: httpsUrl("KMS_AUDIT_ARM_ENDPOINT", env.KMS_AUDIT_ARM_ENDPOINT),
    pendingBlobUrl: httpsUrl("KMS_AUDIT_PENDING_BLOB_URL", env.KMS_AUDIT_PENDING_BLOB_URL),
    runsBlobUrl: httpsUrl("KMS_AUDIT_RUNS_BLOB_URL", env.KMS_AUDIT_RUNS_BLOB_URL),
    subscriptions,
    managementGroups,
    schedule: env.KMS_AUDIT_SCHEDULE?.trim()
      ? validateSchedule("KMS_AUDIT_SCHEDULE", env.KMS_AUDIT_SCHEDULE)
      : DEFAULT_SCHEDULE,
    logsEndpoint,
    dcrId,
    findingsStream:
      matching(
        "KMS_AUDIT_FINDINGS_STREAM",
        env.KMS_AUDIT_FINDINGS_STREAM,
        STREAM,
        "a stream name like Custom-Table_CL",
      ) ?? FINDINGS_TABLE.stream,
    runsStream:
      matching(
        "KMS_AUDIT_RUNS_STREAM",
        env.KMS_AUDIT_RUNS_STREAM,
        STREAM,
        "a stream name like Custom-Table_CL",
      ) ?? RUNS_TABLE.stream,
    logLevel: level as LogLevel,
    pendingDirectory: pendingDirectoryFrom(env),
    remediation: remediationSetting(env.KMS_AUDIT_REMEDIATION),
    confirmGatewayRoutes: booleanSetting(
      "KMS_AUDIT_CONFIRM_GATEWAY_ROUTES",
      env.KMS_AUDIT_CONFIRM_GATEWAY_ROUTES,
    ),
    verifyEffectiveRoutes: booleanSetting(
      "KMS_AUDIT_VERIFY_EFFECTIVE_ROUTES",
      env.KMS_AUDIT_VERIFY_EFFECTIVE_ROUTES,
    ),
    impactRead: impactReadSetting(env.KMS_AUDIT_IMPACT_READ),
    endpointsFile: catalogLocation("KMS_AUDIT_ENDPOINTS_FILE", env.KMS_AUDIT_ENDPOINTS_FILE),
    serviceTagsFile: catalogLocation(
      "KMS_AUDIT_SERVICE_TAGS_FILE",
      env.KMS_AUDIT_SERVICE_TAGS_FILE,
    ),
    declarationsFile: catalogLocation(
      "KMS_AUDIT_DECLARATIONS_FILE",
      env.KMS_AUDIT_DECLARATIONS_FILE,
    ),
    endpointSets: endpointSetNames(env.KMS_AUDIT_ENDPOINT_SETS),
    maxInputBytes: countSetting(
      "KMS_AUDIT_MAX_INPUT_BYTES",
      env.KMS_AUDIT_MAX_INPUT_BYTES,
      DEFAULT_MAX_INPUT_BYTES,
      true,
    ),
    maxInputRows: countSetting(
      "KMS_AUDIT_MAX_INPUT_ROWS",
      env.KMS_AUDIT_MAX_INPUT_ROWS,
      DEFAULT_MAX_INPUT_ROWS,
      false,
    ),
  };
}
