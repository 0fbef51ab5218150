import { setTimeout as delay } from "node:timers/promises";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import {
  ResourceGraphClient,
  type QueryRequest,
  type QueryResponse,
  type ResourceGraphClientOptionalParams,
} from "@azure/arm-resourcegraph";
import { callSignal } from "../../call-signal.js";
import type { ArmRow } from "../../inventory/arm-row.js";
import { keyOf, parseResourceId } from "../../inventory/resource-id.js";
import type { Logger } from "../../logging/logger.js";
import type { CloudName, RunError } from "../../model.js";
import { InputError, SourceError, describeCredentialError, describeError } from "../../errors.js";
import { isGuid, isManagementGroupId } from "../../azure/ids.js";
import type { EstateBatch, EstateSource, SourceContext } from "../source.js";
import { armEndpointOf } from "../../azure/arm-endpoint.js";
import { cloudEndpoints } from "../../azure/clouds.js";
import { headersFrom, retryAfterInMs, type HeaderBag } from "../../azure/retry-after.js";
import {
  IMPACT_ROWS_QUERY,
  IMPACT_TOTALS_QUERY,
  IMPACT_TOTALS_TYPE,
  NEXT_HOP_NICS_QUERY,
  PARTITION_ROW_LIMIT,
  POLICY_QUERY,
  RESOURCES_QUERY,
  RESOURCES_WITHOUT_IMPACT_QUERY,
  RULE_COLLECTION_GROUPS_QUERY,
  VIRTUAL_NETWORKS_PER_PARTITION,
  VIRTUAL_NETWORK_IMPACT_TYPE,
  SUBSCRIPTIONS_QUERY,
  impactPartitionQuery,
} from "./queries.js";
import { QuotaPacer } from "./quota.js";

/** Most rows one Resource Graph page may hold (`options.$top`). */
export const MAX_PAGE_SIZE = 1000;
/** Most subscriptions one Resource Graph request may name; larger lists are sent in batches. */
export const MAX_SUBSCRIPTIONS_PER_REQUEST = 1000;
/** Longest Retry-After this source honours. */
const MAX_RETRY_AFTER_IN_MS = 300_000;
/** Most pages one query may take, whatever the service says (10 million rows at 1,000 a page). */
export const DEFAULT_MAX_PAGES = 10_000;
/** Pages in a row with no rows but a skip token after which paging is abandoned. */
const MAX_EMPTY_PAGES = 3;
/** Response header set when a tenant or management-group scope was cut to its first subscriptions. */
export const SUBSCRIPTION_LIMIT_HIT_HEADER = "x-ms-tenant-subscription-limit-hit";

export interface RetryOptions {
  /** Retries of one page after the first attempt (429, 5xx, 408, timeouts, dropped connections). */
  maxRetries?: number;
  /** First back-off delay when the service gives no hint; doubles per retry. */
  baseDelayInMs?: number;
  maxDelayInMs?: number;
}

export interface ResourceGraphSourceOptions {
  cloud: CloudName;
  /** Overrides the cloud's Resource Manager endpoint (a private endpoint, or a test emulator). */
  armEndpoint?: URL | string | null;
  /** Token scope; default: the cloud's Resource Manager audience ("<endpoint>/.default"). */
  tokenScope?: string;
  /** Subscription IDs to read; with managementGroups empty too, the whole tenant is read. */
  subscriptions?: readonly string[];
  managementGroups?: readonly string[];
  /** Default: DefaultAzureCredential with the cloud's authority host. */
  credential?: TokenCredential;
  /**
   * Transport settings for ResourceGraphClient: TLS trust (e.g. a test emulator's certificate) and
   * proxy. Retries and the endpoint stay this source's own.
   */
  clientOptions?: Pick<ResourceGraphClientOptionalParams, "tlsOptions" | "proxyOptions">;
  /** Rows per page, 1..1000; default 1000. */
  pageSize?: number;
  /** Subscriptions per request, 1..1000; default 1000. */
  subscriptionBatchSize?: number;
  /** Time one request may take before it is abandoned and retried; default 60 s. */
  requestTimeoutInMs?: number;
  /**
   * Most pages one query reads before paging is abandoned as runaway (PAGING_STOPPED); default
   * 10,000.
   */
  maxPages?: number;
  retry?: RetryOptions;
  /**
   * How NICs and VMs are read: "aggregate" (default) lets Resource Graph count them per subnet and
   * reads as rows only the NICs and VMs a path needs; "rows" reads every one (more pages, more
   * memory; what an aggregate that cannot be trusted falls back to anyway).
   */
  impact?: "aggregate" | "rows";
  /**
   * Also read Azure Policy assignments, definitions, initiatives and exemptions (`policyresources`):
   * exemptions of the attested assignment and deny policies that would reject a fix. A policy read
   * that fails is the run error POLICY_NOT_READABLE (incomplete), never "no policies".
   */
  readPolicy?: boolean;
  /** Clock, injectable for tests. */
  now?: () => Date;
  /** Waits; injectable for tests. Must reject when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

interface Scope {
  /** For logs and errors: "tenant", "management groups a, b" or "subscriptions 1-1000 of 2500". */
  label: string;
  subscriptions?: string[];
  managementGroups?: string[];
}

/** A page that is what the protocol says: `data` an array, `count` and `totalRecords` numbers. */
interface CheckedPage {
  /** Rows with a string `id` and `type`. */
  rows: ArmRow[];
  /** Rows of `data` without them. */
  invalid: number;
  /** `data.length`: every row the page held. */
  received: number;
  skipToken: string | undefined;
  totalRecords: number | null;
  resultTruncated: boolean;
}

type PageResult =
  | { ok: true; page: CheckedPage; headers: HeaderBag | null }
  | {
      ok: false;
      status: number | null;
      code: string | null;
      message: string;
      /** The service answered 200 with something that is not a Resource Graph page. */
      malformed: boolean;
    };

const AUTH_ERROR_NAMES = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  "AggregateAuthenticationError",
  "AuthenticationRequiredError",
]);

const NETWORK_ERROR_CODES = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

function positiveInt(name: string, value: number | undefined, fallback: number, max: number) {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new InputError(`${name} must be an integer from 1 to ${max}; got ${String(value)}`);
  }
  return v;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function errorDetailCodes(error: unknown): string[] {
  const codes: string[] = [];
  const e = error as {
    code?: unknown;
    details?: { error?: { code?: unknown; details?: { code?: unknown }[] } };
  };
  if (typeof e?.code === "string") codes.push(e.code);
  const inner = e?.details?.error;
  if (typeof inner?.code === "string") codes.push(inner.code);
  for (const d of inner?.details ?? []) if (typeof d?.code === "string") codes.push(d.code);
  return codes;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * The page of a 200 answer, or why it is not one. The service sends `data` as an array of objects
 * (resultFormat objectArray, which this source asks for), `count` as the number of those rows and
 * `totalRecords` as the query's total; anything else (a proxy's HTML page, `data` as an object, a
 * table) must not pass for an empty page.
 */
export function checkPage(response: unknown): CheckedPage | string {
  if (typeof response !== "object" || response === null || Array.isArray(response)) {
    return `the answer is ${kindOf(response)}, not a Resource Graph page`;
  }
  const body = response as Partial<Record<keyof QueryResponse, unknown>>;
  const data = body.data;
  if (data === undefined) return "the answer has no 'data'";
  if (!Array.isArray(data)) {
    const table =
      typeof data === "object" && data !== null && "columns" in data && Array.isArray(data.columns);
    return table
      ? "'data' is in table format (columns, rows), not the object array that was asked for"
      : `'data' is ${kindOf(data)}, not an array of rows`;
  }
  if (typeof body.count === "number" && body.count !== data.length) {
    return `'count' says ${body.count} rows but 'data' holds ${data.length}`;
  }
  const totalRecords = body.totalRecords;
  if (totalRecords !== undefined && (typeof totalRecords !== "number" || totalRecords < 0)) {
    return `'totalRecords' is ${kindOf(totalRecords)}, not a row count`;
  }
  const token = body.skipToken;
  if (token !== undefined && token !== null && typeof token !== "string") {
    return `'$skipToken' is ${kindOf(token)}, not a string`;
  }
  const rows = (data as unknown[]).filter(isArmRow);
  return {
    rows,
    invalid: data.length - rows.length,
    received: data.length,
    skipToken: token || undefined,
    totalRecords: typeof totalRecords === "number" ? totalRecords : null,
    resultTruncated: String(body.resultTruncated).toLowerCase() === "true",
  };
}

function isArmRow(value: unknown): value is ArmRow {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { id?: unknown }).id === "string" &&
    typeof (value as { type?: unknown }).type === "string"
  );
}

/**
 * The live source: reads the audited resource types of a tenant (or of the given subscriptions and
 * management groups) from Azure Resource Graph with the real `ResourceGraphClient`.
 *
 * Per scope batch it sends one `resourcecontainers` query (subscription display names) and one
 * `resources` query over every audited type, paged by `$skipToken` with `$top` = pageSize. It paces
 * itself on the quota headers, retries 429/5xx/timeouts a bounded number of times, and reports
 * anything it could not read through `context.reportError`.
 */
export function createResourceGraphSource(options: ResourceGraphSourceOptions): EstateSource {
  const endpoint = armEndpointOf(options.cloud, options.armEndpoint);
  const cloud = cloudEndpoints(options.cloud);
  const tokenScope = options.tokenScope ?? cloud.armScope;
  const subscriptions = [...new Set((options.subscriptions ?? []).map((s) => s.toLowerCase()))];
  const managementGroups = [...new Set(options.managementGroups ?? [])];
  for (const s of subscriptions) {
    if (!isGuid(s)) throw new InputError(`subscription "${s}" is not a subscription ID (GUID)`);
  }
  for (const m of managementGroups) {
    if (!isManagementGroupId(m)) throw new InputError(`"${m}" is not a management group ID`);
  }
  const pageSize = positiveInt("pageSize", options.pageSize, MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const batchSize = positiveInt(
    "subscriptionBatchSize",
    options.subscriptionBatchSize,
    MAX_SUBSCRIPTIONS_PER_REQUEST,
    MAX_SUBSCRIPTIONS_PER_REQUEST,
  );
  const requestTimeoutInMs = options.requestTimeoutInMs ?? 60_000;
  const maxPages = positiveInt("maxPages", options.maxPages, DEFAULT_MAX_PAGES, 1_000_000);
  const maxRetries = options.retry?.maxRetries ?? 4;
  const baseDelayInMs = options.retry?.baseDelayInMs ?? 1_000;
  const maxDelayInMs = options.retry?.maxDelayInMs ?? 30_000;
  const now = options.now ?? (() => new Date());
  const nowMs = () => now().getTime();
  const sleep =
    options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));

  const scopes: Scope[] = [];
  if (managementGroups.length > 0) {
    scopes.push({ label: `management groups ${managementGroups.join(", ")}`, managementGroups });
  }
  const batches = chunk(subscriptions, batchSize);
  batches.forEach((batch, i) => {
    const label =
      batches.length === 1
        ? `subscriptions (${batch.length})`
        : `subscriptions batch ${i + 1}/${batches.length} (${batch.length})`;
    scopes.push({ label, subscriptions: batch });
  });
  if (scopes.length === 0) scopes.push({ label: "tenant" });

  return {
    kind: "resource-graph",
    inputs: [`${endpoint}/providers/Microsoft.ResourceGraph/resources`],
    scope: { subscriptions: [...subscriptions], managementGroups: [...managementGroups] },
    read(context: SourceContext): AsyncIterable<EstateBatch> {
      const credential =
        options.credential ?? new DefaultAzureCredential({ authorityHost: cloud.authorityHost });
      const client = new ResourceGraphClient(credential, {
        ...(options.clientOptions?.tlsOptions
          ? { tlsOptions: options.clientOptions.tlsOptions }
          : {}),
        ...(options.clientOptions?.proxyOptions
          ? { proxyOptions: options.clientOptions.proxyOptions }
          : {}),
        endpoint,
        credentials: { scopes: [tokenScope] },
        // This source retries itself, quota-aware; the SDK's own policy would retry 5xx blindly and
        // does not retry 429 without Retry-After at all.
        retryOptions: { maxRetries: 0 },
        userAgentOptions: { userAgentPrefix: "kms-route-audit" },
      });
      client.pipeline.removePolicy({ name: "defaultRetryPolicy" });
      const reader = new PageReader({
        client,
        tokenScope,
        logger: context.logger,
        signal: context.signal,
        pacer: new QuotaPacer({ now: nowMs }),
        nowMs,
        sleep,
        requestTimeoutInMs,
        maxPages,
        maxRetries,
        baseDelayInMs,
        maxDelayInMs,
      });
      return readAll(reader, context, {
        scopes,
        pageSize,
        endpoint,
        tokenScope,
        impact: options.impact ?? "aggregate",
        readPolicy: options.readPolicy === true,
      });
    },
  };
}

/** Rows handed over at a time: a page's worth. */
const BATCH_ROWS = 1000;

async function* readAll(
  reader: PageReader,
  context: SourceContext,
  plan: {
    scopes: Scope[];
    pageSize: number;
    endpoint: string;
    tokenScope: string;
    impact: "aggregate" | "rows";
    readPolicy: boolean;
  },
): AsyncGenerator<EstateBatch> {
  const { logger } = context;
  logger.info(
    {
      endpoint: plan.endpoint,
      tokenScope: plan.tokenScope,
      scopes: plan.scopes.map((s) => s.label),
      pageSize: plan.pageSize,
    },
    "resource graph: reading estate",
  );
  const seen = new Set<string>();
  let total = 0;
  let batch: ArmRow[] = [];
  // Progress: pages and rows read so far, and the distinct subscriptions they came from.
  let pagesRead = 0;
  let rowsRead = 0;
  const subscriptionsSeen = new Set<string>();
  const onPage = (query: string, scope: string, page: number, rows: ArmRow[]) => {
    pagesRead += 1;
    rowsRead += rows.length;
    for (const row of rows) {
      if (typeof row.subscriptionId === "string")
        subscriptionsSeen.add(row.subscriptionId.toLowerCase());
    }
    context.onProgress?.({
      query,
      scope,
      page,
      pages: pagesRead,
      rows: rowsRead,
      subscriptions: subscriptionsSeen.size,
    });
  };
  for (const scope of plan.scopes) {
    const readableSubscriptions = new Set<string>();
    let scopeFailed = false;
    let partialReported = false;
    const report = (error: RunError, fatal: boolean) => {
      if (fatal) scopeFailed = true;
      if (error.code === "SCOPE_PARTIAL") {
        if (partialReported) return;
        partialReported = true;
      }
      context.reportError(error);
    };
    const aggregate = plan.impact === "aggregate";
    const queries: [string, string][] = [
      ["subscriptions", SUBSCRIPTIONS_QUERY],
      ["resources", aggregate ? RESOURCES_WITHOUT_IMPACT_QUERY : RESOURCES_QUERY],
      ["rule collection groups", RULE_COLLECTION_GROUPS_QUERY],
    ];
    if (plan.readPolicy) queries.push(["policy", POLICY_QUERY]);
    if (aggregate) queries.push(["next-hop NICs", NEXT_HOP_NICS_QUERY]);
    const take = (row: ArmRow): EstateBatch | null => {
      // A subscription is readable when any row of it came back, a resource or its container.
      const subscription =
        typeof row.subscriptionId === "string"
          ? row.subscriptionId
          : parseResourceId(row.id).subscriptionId;
      if (subscription) readableSubscriptions.add(subscription.toLowerCase());
      const key = keyOf(row.id);
      if (seen.has(key)) return null;
      seen.add(key);
      total += 1;
      batch.push(row);
      if (batch.length < BATCH_ROWS) return null;
      const full = batch;
      batch = [];
      return full;
    };
    for (const [name, query] of queries) {
      if (scopeFailed) break;
      // Subscription names only label findings: a failure to read them is logged, not a gap in
      // the audit (the resources query reports any scope it cannot read on its own). Policy that
      // cannot be read is a run error of its own: the resources were read, exemptions and deny
      // policies are unknown.
      const onError =
        name === "subscriptions"
          ? (error: RunError) =>
              logger.warn({ error }, "resource graph: subscription names could not be read")
          : name === "policy"
            ? (error: RunError) =>
                report(
                  {
                    code: "POLICY_NOT_READABLE",
                    message: `${error.message} (${error.code}): Azure Policy exemptions and deny policies are unknown`,
                    ...(error.target ? { target: error.target } : {}),
                  },
                  false,
                )
            : report;
      const extra =
        name === "policy" ? { authorizationScopeFilter: "AtScopeAboveAndBelow" as const } : {};
      for await (const row of reader.pages(
        name,
        query,
        scope,
        plan.pageSize,
        onError,
        onPage,
        extra,
      )) {
        const full = take(row);
        if (full) yield full;
      }
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
    if (aggregate && !scopeFailed) {
      const impact = await readImpact(reader, scope, logger, onPage);
      if (impact.ok) {
        for (const row of impact.rows) {
          const full = take(row);
          if (full) yield full;
        }
      } else {
        // Never a wrong count: NICs and VMs are read as rows, like an estate file's.
        logger.warn(
          { scope: scope.label, why: impact.why },
          "resource graph: impact counts cannot be trusted; reading NIC and VM rows",
        );
        for await (const row of reader.pages(
          "NICs and VMs",
          IMPACT_ROWS_QUERY,
          scope,
          plan.pageSize,
          report,
          onPage,
        )) {
          const full = take(row);
          if (full) yield full;
        }
      }
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
    if (!scopeFailed && scope.subscriptions) {
      for (const s of scope.subscriptions) {
        if (readableSubscriptions.has(s)) continue;
        context.reportError({
          code: "SCOPE_NOT_READABLE",
          message: `subscription ${s} was requested but Resource Graph returned nothing for it: it does not exist or the identity cannot read it`,
          target: `/subscriptions/${s}`,
        });
      }
    }
  }
  logger.info({ rows: total }, "resource graph: estate read");
}

type ImpactRead = { ok: true; rows: ArmRow[] } | { ok: false; why: string };

/**
 * The impact counts of one scope: the totals (sizes the partitions and detects arrays too long for
 * mv-expand), then every partition in one page each. Anything that could make a count short (an
 * error, a partition answer at the page limit or paged, an array past 400) gives up the
 * aggregate, and the caller reads rows instead; nothing is reported, since nothing is lost yet.
 */
async function readImpact(
  reader: PageReader,
  scope: Scope,
  logger: Logger,
  onPage: (query: string, scope: string, page: number, rows: ArmRow[]) => void,
): Promise<ImpactRead> {
  const failures: RunError[] = [];
  const collect = (error: RunError) => {
    failures.push(error);
  };
  const one = async (name: string, query: string): Promise<ArmRow[] | string> => {
    const rows: ArmRow[] = [];
    let pages = 0;
    for await (const row of reader.pages(
      name,
      query,
      scope,
      PARTITION_ROW_LIMIT,
      collect,
      (...a) => {
        pages += 1;
        onPage(...a);
      },
    ))
      rows.push(row);
    if (failures.length > 0) return failures.map((f) => f.message).join("; ");
    if (pages > 1) return `${name}: the answer came in ${pages} pages`;
    return rows;
  };
  const totals = await one("impact totals", IMPACT_TOTALS_QUERY);
  if (typeof totals === "string") return { ok: false, why: totals };
  const t = totals[0];
  const count = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null);
  const nics = count(t?.networkInterfaces);
  const vms = count(t?.virtualMachines);
  const vnets = count(t?.virtualNetworks);
  const longest = t?.mostIpConfigurations === null ? 0 : count(t?.mostIpConfigurations);
  if (totals.length !== 1 || nics === null || vms === null || vnets === null || longest === null)
    return { ok: false, why: "impact totals: the answer is not one row of counts" };
  if (longest > 400)
    return {
      ok: false,
      why: `a NIC has ${longest} IP configurations, more than mv-expand expands (400)`,
    };
  const rows: ArmRow[] = [
    {
      id: `${IMPACT_TOTALS_TYPE}/${scope.label}`,
      type: IMPACT_TOTALS_TYPE,
      networkInterfaces: nics,
      virtualMachines: vms,
    },
  ];
  if (nics === 0) return { ok: true, rows };
  const partitions = Math.max(1, Math.ceil(vnets / VIRTUAL_NETWORKS_PER_PARTITION));
  for (let k = 0; k < partitions; k++) {
    const part = await one(`impact ${k + 1}/${partitions}`, impactPartitionQuery(k, partitions));
    if (typeof part === "string") return { ok: false, why: part };
    if (part.length >= PARTITION_ROW_LIMIT)
      return {
        ok: false,
        why: `impact partition ${k + 1}/${partitions} answered ${part.length} rows, the most one page holds`,
      };
    for (const row of part) {
      if (row.type !== VIRTUAL_NETWORK_IMPACT_TYPE)
        return { ok: false, why: `impact partition ${k + 1}: a row of type ${row.type}` };
      rows.push(row);
    }
  }
  logger.info(
    {
      scope: scope.label,
      partitions,
      virtualNetworks: rows.length - 1,
      networkInterfaces: nics,
      virtualMachines: vms,
    },
    "resource graph: impact counted per subnet",
  );
  return { ok: true, rows };
}

interface PageReaderOptions {
  client: ResourceGraphClient;
  tokenScope: string;
  logger: Logger;
  signal: AbortSignal | undefined;
  pacer: QuotaPacer;
  nowMs: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  requestTimeoutInMs: number;
  maxPages: number;
  maxRetries: number;
  baseDelayInMs: number;
  maxDelayInMs: number;
}

class PageReader {
  constructor(private readonly o: PageReaderOptions) {}

  /** Every row of one query over one scope, page by page; anything unreadable goes to `report`. */
  async *pages(
    name: string,
    query: string,
    scope: Scope,
    pageSize: number,
    report: (error: RunError, fatal: boolean) => void,
    onPage?: (query: string, scope: string, page: number, rows: ArmRow[]) => void,
    extraOptions: { authorizationScopeFilter?: "AtScopeAboveAndBelow" } = {},
  ): AsyncGenerator<ArmRow> {
    const partialAllowed = !scope.subscriptions;
    const target = scope.subscriptions
      ? scope.subscriptions.map((s) => `/subscriptions/${s}`).join(",")
      : scope.managementGroups
        ? scope.managementGroups
            .map((m) => `/providers/Microsoft.Management/managementGroups/${m}`)
            .join(",")
        : "tenant";
    const what = `Resource Graph ${name} query, ${scope.label}`;
    let skipToken: string | undefined;
    let page = 0;
    let rows = 0;
    // What paging has seen, to stop a service that never stops giving skip tokens.
    let received = 0;
    let mostRecords: number | null = null;
    let emptyPages = 0;
    const tokens = new Set<string>();
    let invalidRows = 0;
    let firstInvalidPage = 0;
    const stop = (message: string) =>
      report({ code: "PAGING_STOPPED", message: `${what}: ${message}`, target }, true);
    for (;;) {
      page += 1;
      const request: QueryRequest = {
        query,
        ...(scope.subscriptions ? { subscriptions: scope.subscriptions } : {}),
        ...(scope.managementGroups ? { managementGroups: scope.managementGroups } : {}),
        options: {
          top: pageSize,
          resultFormat: "objectArray",
          ...(skipToken ? { skipToken } : {}),
          ...(partialAllowed ? { allowPartialScopes: true } : {}),
          ...extraOptions,
        },
      };
      const result = await this.fetch(request, `${name} query, ${scope.label}, page ${page}`);
      if (!result.ok) {
        const notReadable =
          !result.malformed &&
          (result.code === "NoValidSubscriptionsInQueryRequest" ||
            (result.status !== null && [401, 403, 404].includes(result.status)));
        report(
          {
            code: result.malformed
              ? "PAGE_MALFORMED"
              : notReadable
                ? "SCOPE_NOT_READABLE"
                : "PAGE_NOT_READABLE",
            message:
              `${what}, page ${page} failed: ${result.message}` +
              (page > 1 ? "; later pages were not read" : ""),
            target,
          },
          true,
        );
        break;
      }
      const { page: checked, headers } = result;
      if (page === 1 && headers?.get(SUBSCRIPTION_LIMIT_HIT_HEADER)?.toLowerCase() === "true") {
        report(
          {
            code: "SCOPE_PARTIAL",
            message: `Resource Graph covered only part of ${scope.label}: the scope holds more subscriptions than one query reads (${SUBSCRIPTION_LIMIT_HIT_HEADER}); name subscriptions to read the rest`,
            target: scope.managementGroups?.join(",") ?? "tenant",
          },
          false,
        );
      }
      const pageRows = checked.rows;
      const kept = pageRows.length;
      if (checked.invalid > 0) {
        invalidRows += checked.invalid;
        firstInvalidPage ||= page;
      }
      onPage?.(name, scope.label, page, pageRows);
      yield* pageRows;
      rows += kept;
      received += checked.received;
      if (checked.totalRecords !== null) {
        mostRecords = Math.max(mostRecords ?? 0, checked.totalRecords);
      }
      this.o.logger.info(
        { query: name, scope: scope.label, page, rows: kept, totalRecords: checked.totalRecords },
        "resource graph: page read",
      );
      if (!checked.skipToken) {
        if (checked.resultTruncated) {
          report(
            {
              code: "PAGE_TRUNCATED",
              message: `Resource Graph truncated the ${name} query results for ${scope.label} without a skip token`,
              target: scope.label,
            },
            false,
          );
        } else if (checked.totalRecords !== null && received < checked.totalRecords) {
          // The service counted more rows than it handed over, and offers no way to the rest.
          report(
            {
              code: "PAGE_INCOMPLETE",
              message: `${what}: paging ended after ${received} of the ${checked.totalRecords} rows its totalRecords announced, without a skip token`,
              target,
            },
            true,
          );
        }
        break;
      }
      // Paging must end: a token seen before, more rows than the service counted, pages that
      // hold nothing but a new token, or simply too many pages.
      if (tokens.has(checked.skipToken)) {
        stop(`page ${page} returned the skip token of an earlier page; paging stopped`);
        break;
      }
      tokens.add(checked.skipToken);
      if (mostRecords !== null && received > mostRecords) {
        stop(
          `${received} rows read, more than the ${mostRecords} its totalRecords announced, and still a skip token; paging stopped`,
        );
        break;
      }
      emptyPages = checked.received === 0 ? emptyPages + 1 : 0;
      if (emptyPages >= MAX_EMPTY_PAGES) {
        stop(`${emptyPages} pages in a row held no rows but a new skip token; paging stopped`);
        break;
      }
      if (page >= this.o.maxPages) {
        stop(
          `still a skip token after ${page} pages (the most one query may take); paging stopped`,
        );
        break;
      }
      skipToken = checked.skipToken;
    }
    if (invalidRows > 0) {
      report(
        {
          code: "PAGE_MALFORMED",
          message: `${what}: ${invalidRows} rows without a string 'id' and 'type' were left out (first on page ${firstInvalidPage})`,
          target,
        },
        false,
      );
    }
    this.o.logger.debug(
      { query: name, scope: scope.label, pages: page, rows },
      "resource graph: query done",
    );
  }

  /** One page, with quota pacing and bounded retries. */
  private async fetch(request: QueryRequest, label: string): Promise<PageResult> {
    const { logger, pacer, signal } = this.o;
    let last: {
      status: number | null;
      code: string | null;
      message: string;
      malformed: boolean;
    } = {
      status: null,
      code: null,
      message: "not attempted",
      malformed: false,
    };
    for (let attempt = 0; attempt <= this.o.maxRetries; attempt++) {
      const waitInMs = pacer.delayBeforeNextInMs();
      if (waitInMs > 0) {
        logger.info(
          { waitInMs, page: label },
          "resource graph: waiting for the query quota to reset",
        );
        await this.o.sleep(waitInMs, signal);
      }
      pacer.forgetIfReset();
      signal?.throwIfAborted();
      // Filled by onResponse, which the SDK calls for error answers too.
      const seen: { status: number | null; headers: HeaderBag | null } = {
        status: null,
        headers: null,
      };
      const { timeout, abortSignal } = callSignal(this.o.requestTimeoutInMs, signal);
      pacer.spend();
      try {
        const response = await this.o.client.resources(request, {
          abortSignal,
          onResponse: (raw) => {
            seen.status = raw.status;
            seen.headers = headersFrom(raw.headers);
            if (seen.headers) pacer.observe(seen.headers);
          },
        });
        const checked = checkPage(response);
        if (typeof checked !== "string") return { ok: true, page: checked, headers: seen.headers };
        // A 200 that is not a page (a proxy's HTML, a cut-off body): retried like a 5xx.
        last = { status: 200, code: null, message: `HTTP 200 but ${checked}`, malformed: true };
        if (attempt === this.o.maxRetries) break;
        const retryDelay = this.retryDelayInMs(attempt, 200, seen.headers);
        logger.warn(
          {
            page: label,
            attempt: attempt + 1,
            status: 200,
            malformed: checked,
            delayInMs: retryDelay,
          },
          "resource graph: retrying page",
        );
        await this.o.sleep(retryDelay, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        const name = (error as { name?: unknown })?.name;
        if (typeof name === "string" && AUTH_ERROR_NAMES.has(name)) {
          throw new SourceError(
            `could not get a token for Resource Graph (${this.o.tokenScope}): ${describeCredentialError(error)}`,
            { cause: error },
          );
        }
        const errStatus = (error as { statusCode?: unknown }).statusCode;
        if (seen.status === null && typeof errStatus === "number") seen.status = errStatus;
        const codes = errorDetailCodes(error);
        const timedOut = timeout.aborted;
        const networkCode = (error as { code?: unknown }).code;
        const network = typeof networkCode === "string" && NETWORK_ERROR_CODES.has(networkCode);
        const statusNow = seen.status;
        // An answer with status 200 that the SDK could not parse is a malformed page.
        const malformed = statusNow !== null && statusNow >= 200 && statusNow < 300;
        last = {
          malformed,
          status: statusNow,
          code: codes.find((c) => c !== "BadRequest") ?? codes[0] ?? null,
          message: timedOut
            ? `no answer within ${this.o.requestTimeoutInMs} ms`
            : statusNow !== null
              ? `HTTP ${statusNow}${codes.length ? ` ${codes.join("/")}` : ""}: ${describeError(error)}`
              : describeError(error),
        };
        const retryable =
          malformed ||
          timedOut ||
          network ||
          statusNow === null ||
          statusNow === 408 ||
          statusNow === 429 ||
          (statusNow >= 500 && statusNow !== 501 && statusNow !== 505);
        if (!retryable || attempt === this.o.maxRetries) break;
        const retryDelay = this.retryDelayInMs(attempt, statusNow, seen.headers);
        logger.warn(
          { page: label, attempt: attempt + 1, status: statusNow, timedOut, delayInMs: retryDelay },
          "resource graph: retrying page",
        );
        await this.o.sleep(retryDelay, signal);
      }
    }
    return { ok: false, ...last };
  }

  private retryDelayInMs(attempt: number, status: number | null, headers: HeaderBag | null) {
    const hinted = retryAfterInMs(headers, this.o.nowMs());
    if (hinted !== null) return Math.min(hinted, MAX_RETRY_AFTER_IN_MS);
    const exp = Math.min(this.o.maxDelayInMs, this.o.baseDelayInMs * 2 ** attempt);
    const backoff = Math.round(exp * (0.8 + Math.random() * 0.4));
    if (status === 429) {
      // No Retry-After (the usual Resource Graph answer): wait for the quota window the headers
      // reported; back off when they reported none, or when waiting for it did not help.
      const toReset = this.o.pacer.waitForResetInMs();
      if (toReset !== null) return attempt === 0 ? toReset : Math.max(toReset, backoff);
    }
    return backoff;
  }
}
