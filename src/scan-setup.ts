import type { TokenCredential } from "@azure/identity";
import { loadCatalog } from "./catalog/catalog.js";
import { describeError } from "./errors.js";
import type { Logger } from "./logging/logger.js";
import type { RunError, ScanResult } from "./model.js";
import {
  createLogAnalyticsSink,
  logAnalyticsSinkOptionsFromSettings,
  type LogAnalyticsSinkOptions,
  type PendingStore,
} from "./outputs/log-analytics/index.js";
import type { ResultSink, SinkReport } from "./outputs/sink.js";
import type { ScanOptions } from "./scan.js";
import type { Settings } from "./settings.js";
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
}

/** The settings' scope unless `scope` names subscriptions or management groups. */
export function effectiveScope(settings: Settings, scope?: LiveScope): LiveScope {
  const narrowed =
    scope !== undefined && (scope.subscriptions.length > 0 || scope.managementGroups.length > 0);
  return narrowed
    ? scope
    : { subscriptions: settings.subscriptions, managementGroups: settings.managementGroups };
}

export function liveSourceFromSettings(
  settings: Settings,
  scope?: LiveScope,
  overrides: LiveScanOverrides = {},
): EstateSource {
  const { subscriptions, managementGroups } = effectiveScope(settings, scope);
  return createResourceGraphSource({
    ...overrides.resourceGraph,
    ...(overrides.credential ? { credential: overrides.credential } : {}),
    cloud: settings.cloud,
    armEndpoint: settings.armEndpoint,
    subscriptions,
    managementGroups,
  });
}

export interface LiveScanRequest {
  settings: Settings;
  scope?: LiveScope;
  logger: Logger;
  signal?: AbortSignal;
  newRunId?: () => string;
  overrides?: LiveScanOverrides;
}

/**
 * Options for runScan: the catalog the settings name (KMS_AUDIT_ENDPOINTS_FILE,
 * KMS_AUDIT_SERVICE_TAGS_FILE, KMS_AUDIT_DECLARATIONS_FILE, KMS_AUDIT_ENDPOINT_SETS: the CLI's
 * --endpoints, --service-tags, --declarations and --endpoint-set), Resource Graph in the given scope.
 */
export async function liveScanOptions(request: LiveScanRequest): Promise<ScanOptions> {
  const { settings } = request;
  const catalog = await loadCatalog({
    cloud: settings.cloud,
    endpointsFile: settings.endpointsFile,
    serviceTagsFile: settings.serviceTagsFile,
    declarationsFile: settings.declarationsFile,
    endpointSets: settings.endpointSets,
    endpointSetsName: "KMS_AUDIT_ENDPOINT_SETS",
  });
  return {
    source: liveSourceFromSettings(request.settings, request.scope, request.overrides),
    cloud: request.settings.cloud,
    endpointSets: catalog.endpointSets,
    serviceTags: catalog.serviceTags,
    declarations: catalog.declarations,
    forcedSets: catalog.forcedSets,
    logger: request.logger,
    signal: request.signal,
    newRunId: request.newRunId,
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

/**
 * Hands the result to every sink in turn. A sink that throws (rather than reporting failed
 * records) is turned into a report with every record failed, so one broken sink never hides the
 * others' outcome.
 */
export async function writeToSinks(
  result: ScanResult,
  sinks: readonly ResultSink[],
  context: { logger: Logger; signal?: AbortSignal },
): Promise<SinkReport[]> {
  const reports: SinkReport[] = [];
  for (const sink of sinks) {
    try {
      reports.push(await sink.write(result, context));
    } catch (error) {
      const failure: RunError = {
        code: "SINK_FAILED",
        message: `${sink.name}: ${describeError(error)}`,
        target: sink.name,
      };
      context.logger.error({ sink: sink.name, error: failure }, "sink failed");
      reports.push({
        sink: sink.name,
        delivered: 0,
        failed: result.findings.length + 1,
        errors: [failure],
      });
    }
  }
  return reports;
}
