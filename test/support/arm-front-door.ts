import { request } from "node:https";
import type { ArmRow } from "../../src/inventory/arm-row.js";
import {
  startArmNetworkEmulator,
  type ArmNetworkEmulator,
} from "../../kit/emulators/arm-network.js";
import type { ResourceGraphEmulator } from "../../kit/emulators/resource-graph.js";
import { startHttpsServer, type RunningHttpsServer } from "../../kit/support/https-server.js";
import { testCertificate } from "../../kit/support/tls.js";

/**
 * One Resource Manager endpoint in front of the loopback emulators, as management.azure.com is:
 * Resource Graph's API goes to the Resource Graph emulator, everything else to the ARM network
 * emulator. A CLI or Function given this URL (KMS_AUDIT_ARM_ENDPOINT) reads Resource Graph and
 * the facts stage's ARM lists from one place.
 */
export async function startArmFrontDoor(upstreams: {
  resourceGraph: ResourceGraphEmulator;
  network: ArmNetworkEmulator;
}): Promise<RunningHttpsServer> {
  const { cert } = await testCertificate();
  return startHttpsServer((req, res) => {
    const path = req.url ?? "/";
    const graph = /^\/providers\/microsoft\.resourcegraph\//i.test(path);
    const target = new URL(path, graph ? upstreams.resourceGraph.url : upstreams.network.url);
    const forward = request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host }, ca: cert },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(forward);
  });
}

const HUB_CHILDREN = {
  "microsoft.network/virtualhubs/hubvirtualnetworkconnections": "hubVirtualNetworkConnections",
  "microsoft.network/virtualhubs/routingintent": "routingIntent",
} as const;

/**
 * An ARM network emulator that holds what ARM has and Resource Graph does not, taken from an
 * estate's rows: each Virtual WAN hub's virtual network connections and routing intent (an empty
 * list for a hub the rows give none).
 */
export async function armEmulatorFor(rows: readonly ArmRow[]): Promise<ArmNetworkEmulator> {
  const arm = await startArmNetworkEmulator();
  const byHub = new Map<string, Map<string, ArmRow[]>>();
  for (const row of rows) {
    const type = row.type.toLowerCase();
    if (type === "microsoft.network/virtualhubs")
      byHub.set(row.id, byHub.get(row.id) ?? new Map<string, ArmRow[]>());
    const child = HUB_CHILDREN[type as keyof typeof HUB_CHILDREN];
    if (!child) continue;
    const hubId = row.id.slice(0, row.id.toLowerCase().lastIndexOf(`/${child.toLowerCase()}/`));
    const lists = byHub.get(hubId) ?? new Map<string, ArmRow[]>();
    byHub.set(hubId, lists);
    lists.set(child, [...(lists.get(child) ?? []), row]);
  }
  for (const [hubId, lists] of byHub)
    for (const child of Object.values(HUB_CHILDREN))
      arm.setChildren(hubId, child, { value: lists.get(child) ?? [] });
  return arm;
}
