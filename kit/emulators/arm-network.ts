import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ArmRow } from "../../src/inventory/arm-row.js";
import { startHttpsServer, type RunningHttpsServer } from "../support/https-server.js";

/**
 * A loopback HTTPS Azure Resource Manager for the Microsoft.Network operations kms-route-audit
 * uses, driven by the real NetworkManagementClient:
 *
 * - POST …/virtualNetworkGateways/{gw}/getLearnedRoutes and
 *   POST …/networkInterfaces/{nic}/effectiveRouteTable: long-running; 202 with Location (and, in
 *   "async" mode, Azure-AsyncOperation), `polls` answers of 202 / InProgress, then the result.
 * - GET …/routeTables/{rt}: the table with its etag (W/"guid"), routes nested as ARM returns them.
 * - PUT …/routeTables/{rt}/routes/{r}: If-Match is compared with the table's etag (the Network RP
 *   gives child resources their parent's etag); a mismatch is 412 PreconditionFailed. 201 on
 *   create, 200 on update, with Azure-AsyncOperation polling; every change gets a new etag.
 * - Facts the audit reads live (VirtualRouterPeerListLearnedRoute.json,
 *   EffectiveRoutesListForConnection.json and the list examples): POST
 *   …/virtualHubs/{hub}/bgpConnections/{peer}/learnedRoutes (long-running, RouteServiceRole_IN_0/1),
 *   POST …/virtualHubs/{hub}/effectiveRoutes (long-running, by the body's resourceId), GET
 *   …/virtualHubs/{hub}/bgpConnections, …/hubVirtualNetworkConnections, …/routingIntent and
 *   …/firewallPolicies/{policy}/ruleCollectionGroups (lists).
 */

export interface EmulatedRoute {
  name: string;
  addressPrefix: string;
  nextHopType: string;
  nextHopIpAddress?: string;
}

export interface EmulatedRouteTable {
  id: string;
  location: string;
  etag: string;
  routes: EmulatedRoute[];
  subnets: string[];
  disableBgpRoutePropagation: boolean;
}

export interface GatewayBehaviour {
  routes?: {
    network: string;
    nextHop?: string;
    sourcePeer?: string;
    origin?: string;
    asPath?: string;
    weight?: number;
    localAddress?: string;
  }[];
  /** Answer the POST with this status and an ARM error body instead. */
  status?: number;
  /** Never answer the first request (for timeouts). */
  hang?: boolean;
}

export interface NicBehaviour {
  routes?: {
    name?: string;
    source: string;
    state: string;
    addressPrefix: string[];
    nextHopType: string;
    nextHopIpAddress?: string[];
  }[];
  status?: number;
}

/** A fact's answer: what it returns, or an error status, or no answer at all. */
export interface FactBehaviour<T> {
  value?: T;
  status?: number;
  hang?: boolean;
}

export interface EmulatedPeerRoute {
  network: string;
  nextHop: string;
  sourcePeer?: string;
  origin?: string;
  asPath?: string;
}

export interface EmulatedHubRoute {
  addressPrefixes: string[];
  nextHops: string[];
  nextHopType: string;
  routeOrigin?: string;
  asPath?: string;
}

export interface RecordedArmRequest {
  method: string;
  path: string;
  ifMatch: string | null;
  status: number;
}

export interface ArmNetworkEmulatorOptions {
  /** Polls answered "still running" before a long-running operation completes; default 2. */
  polls?: number;
  /** "location": 202 + Location only; "async": Azure-AsyncOperation + Location. */
  lroMode?: "location" | "async";
  isValidToken?: (token: string) => boolean;
}

export interface ArmNetworkEmulator {
  url: string;
  certificate: RunningHttpsServer["certificate"];
  readonly requests: RecordedArmRequest[];
  setGateway(id: string, behaviour: GatewayBehaviour): void;
  setNic(id: string, behaviour: NicBehaviour): void;
  /** A Route Server BGP peer (virtualHubs/bgpConnections): its row and its learned routes. */
  setBgpPeer(connection: ArmRow, learned: FactBehaviour<EmulatedPeerRoute[]>): void;
  /** Effective routes of a hub virtual network connection (by the connection's ID). */
  setHubEffectiveRoutes(connectionId: string, routes: FactBehaviour<EmulatedHubRoute[]>): void;
  /** Child lists ARM holds and Resource Graph does not (by parent ID): connections, intents, RCGs. */
  setChildren(
    parentId: string,
    child: "hubVirtualNetworkConnections" | "routingIntent" | "ruleCollectionGroups",
    rows: FactBehaviour<ArmRow[]>,
  ): void;
  routeTables: Map<string, EmulatedRouteTable>;
  addRouteTable(table: Omit<EmulatedRouteTable, "etag">): void;
  /** Changes a table as another operator would (new etag). */
  editRouteTable(id: string, edit: (table: EmulatedRouteTable) => void): void;
  /** Called before a route PUT is judged; a test can edit the table concurrently here. */
  beforeRouteWrite?: (tableId: string, routeName: string) => void;
  /**
   * Called before a GET of a route table is answered, with how many GETs of it came so far
   * (1-based); a test can delete the table here, as someone else might between two reads.
   */
  beforeTableRead?: (tableId: string, reads: number) => void;
  /** The next `times` GETs of the table answer without an etag (a proxy or a partial read). */
  withholdEtag(id: string, times: number): void;
  /** The route tables as Resource Graph would return them now. */
  routeTableRows(): ArmRow[];
  /** Poll requests answered so far. */
  polls(): number;
  close(): Promise<void>;
}

const newEtag = () => `W/"${randomUUID()}"`;
const key = (s: string) => s.toLowerCase();

function armError(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { code, message } }));
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

async function bodyOf(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? (JSON.parse(text) as unknown) : null;
}

export async function startArmNetworkEmulator(
  options: ArmNetworkEmulatorOptions = {},
): Promise<ArmNetworkEmulator> {
  const polls = options.polls ?? 2;
  const mode = options.lroMode ?? "location";
  const requests: RecordedArmRequest[] = [];
  const gateways = new Map<string, GatewayBehaviour>();
  const nics = new Map<string, NicBehaviour>();
  const routeTables = new Map<string, EmulatedRouteTable>();
  const peers = new Map<string, { row: ArmRow; learned: FactBehaviour<EmulatedPeerRoute[]> }>();
  const hubRoutes = new Map<string, FactBehaviour<EmulatedHubRoute[]>>();
  const children = new Map<string, FactBehaviour<ArmRow[]>>();
  /** operation id → remaining polls and the final body. */
  const operations = new Map<string, { remaining: number; result: unknown }>();
  let pollCount = 0;
  const etagless = new Map<string, number>();
  const tableReads = new Map<string, number>();

  const tableJson = (t: EmulatedRouteTable) => ({
    id: t.id,
    name: t.id.slice(t.id.lastIndexOf("/") + 1),
    type: "Microsoft.Network/routeTables",
    location: t.location,
    etag: t.etag as string | undefined,
    properties: {
      provisioningState: "Succeeded",
      disableBgpRoutePropagation: t.disableBgpRoutePropagation,
      routes: t.routes.map((r) => routeJson(t, r)),
      subnets: t.subnets.map((id) => ({ id })),
    },
  });
  const routeJson = (t: EmulatedRouteTable, r: EmulatedRoute) => ({
    id: `${t.id}/routes/${r.name}`,
    name: r.name,
    type: "Microsoft.Network/routeTables/routes",
    etag: t.etag,
    properties: {
      provisioningState: "Succeeded",
      addressPrefix: r.addressPrefix,
      nextHopType: r.nextHopType,
      ...(r.nextHopIpAddress ? { nextHopIpAddress: r.nextHopIpAddress } : {}),
    },
  });

  // eslint-disable-next-line prefer-const -- assigned after the server it is used by starts
  let emulator: ArmNetworkEmulator;
  const running = await startHttpsServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      const path = url.pathname;
      const ifMatch = typeof req.headers["if-match"] === "string" ? req.headers["if-match"] : null;
      const record = (status: number) =>
        requests.push({ method: req.method ?? "", path, ifMatch, status });
      const auth = req.headers.authorization ?? "";
      const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
      if (!token || (options.isValidToken && !options.isValidToken(token))) {
        record(401);
        return armError(res, 401, "InvalidAuthenticationToken", "no valid bearer token");
      }
      if (!url.searchParams.get("api-version")) {
        record(400);
        return armError(res, 400, "MissingApiVersionParameter", "api-version is required");
      }
      const startOperation = (result: unknown) => {
        const id = randomUUID();
        operations.set(id, { remaining: polls, result });
        const headers: Record<string, string> = {
          location: `${running.url}/operations/${id}/result?api-version=2026-01-01`,
        };
        if (mode === "async")
          headers["azure-asyncoperation"] =
            `${running.url}/operations/${id}/status?api-version=2026-01-01`;
        record(202);
        res.writeHead(202, headers);
        res.end();
      };

      const op = /^\/operations\/([^/]+)\/(result|status)$/.exec(path);
      if (op && req.method === "GET") {
        pollCount++;
        const state = operations.get(op[1]!);
        if (!state) {
          record(404);
          return armError(res, 404, "NotFound", "no such operation");
        }
        if (op[2] === "status") {
          if (state.remaining > 0) {
            state.remaining--;
            record(200);
            return json(res, 200, { status: "InProgress" });
          }
          record(200);
          return json(res, 200, { status: "Succeeded" });
        }
        if (state.remaining > 0 && mode === "location") {
          state.remaining--;
          record(202);
          res.writeHead(202, { location: `${running.url}${path}?api-version=2026-01-01` });
          return res.end();
        }
        record(200);
        return json(res, 200, state.result);
      }

      const gw =
        /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.network\/virtualnetworkgateways\/[^/]+)\/getlearnedroutes$/i.exec(
          path,
        );
      if (gw && req.method === "POST") {
        const behaviour = gateways.get(key(gw[1]!));
        if (!behaviour) {
          record(404);
          return armError(res, 404, "ResourceNotFound", `gateway ${gw[1]} not found`);
        }
        if (behaviour.hang) {
          record(0);
          return; // never answers
        }
        if (behaviour.status) {
          record(behaviour.status);
          return armError(
            res,
            behaviour.status,
            behaviour.status === 403 ? "AuthorizationFailed" : "InternalServerError",
            behaviour.status === 403
              ? "The client does not have authorization to perform action 'Microsoft.Network/virtualNetworkGateways/getLearnedRoutes/action'"
              : "failure",
          );
        }
        return startOperation({
          value: (behaviour.routes ?? []).map((r) => ({
            localAddress: r.localAddress ?? "10.0.0.4",
            network: r.network,
            nextHop: r.nextHop ?? "10.0.0.12",
            sourcePeer: r.sourcePeer ?? "10.0.0.12",
            origin: r.origin ?? "EBgp",
            asPath: r.asPath ?? "12076-65020",
            weight: r.weight ?? 32769,
          })),
        });
      }

      const failure = (b: FactBehaviour<unknown>, action: string): boolean => {
        if (b.hang) {
          record(0);
          return true; // never answers
        }
        if (!b.status) return false;
        record(b.status);
        armError(
          res,
          b.status,
          b.status === 403
            ? "AuthorizationFailed"
            : b.status === 404
              ? "ResourceNotFound"
              : "InternalServerError",
          b.status === 403
            ? `The client does not have authorization to perform action '${action}'`
            : "failure",
        );
        return true;
      };
      const hub =
        /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.network\/virtualhubs\/[^/]+)(?:\/(bgpconnections|hubvirtualnetworkconnections|routingintent|effectiveroutes)(?:\/([^/]+)(?:\/(learnedroutes))?)?)?$/i.exec(
          path,
        );
      if (hub && hub[2]) {
        const hubId = key(hub[1]!);
        const what = hub[2].toLowerCase();
        if (what === "bgpconnections" && hub[4] && req.method === "POST") {
          const peer = peers.get(key(`${hub[1]}/bgpConnections/${hub[3]}`));
          if (!peer) {
            record(404);
            return armError(res, 404, "ResourceNotFound", "no such BGP connection");
          }
          if (
            failure(
              peer.learned,
              "Microsoft.Network/virtualHubs/bgpConnections/learnedRoutes/action",
            )
          )
            return;
          const routes = (peer.learned.value ?? []).map((r) => ({
            localAddress: "10.0.0.68",
            network: r.network,
            nextHop: r.nextHop,
            sourcePeer: r.sourcePeer ?? r.nextHop,
            origin: r.origin ?? "EBgp",
            asPath: r.asPath ?? "65002",
            weight: 0,
          }));
          // Two Route Server instances, each with what it learned.
          return startOperation({ RouteServiceRole_IN_0: routes, RouteServiceRole_IN_1: routes });
        }
        if (what === "bgpconnections" && !hub[3] && req.method === "GET") {
          record(200);
          return json(res, 200, {
            value: [...peers.values()]
              .filter((p) => key(p.row.id).startsWith(`${hubId}/`))
              .map((p) => ({ ...p.row, type: "Microsoft.Network/virtualHubs/bgpConnections" })),
          });
        }
        if (what === "effectiveroutes" && req.method === "POST") {
          const body = (await bodyOf(req)) as { resourceId?: string } | null;
          const routes = body?.resourceId ? hubRoutes.get(key(body.resourceId)) : undefined;
          if (!routes) {
            record(404);
            return armError(res, 404, "ResourceNotFound", "no effective routes for that resource");
          }
          if (failure(routes, "Microsoft.Network/virtualHubs/effectiveRoutes/action")) return;
          return startOperation({ value: routes.value ?? [] });
        }
        if (
          (what === "hubvirtualnetworkconnections" || what === "routingintent") &&
          !hub[3] &&
          req.method === "GET"
        ) {
          const list = children.get(`${hubId}|${what}`);
          if (list && failure(list, `Microsoft.Network/virtualHubs/${what}/read`)) return;
          record(200);
          return json(res, 200, { value: list?.value ?? [] });
        }
      }
      const rcg =
        /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.network\/firewallpolicies\/[^/]+)\/rulecollectiongroups$/i.exec(
          path,
        );
      if (rcg && req.method === "GET") {
        const list = children.get(`${key(rcg[1]!)}|rulecollectiongroups`);
        if (list && failure(list, "Microsoft.Network/firewallPolicies/ruleCollectionGroups/read"))
          return;
        record(200);
        return json(res, 200, { value: list?.value ?? [] });
      }

      const nic =
        /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.network\/networkinterfaces\/[^/]+)\/effectiveroutetable$/i.exec(
          path,
        );
      if (nic && req.method === "POST") {
        const behaviour = nics.get(key(nic[1]!));
        if (!behaviour || behaviour.status) {
          const status = behaviour?.status ?? 404;
          record(status);
          return armError(
            res,
            status,
            status === 400 ? "VMNotRunning" : "ResourceNotFound",
            "not readable",
          );
        }
        return startOperation({ value: behaviour.routes ?? [] });
      }

      const rt =
        /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.network\/routetables\/[^/]+)(?:\/routes\/([^/]+))?$/i.exec(
          path,
        );
      if (rt) {
        const routeName = rt[2] ? decodeURIComponent(rt[2]) : null;
        if (req.method === "GET" && !routeName && emulator.beforeTableRead) {
          const reads = (tableReads.get(key(rt[1]!)) ?? 0) + 1;
          tableReads.set(key(rt[1]!), reads);
          emulator.beforeTableRead(rt[1]!, reads);
        }
        const table = routeTables.get(key(rt[1]!));
        if (!table) {
          record(404);
          return armError(res, 404, "ResourceNotFound", `route table ${rt[1]} not found`);
        }
        if (req.method === "GET" && !routeName) {
          record(200);
          const withheld = etagless.get(key(table.id)) ?? 0;
          if (withheld > 0) {
            etagless.set(key(table.id), withheld - 1);
            return json(res, 200, { ...tableJson(table), etag: undefined });
          }
          return json(res, 200, tableJson(table));
        }
        if (req.method === "GET" && routeName) {
          const route = table.routes.find((r) => key(r.name) === key(routeName));
          record(route ? 200 : 404);
          return route
            ? json(res, 200, routeJson(table, route))
            : armError(res, 404, "NotFound", "route not found");
        }
        if (req.method === "PUT" && routeName) {
          const body = (await bodyOf(req)) as { properties?: Partial<EmulatedRoute> } | null;
          emulator.beforeRouteWrite?.(table.id, routeName);
          if (ifMatch !== null && ifMatch !== table.etag) {
            record(412);
            return armError(
              res,
              412,
              "PreconditionFailed",
              `Etag provided in if-match header ${ifMatch} does not match etag ${table.etag} of resource ${table.id}.`,
            );
          }
          const props = body?.properties ?? {};
          if (!props.addressPrefix || !props.nextHopType) {
            record(400);
            return armError(
              res,
              400,
              "InvalidRequestFormat",
              "addressPrefix and nextHopType are required",
            );
          }
          const clash = table.routes.find(
            (r) => r.addressPrefix === props.addressPrefix && key(r.name) !== key(routeName),
          );
          if (clash) {
            record(400);
            return armError(
              res,
              400,
              "RouteConflict",
              `route ${clash.name} already has prefix ${clash.addressPrefix}`,
            );
          }
          const existing = table.routes.find((r) => key(r.name) === key(routeName));
          const route: EmulatedRoute = {
            name: existing?.name ?? routeName,
            addressPrefix: props.addressPrefix,
            nextHopType: props.nextHopType,
            ...(props.nextHopIpAddress ? { nextHopIpAddress: props.nextHopIpAddress } : {}),
          };
          if (existing) table.routes[table.routes.indexOf(existing)] = route;
          else table.routes.push(route);
          table.etag = newEtag();
          const id = randomUUID();
          operations.set(id, { remaining: polls, result: routeJson(table, route) });
          const status = existing ? 200 : 201;
          record(status);
          return json(
            res,
            status,
            {
              ...routeJson(table, route),
              properties: { ...routeJson(table, route).properties, provisioningState: "Updating" },
            },
            {
              "azure-asyncoperation": `${running.url}/operations/${id}/status?api-version=2026-01-01`,
            },
          );
        }
      }
      record(404);
      armError(res, 404, "NotFound", `${req.method} ${path} is not emulated`);
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });

  emulator = {
    url: running.url,
    certificate: running.certificate,
    requests,
    setGateway: (id, behaviour) => void gateways.set(key(id), behaviour),
    setNic: (id, behaviour) => void nics.set(key(id), behaviour),
    setBgpPeer: (row, learned) => void peers.set(key(row.id), { row, learned }),
    setHubEffectiveRoutes: (id, routes) => void hubRoutes.set(key(id), routes),
    setChildren: (parentId, child, rows) =>
      void children.set(`${key(parentId)}|${child.toLowerCase()}`, rows),
    routeTables,
    addRouteTable(table) {
      etagless.delete(key(table.id));
      tableReads.delete(key(table.id));
      routeTables.set(key(table.id), {
        ...table,
        routes: table.routes.map((r) => ({ ...r })),
        etag: newEtag(),
      });
    },
    withholdEtag(id, times) {
      etagless.set(key(id), times);
    },
    editRouteTable(id, edit) {
      const table = routeTables.get(key(id));
      if (!table) throw new Error(`no table ${id}`);
      edit(table);
      table.etag = newEtag();
    },
    routeTableRows() {
      return [...routeTables.values()].map((t) => {
        const row = tableJson(t);
        return { ...row, type: "microsoft.network/routetables" };
      });
    },
    polls: () => pollCount,
    close: () => running.close(),
  };
  return emulator;
}
