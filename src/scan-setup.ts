import type { TokenCredential } from "@azure/identity";
import type { CatalogBlobAccess } from "./catalog/catalog-text.js";
import { loadCatalog } from "./catalog/catalog.js";
import type { ArmNetworkOptions } from "./azure/network-client.js";
import { createFactsStage } from "./facts/facts-stage.js";
import type { AuditPlan } from "./run-audit.js";
import {
  createLogAnalyticsSink,
  logAnalyticsSinkOptionsFromSettings,
  type LogAnalyticsSinkOptions,
  type PendingStore,
} from "./outputs/log-analytics/index.js";
import type { ResultSink } from "./outputs/sink.js";
import { SettingsError } from "./errors.js";
import type { Settings } from "./settings.js";
import { attestationAction, workspaceLogsUri } from "./actions/attestation-action.js";
import type { AuditAction } from "./actions/action.js";
import {
  createAttestationsClient,
  type AttestationsClientOptions,
} from "./policy/attestations-client.js";
import type { AttestationLifetime } from "./policy/attestation-state.js";
import { longestIntervalInMs } from "./policy/schedule.js";
import {
  createResourceGraphSource,
  type ResourceGraphSourceOptions,
} from "./sources/resource-graph/index.js";
import type { EstateSource } from "./sources/source.js";

/**
 * Builds a live scan (Resource Graph source, Log Analytics sink) from validated settings, the
 * same way for every entry point that scans a tenant: the timer and HTTP functions and the CLI's
 * live mode (which loads this module only for a live scan).
 */

export interface LiveScope {
  subscriptions: readonly string[];
  managementGroups: readonly string[];
}

/** Transport and test hooks; production code passes nothing. */
export interface LiveScanOverrides {
  credential?: TokenCredential;
  resourceGraph?: Partial<
    Omit<ResourceGraphSourceOptions, "cloud" | "armEndpoint" | "subscriptions" | "managementGroups">
  >;
  logAnalytics?: Partial<
    Omit<LogAnalyticsSinkOptions, "endpoint" | "dcrId" | "findingsStream" | "runsStream">
  >;
  attestations?: Partial<Omit<AttestationsClientOptions, "cloud" | "armEndpoint">>;
  /** How catalog files given as blob URLs are read. */
  catalogBlob?: CatalogBlobAccess;
  /** The facts stage's and remediation's ARM network clients. */
  network?: Partial<Omit<ArmNetworkOptions, "cloud" | "armEndpoint">>;
}

/** The settings' scope unless `scope` names subscriptions or management groups. */
export function effectiveScope(settings: Settings, scope?: LiveScope): LiveScope {
  const narrowed =
    scope !== undefined && (scope.subscriptions.length > 0 || scope.managementGroups.length > 0);
  return narrowed
    ? scope
    : { subscriptions: settings.subscriptions, managementGroups: settings.managementGroups };
}

/**
 * The Resource Graph source of the settings. `impact` overrides KMS_AUDIT_IMPACT_READ: the export
 * reads every row (an estate file is the estate, not a summary of it).
 */
export function liveSourceFromSettings(
  settings: Settings,
  scope?: LiveScope,
  overrides: LiveScanOverrides = {},
  impact: Settings["impactRead"] = settings.impactRead,
): EstateSource {
  const { subscriptions, managementGroups } = effectiveScope(settings, scope);
  return createResourceGraphSource({
    impact,
    ...overrides.resourceGraph,
    ...(overrides.credential ? { credential: overrides.credential } : {}),
    cloud: settings.cloud,
    armEndpoint: settings.armEndpoint,
    subscriptions,
    managementGroups,
    readPolicy: settings.readPolicy || settings.policyAssignmentId !== null,
  });
}

export interface LiveScanRequest {
  settings: Settings;
  scope?: LiveScope;
  signal?: AbortSignal;
  newRunId?: () => string;
  overrides?: LiveScanOverrides;
}

/**
 * The plan of a live audit from the settings, the same for the timer and the HTTP function: the
 * catalog the settings name (KMS_AUDIT_ENDPOINTS_FILE, KMS_AUDIT_SERVICE_TAGS_FILE,
 * KMS_AUDIT_DECLARATIONS_FILE, KMS_AUDIT_ENDPOINT_SETS: the CLI's --endpoints, --service-tags,
 * --declarations and --endpoint-set), Resource Graph in the given scope, and the facts stage
 * (KMS_AUDIT_CONFIRM_GATEWAY_ROUTES and KMS_AUDIT_VERIFY_EFFECTIVE_ROUTES: the CLI's flags).
 * Actions and sinks are the caller's.
 */
export async function livePlan(request: LiveScanRequest): Promise<AuditPlan> {
  const { settings } = request;
  const catalog = await loadCatalog({
    cloud: settings.cloud,
    endpointsFile: settings.endpointsFile,
    serviceTagsFile: settings.serviceTagsFile,
    declarationsFile: settings.declarationsFile,
    endpointSets: settings.endpointSets,
    endpointSetsName: "KMS_AUDIT_ENDPOINT_SETS",
    blob: {
      ...request.overrides?.catalogBlob,
      ...(request.overrides?.credential ? { credential: request.overrides.credential } : {}),
    },
  });
  return {
    source: liveSourceFromSettings(settings, request.scope, request.overrides),
    cloud: settings.cloud,
    catalog,
    facts: createFactsStage({
      learnedRoutes: settings.confirmGatewayRoutes,
      effectiveRoutes: settings.verifyEffectiveRoutes,
      network: armNetworkOptions(settings, request.overrides),
    }),
    policyAssignment: settings.policyAssignmentId
      ? {
          id: settings.policyAssignmentId,
          definitionReferenceId: settings.policyDefinitionReferenceId,
        }
      : null,
    signal: request.signal,
    newRunId: request.newRunId,
  };
}

/** How long attestations live: from the timer's schedule (KMS_AUDIT_SCHEDULE). */
export function attestationLifetimeFrom(settings: Settings): AttestationLifetime {
  const intervalInMs = longestIntervalInMs(settings.schedule);
  if (intervalInMs === null)
    throw new SettingsError(
      "KMS_AUDIT_SCHEDULE",
      `"${settings.schedule}" never fires or cannot be read, so attestations cannot be given an expiry (two missed runs)`,
    );
  return { intervalInMs };
}

/**
 * The attestation action of the settings (KMS_AUDIT_POLICY_ASSIGNMENT_ID), or null when no
 * assignment is set. `plan` reads and reports; `apply` writes.
 */
export function attestationActionFromSettings(
  settings: Settings,
  mode: "plan" | "apply",
  overrides: LiveScanOverrides = {},
): AuditAction | null {
  if (!settings.policyAssignmentId) return null;
  return attestationAction({
    assignmentId: settings.policyAssignmentId,
    definitionReferenceId: settings.policyDefinitionReferenceId,
    mode,
    lifetime: attestationLifetimeFrom(settings),
    evidenceUri: settings.workspaceId
      ? workspaceLogsUri(settings.cloud, settings.workspaceId)
      : null,
    client: createAttestationsClient({
      ...overrides.attestations,
      ...(overrides.credential ? { credential: overrides.credential } : {}),
      cloud: settings.cloud,
      armEndpoint: settings.armEndpoint,
    }),
  });
}

/** Where ARM's network API is for the facts stage and remediation. */
export function armNetworkOptions(
  settings: Settings,
  overrides: LiveScanOverrides = {},
): ArmNetworkOptions {
  return {
    ...overrides.network,
    ...(overrides.credential ? { credential: overrides.credential } : {}),
    cloud: settings.cloud,
    armEndpoint: settings.armEndpoint,
  };
}

/** The Log Analytics sink of the settings; throws SettingsError when it is not configured. */
export function logAnalyticsSinkFromSettings(
  settings: Settings,
  pendingStore: PendingStore,
  overrides: LiveScanOverrides = {},
): ResultSink {
  return createLogAnalyticsSink(
    logAnalyticsSinkOptionsFromSettings(settings, {
      ...overrides.logAnalytics,
      ...(overrides.credential ? { credential: overrides.credential } : {}),
      pendingStore: overrides.logAnalytics?.pendingStore ?? pendingStore,
    }),
  );
}
