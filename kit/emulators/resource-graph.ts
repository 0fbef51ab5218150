import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ArmRow } from "../../src/inventory/arm-row.js";
import { startHttpsServer, type RunningHttpsServer } from "../support/https-server.js";
import {
  impactPartition,
  impactTotals,
  limitProblem,
  nextHopNics,
  nicRowNeeded,
  shapeOf,
  vmTagged,
} from "./resource-graph-queries.js";

/**
 * A loopback HTTPS Azure Resource Graph, speaking the REST protocol the real SDK uses:
 * POST /providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01 with
 * { subscriptions?, managementGroups?, query, options{$top,$skipToken,resultFormat,allowPartialScopes} }
 * answered by { totalRecords, count, resultTruncated, $skipToken?, data }.
 *
 * It understands only the query shapes the live source sends: the table (`resources`,
 * `resourcecontainers` or `networkresources`), the type filter (`type in~ (...)` or `type =~ '...'`)
 * with the NIC and VM conditions, a `project` column list and `order by id`; and the aggregate
 * shapes of resource-graph-queries.ts (next-hop NICs, impact totals and partitions), whose
 * `summarize` answers come in one page only, like the service's. Queries past Resource Graph's
 * operator limits are refused. It enforces a per-identity quota like the service (headers on every
 * answer; 429 WITHOUT Retry-After when exceeded) and injects faults on demand.
 */

export interface QuotaSettings {
  /** Queries per window and identity. */
  limit: number;
  windowInMs: number;
}

/**
 * A 200 answer that is not what the protocol promises (issue 15): a proxy's HTML page, a body that
 * is not JSON, `data` that is an object, missing or in table format, rows without `id`/`type`, a
 * `totalRecords` larger than the rows paging delivers, and skip tokens that never end paging.
 */
export type PageFault =
  /** 200 text/html: a captive portal or a proxy's error page. */
  | "html"
  /** 200 application/json whose body is not JSON (cut off). */
  | "not-json"
  /** `data` is an object. */
  | "data-object"
  /** No `data` at all. */
  | "no-data"
  /** `data` in table format ({ columns, rows }) though objectArray was asked for. */
  | "table"
  /** Every other row loses its `id`, one row its `type`. */
  | "rows-without-id"
  /** `totalRecords: 5000`, this page's rows and no skip token. */
  | "total-too-large"
  /** The request's own skip token again (page 1: a token that asks for page 1). */
  | "same-skip-token"
  /** A new skip token every time, for the same rows. */
  | "new-skip-token"
  /** A new skip token every time, for the same rows, and no `totalRecords`. */
  | "new-skip-token-no-total"
  /** No rows, no `totalRecords`, and a new skip token every time. */
  | "empty-new-token";

export interface Fault {
  /**
   * HTTP status to answer with (429, 500, 503…), or "hang" to never answer. With `page`, 200 and
   * the page fault.
   */
  status: number | "hang";
  /** Answer 200 with this kind of broken page (status must be 200). */
  page?: PageFault;
  /** Seconds for a Retry-After header; omitted: no header. */
  retryAfterSeconds?: number;
  /** How many matching requests get the fault; default 1. Infinity for always. */
  times?: number;
  /** Which requests; default every one. */
  when?: (request: RecordedRequest) => boolean;
}

export interface RecordedRequest {
  at: number;
  /** The query text as sent. */
  query: string;
  table: string | null;
  types: string[];
  subscriptions: string[] | null;
  managementGroups: string[] | null;
  top: number | null;
  skipToken: string | null;
  allowPartialScopes: boolean | null;
  /** options.authorizationScopeFilter as sent (policyresources above the scope). */
  authorizationScopeFilter: string | null;
  /** The 1-based page this request asked for (1 when it had no skip token). */
  page: number;
  authorization: "valid" | "missing" | "invalid";
  status: number | "hang";
  /** Why the status was what it was: "served", "quota", "fault", "auth", "bad-request", "scope". */
  outcome: string;
  /** Bytes of the JSON body answered. */
  bytes: number;
}

export interface ResourceGraphEmulatorOptions {
  /** The estate: ARM rows, subscriptions included (type microsoft.resources/subscriptions). */
  rows: ArmRow[];
  isValidToken: (token: string) => boolean;
  quota?: QuotaSettings;
  latencyInMs?: number;
  /** Subscriptions the identity cannot read. */
  inaccessibleSubscriptions?: string[];
  /** Management group ID → subscription IDs below it. */
  managementGroups?: Record<string, string[]>;
  /** Tenant / management-group scopes are cut to this many subscriptions (the service: 10,000). */
  scopeSubscriptionLimit?: number;
  /** Most subscriptions one request may name (the service: 1,000). */
  maxSubscriptionsPerRequest?: number;
  /** Which quota a token draws on; default: each token its own. */
  identityOf?: (token: string) => string;
  /** Extra header checks, e.g. the audience of the token; return an error text to refuse. */
  checkToken?: (token: string) => string | null;
  /** Scales the impact totals' VNet estimate (dcountif), to make it a bad one. Default 1. */
  impactVirtualNetworksScale?: number;
}

export interface ResourceGraphEmulator {
  url: string;
  certificate: RunningHttpsServer["certificate"];
  readonly requests: RecordedRequest[];
  /** 429 answers given because the quota was exhausted. */
  readonly throttled: number;
  injectFault(fault: Fault): void;
  /** Another client of the same identity sends `count` queries now. */
  spendQuota(identity: string, count: number): void;
  /**
   * Another client of the identity sends `count` queries just before the next request of it
   * arrives: the window that request meets is surely used up, however long the client took to
   * start (spendQuota at a wall-clock moment races the client's start-up).
   */
  spendQuotaAtNextRequest(identity: string, count: number): void;
  /** Requests that were served (status 200). */
  servedPages(table?: string): RecordedRequest[];
  close(): Promise<void>;
}

const SUBSCRIPTION_TYPE = "microsoft.resources/subscriptions";
const API_PATH = "/providers/microsoft.resourcegraph/resources";

/** .NET TimeSpan "c" style: hh:mm:ss, with seven fraction digits when not whole seconds. */
export function formatTimeSpan(ms: number): string {
  const clamped = Math.max(0, ms);
  const totalSeconds = Math.floor(clamped / 1000);
  const fraction = Math.round((clamped - totalSeconds * 1000) * 10_000);
  const hh = String(Math.floor(totalSeconds / 3600)).padStart(2, "0");
  const mm = String(Math.floor((totalSeconds % 3600) / 60)).padStart(2, "0");
  const ss = String(totalSeconds % 60).padStart(2, "0");
  return fraction > 0
    ? `${hh}:${mm}:${ss}.${String(fraction).padStart(7, "0")}`
    : `${hh}:${mm}:${ss}`;
}

interface ParsedQuery {
  table: string;
  types: string[];
  columns: string[] | null;
}

const RULE_COLLECTION_GROUP_TYPE = "microsoft.network/firewallpolicies/rulecollectiongroups";
const NIC_TYPE = "microsoft.network/networkinterfaces";
const VM_TYPE = "microsoft.compute/virtualmachines";
/** Types the policyresources table holds (of those the live source asks for). */
const POLICY_TYPES: ReadonlySet<string> = new Set([
  "microsoft.authorization/policyassignments",
  "microsoft.authorization/policydefinitions",
  "microsoft.authorization/policysetdefinitions",
  "microsoft.authorization/policyexemptions",
]);

function parseQuery(query: string): ParsedQuery | null {
  const table = /^\s*(\w+)/.exec(query)?.[1]?.toLowerCase();
  if (!table) return null;
  let types: string[] = [];
  const list = /\btype\s+in~\s*\(([^)]*)\)/i.exec(query);
  const single = /\btype\s*=~\s*'([^']*)'/i.exec(query);
  if (list?.[1]) {
    types = [...list[1].matchAll(/'([^']*)'/g)].map((m) => (m[1] ?? "").toLowerCase());
  } else if (single?.[1]) {
    types = [single[1].toLowerCase()];
  }
  const project = /\|\s*project\s+([^|]+)/i.exec(query);
  const columns = project?.[1]
    ? project[1]
        .split(",")
        .map((c) => c.trim())
        .filter((c) => c.length > 0)
    : null;
  return { table, types, columns };
}

/** The served page as `fault` breaks it: a body object, or raw text to send as is. */
function breakPage(
  page: Record<string, unknown>,
  fault: PageFault,
  tokens: { requestToken: string; newToken: () => string },
): Record<string, unknown> | string {
  const rows = page.data as Record<string, unknown>[];
  const without = (o: Record<string, unknown>, ...keys: string[]) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
  switch (fault) {
    case "html":
      return "<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>";
    case "not-json":
      return JSON.stringify(page).slice(0, 40);
    case "data-object":
      return { ...page, data: { value: rows } };
    case "no-data":
      return without(page, "data");
    case "table": {
      const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      return {
        ...page,
        data: {
          columns: columns.map((name) => ({ name, type: "string" })),
          rows: rows.map((r) => columns.map((c) => r[c])),
        },
      };
    }
    case "rows-without-id":
      return {
        ...page,
        data: rows.map((r, i) => {
          if (i === 1) return { ...r, type: 42 };
          return i % 2 === 0 ? r : without(r, "id");
        }),
      };
    case "total-too-large":
      return { ...without(page, "$skipToken"), totalRecords: 5000 };
    case "same-skip-token":
      return { ...page, $skipToken: tokens.requestToken };
    case "new-skip-token":
      return { ...page, $skipToken: tokens.newToken() };
    case "new-skip-token-no-total":
      return { ...without(page, "totalRecords"), $skipToken: tokens.newToken() };
    case "empty-new-token":
      return {
        ...without(page, "totalRecords"),
        count: 0,
        data: [],
        $skipToken: tokens.newToken(),
      };
  }
}

function subscriptionOf(row: ArmRow): string {
  if (typeof row.subscriptionId === "string") return row.subscriptionId.toLowerCase();
  return (/^\/subscriptions\/([^/]+)/i.exec(row.id)?.[1] ?? "").toLowerCase();
}

export async function startResourceGraphEmulator(
  options: ResourceGraphEmulatorOptions,
): Promise<ResourceGraphEmulator> {
  const requests: RecordedRequest[] = [];
  const faults: (Fault & { left: number })[] = [];
  const hanging = new Set<ServerResponse>();
  let throttled = 0;
  let nonces = 0;
  const spendAtNext = new Map<string, number>();
  const quotaByIdentity = new Map<string, { windowStart: number; used: number }>();
  const inaccessible = new Set(
    (options.inaccessibleSubscriptions ?? []).map((s) => s.toLowerCase()),
  );
  const maxPerRequest = options.maxSubscriptionsPerRequest ?? 1000;
  const rows: ArmRow[] = options.rows.map((r) => ({ ...r, type: r.type.toLowerCase() }));
  const tables = new Map<string, ArmRow[]>();
  const selections = new Map<
    string,
    {
      selected: Record<string, unknown>[];
      summarized: boolean;
      shape: ReturnType<typeof shapeOf>;
    }
  >();
  const estateSubscriptions = [...new Set(rows.map(subscriptionOf))].filter((s) => s !== "").sort();

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });

  const quotaHeaders = (identity: string): Record<string, string> => {
    const q = options.quota;
    if (!q) return {};
    const state = quotaByIdentity.get(identity);
    const now = Date.now();
    if (!state || now - state.windowStart >= q.windowInMs) {
      return {
        "x-ms-user-quota-remaining": String(q.limit),
        "x-ms-user-quota-resets-after": formatTimeSpan(q.windowInMs),
      };
    }
    return {
      "x-ms-user-quota-remaining": String(Math.max(0, q.limit - state.used)),
      "x-ms-user-quota-resets-after": formatTimeSpan(state.windowStart + q.windowInMs - now),
    };
  };

  /** Counts one query against the identity's window; false when the quota is exhausted. */
  const consumeQuota = (identity: string): boolean => {
    const q = options.quota;
    if (!q) return true;
    const now = Date.now();
    let state = quotaByIdentity.get(identity);
    if (!state || now - state.windowStart >= q.windowInMs) {
      state = { windowStart: now, used: 0 };
      quotaByIdentity.set(identity, state);
    }
    if (state.used >= q.limit) return false;
    state.used += 1;
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const bodyText = await readBody(req);
    let recorded: RecordedRequest | null = null;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      if (recorded) recorded.bytes = Buffer.byteLength(text);
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
      res.end(text);
    };
    const error = (status: number, code: string, message: string, details?: unknown[]) =>
      send(status, { error: { code, message, ...(details ? { details } : {}) } });

    if (req.method !== "POST" || url.pathname.toLowerCase() !== API_PATH) {
      return error(404, "NotFound", `no route for ${req.method} ${url.pathname}`);
    }
    let body: {
      query?: unknown;
      subscriptions?: unknown;
      managementGroups?: unknown;
      options?: {
        $top?: unknown;
        $skipToken?: unknown;
        resultFormat?: unknown;
        allowPartialScopes?: unknown;
        authorizationScopeFilter?: unknown;
      };
    };
    try {
      body = JSON.parse(bodyText) as typeof body;
    } catch {
      return error(400, "BadRequest", "body is not JSON");
    }
    const query = typeof body.query === "string" ? body.query : "";
    const parsed = parseQuery(query);
    const subscriptions = Array.isArray(body.subscriptions)
      ? body.subscriptions.map((s) => String(s).toLowerCase())
      : null;
    const managementGroups = Array.isArray(body.managementGroups)
      ? body.managementGroups.map(String)
      : null;
    const top = typeof body.options?.$top === "number" ? body.options.$top : null;
    const skipToken = typeof body.options?.$skipToken === "string" ? body.options.$skipToken : null;
    let offset = 0;
    let tokenHash: string | null = null;
    if (skipToken) {
      try {
        const decoded = JSON.parse(Buffer.from(skipToken, "base64url").toString("utf8")) as {
          offset: number;
          hash: string;
        };
        offset = decoded.offset;
        tokenHash = decoded.hash;
      } catch {
        offset = -1;
      }
    }
    const pageSize = Math.min(top ?? 100, 1000);
    const auth = req.headers.authorization ?? "";
    const token = auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : "";
    const quotaKey = options.identityOf ? options.identityOf(token) : token;
    const preSpend = spendAtNext.get(quotaKey);
    if (preSpend !== undefined) {
      spendAtNext.delete(quotaKey);
      for (let i = 0; i < preSpend; i++) consumeQuota(quotaKey);
    }
    const record: RecordedRequest = {
      at: Date.now(),
      query,
      table: parsed?.table ?? null,
      types: parsed?.types ?? [],
      subscriptions,
      managementGroups,
      top,
      skipToken,
      allowPartialScopes:
        typeof body.options?.allowPartialScopes === "boolean"
          ? body.options.allowPartialScopes
          : null,
      authorizationScopeFilter:
        typeof body.options?.authorizationScopeFilter === "string"
          ? body.options.authorizationScopeFilter
          : null,
      page: offset > 0 ? Math.floor(offset / pageSize) + 1 : 1,
      authorization: !token ? "missing" : options.isValidToken(token) ? "valid" : "invalid",
      status: 200,
      outcome: "served",
      bytes: 0,
    };
    recorded = record;
    requests.push(record);
    const finish = (status: number | "hang", outcome: string) => {
      record.status = status;
      record.outcome = outcome;
    };

    if (url.searchParams.get("api-version") !== "2024-04-01") {
      finish(400, "bad-request");
      return error(400, "InvalidApiVersionParameter", "api-version must be 2024-04-01 here");
    }
    if (record.authorization !== "valid") {
      finish(401, "auth");
      return error(401, "AuthenticationFailed", "missing or invalid bearer token");
    }
    const tokenProblem = options.checkToken?.(token) ?? null;
    if (tokenProblem) {
      finish(401, "auth");
      return error(401, "InvalidAuthenticationTokenAudience", tokenProblem);
    }
    const fault = faults.find((f) => f.left > 0 && (!f.when || f.when(record)));
    const pageFault = fault?.page;
    if (fault) fault.left -= 1;
    if (fault && !pageFault) {
      if (fault.status === "hang") {
        finish("hang", "fault");
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }
      finish(fault.status, "fault");
      const headers: Record<string, string> = { ...quotaHeaders(quotaKey) };
      if (fault.retryAfterSeconds !== undefined)
        headers["retry-after"] = String(fault.retryAfterSeconds);
      return send(
        fault.status,
        {
          error: {
            code: fault.status === 429 ? "RateLimiting" : "ServiceUnavailable",
            message: "injected fault",
          },
        },
        headers,
      );
    }
    if (!consumeQuota(quotaKey)) {
      throttled += 1;
      finish(429, "quota");
      // Like the service: 429 with the quota headers and no Retry-After.
      return send(
        429,
        {
          error: {
            code: "RateLimiting",
            message: "Please provide below info when asking for support",
          },
        },
        quotaHeaders(quotaKey),
      );
    }
    const headers = quotaHeaders(quotaKey);
    if (
      !parsed ||
      (parsed.table !== "resources" &&
        parsed.table !== "resourcecontainers" &&
        parsed.table !== "networkresources" &&
        parsed.table !== "policyresources")
    ) {
      finish(400, "bad-request");
      return error(400, "BadRequest", "query not understood by the emulator");
    }
    if (top !== null && (top < 1 || top > 1000)) {
      finish(400, "bad-request");
      return error(400, "BadRequest", "$top must be 1..1000");
    }
    if (subscriptions && subscriptions.length > maxPerRequest) {
      finish(400, "bad-request");
      return error(400, "BadRequest", `at most ${maxPerRequest} subscriptions per request`);
    }

    // Scope: the subscriptions this request may see.
    let scope: string[];
    let limitHit = false;
    if (subscriptions) {
      scope = subscriptions.filter((s) => !inaccessible.has(s));
      if (scope.length === 0) {
        finish(400, "scope");
        return error(400, "BadRequest", "Please provide below info when asking for support", [
          {
            code: "NoValidSubscriptionsInQueryRequest",
            message: `There must be at least one subscription that is eligible to contain resources. Given: '${subscriptions.join(",")}'.`,
          },
        ]);
      }
    } else {
      let candidates = estateSubscriptions;
      if (managementGroups) {
        const known = options.managementGroups ?? {};
        const unknown = managementGroups.filter((m) => !(m in known));
        if (unknown.length > 0) {
          finish(403, "scope");
          return error(
            403,
            "AuthorizationFailed",
            `cannot read management group ${unknown.join(", ")}`,
          );
        }
        candidates = [...new Set(managementGroups.flatMap((m) => known[m] ?? []))]
          .map((s) => s.toLowerCase())
          .sort();
      }
      scope = candidates.filter((s) => !inaccessible.has(s));
      const limit = options.scopeSubscriptionLimit;
      if (limit !== undefined && scope.length > limit) {
        if (record.allowPartialScopes !== true) {
          finish(400, "scope");
          return error(400, "BadRequest", "scope has too many subscriptions; allow partial scopes");
        }
        scope = scope.slice(0, limit);
        limitHit = true;
      }
    }
    const inScope = new Set(scope);
    const problem = limitProblem(query);
    if (problem) {
      finish(400, "bad-request");
      return error(400, "BadRequest", `query not supported by Resource Graph: ${problem}`);
    }
    // policyresources: policy objects at a scope (subscription, group, resource) and, with
    // authorizationScopeFilter AtScopeAboveAndBelow, those at the management groups above the
    // scope's subscriptions and at the tenant (built-in definitions).
    const above = record.authorizationScopeFilter?.toLowerCase() === "atscopeaboveandbelow";
    const groupsAbove = new Set(
      Object.entries(options.managementGroups ?? {})
        .filter(([, subs]) => subs.some((s) => inScope.has(s.toLowerCase())))
        .map(([mg]) => mg.toLowerCase()),
    );
    const policyVisible = (r: ArmRow): boolean => {
      const sub = subscriptionOf(r);
      if (sub) return inScope.has(sub);
      if (!above) return false;
      const mg = /^\/providers\/microsoft\.management\/managementgroups\/([^/]+)\//i.exec(
        r.id,
      )?.[1];
      return mg
        ? groupsAbove.has(mg.toLowerCase())
        : /^\/providers\/microsoft\.authorization\//i.test(r.id);
    };
    const hash = createHash("sha256")
      .update(JSON.stringify([query, subscriptions, managementGroups]))
      .digest("hex")
      .slice(0, 16);
    // What a query selects in a scope is computed once: later pages slice the same list.
    const cacheKey = `${hash}|${[...inScope].join(",")}|${above}`;
    let cached = selections.get(cacheKey);
    if (!cached) {
      const shape = shapeOf(query);
      const wanted = new Set(parsed.types);
      const byId = (a: { id: unknown }, b: { id: unknown }) => {
        const x = String(a.id).toLowerCase();
        const y = String(b.id).toLowerCase();
        return x < y ? -1 : x > y ? 1 : 0;
      };
      const tableKey = `${parsed.table}|${[...inScope].join(",")}|${above}`;
      let tableRows = tables.get(tableKey);
      if (!tableRows) {
        tableRows = rows
          .filter((r) => (parsed.table === "resourcecontainers") === (r.type === SUBSCRIPTION_TYPE))
          // networkresources holds rule collection groups; resources does not.
          .filter(
            (r) =>
              (parsed.table === "networkresources") === (r.type === RULE_COLLECTION_GROUP_TYPE),
          )
          .filter((r) => (parsed.table === "policyresources") === POLICY_TYPES.has(r.type))
          .filter((r) =>
            parsed.table === "policyresources" ? policyVisible(r) : inScope.has(subscriptionOf(r)),
          );
        tables.set(tableKey, tableRows);
      }
      // summarize answers are not paged: the first page only (a $skipToken never follows).
      let summarized = false;
      let selected: Record<string, unknown>[];
      switch (shape.kind) {
        case "nextHopNics":
          selected = nextHopNics(tableRows).sort(byId);
          break;
        case "impactTotals":
          summarized = true;
          selected = [impactTotals(tableRows, options.impactVirtualNetworksScale)];
          break;
        case "impactPartition":
          summarized = true;
          selected = impactPartition(tableRows, shape.partition, shape.partitions);
          break;
        case "rows":
          selected = tableRows
            .filter(
              (r) =>
                wanted.size === 0 ||
                wanted.has(r.type) ||
                (shape.nicRowsNeeded && r.type === NIC_TYPE && nicRowNeeded(r)) ||
                (shape.taggedVms !== null && r.type === VM_TYPE && vmTagged(r, shape.taggedVms)),
            )
            .sort(byId);
          break;
      }
      cached = { selected, summarized, shape };
      selections.set(cacheKey, cached);
    }
    const { selected, summarized, shape } = cached;
    if (skipToken && (offset < 0 || tokenHash !== hash)) {
      finish(400, "bad-request");
      return error(400, "BadRequest", "skip token does not belong to this query and scope");
    }
    const pageRows = selected.slice(offset, offset + pageSize).map((r) => {
      if (!parsed.columns || shape.kind !== "rows") return r;
      const out: Record<string, unknown> = {};
      for (const c of parsed.columns) if (c in r) out[c] = r[c];
      return out;
    });
    const next = !summarized && offset + pageSize < selected.length;
    if (options.latencyInMs) await new Promise((r) => setTimeout(r, options.latencyInMs));
    const responseHeaders: Record<string, string> = { ...headers };
    if (limitHit) responseHeaders["x-ms-tenant-subscription-limit-hit"] = "true";
    const tokenFor = (at: number, nonce?: string) =>
      Buffer.from(JSON.stringify({ offset: at, hash, ...(nonce ? { nonce } : {}) })).toString(
        "base64url",
      );
    const page: Record<string, unknown> = {
      totalRecords: selected.length,
      count: pageRows.length,
      resultTruncated: "false",
      ...(next ? { $skipToken: tokenFor(offset + pageSize) } : {}),
      data: pageRows,
    };
    if (pageFault) {
      record.outcome = `page-fault:${pageFault}`;
      const broken = breakPage(page, pageFault, {
        requestToken: skipToken ?? tokenFor(0),
        newToken: () => tokenFor(offset, `${++nonces}`),
      });
      if (typeof broken === "string") {
        const type = pageFault === "html" ? "text/html; charset=utf-8" : "application/json";
        res.writeHead(200, { ...responseHeaders, "content-type": type });
        return res.end(broken);
      }
      return send(200, broken, responseHeaders);
    }
    send(200, page, responseHeaders);
  };

  const server = await startHttpsServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500);
        res.end(String(e));
      }
    });
  });
  return {
    url: server.url,
    certificate: server.certificate,
    requests,
    get throttled() {
      return throttled;
    },
    injectFault(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    spendQuota(identity, count) {
      for (let i = 0; i < count; i++) consumeQuota(identity);
    },
    spendQuotaAtNextRequest(identity, count) {
      spendAtNext.set(identity, count);
    },
    servedPages(table) {
      return requests.filter((r) => r.status === 200 && (table === undefined || r.table === table));
    },
    close: () => {
      for (const res of hanging) res.destroy();
      return server.close();
    },
  };
}
