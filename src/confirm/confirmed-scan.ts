import {
  confirmWithEffectiveRoutes,
  confirmWithGatewayRoutes,
  gatewaysToRead,
  needsEffectiveRoutes,
  networkInterfaceFor,
} from "../audit/confirm-gateway-routes.js";
import { flattenEndpoints } from "../catalog/endpoints.js";
import type { RunError, ScanResult } from "../model.js";
import type { Inventory } from "../inventory/inventory.js";
import { keyOf } from "../inventory/resource-id.js";
import { countByStatus, runScanWithInventory, type ScanOptions } from "../scan.js";
import {
  createNetworkClients,
  type ArmNetworkOptions,
  type NetworkClients,
} from "./network-client.js";
import { readEffectiveRoutes, readLearnedRoutes } from "./read-routes.js";

export interface ConfirmationOptions {
  /** Read the learned routes of the gateways that Unverified (BGP) subnets depend on. */
  confirmGatewayRoutes: boolean;
  /** Read one VM NIC's effective routes per subnet still Unverified. */
  verifyEffectiveRoutes: boolean;
  /** Most NICs whose effective routes one run reads; default 50. */
  maxNetworkInterfaces?: number;
  network: ArmNetworkOptions;
  /** Injectable for tests; default: createNetworkClients(network). */
  clients?: NetworkClients;
}

const DEFAULT_MAX_NETWORK_INTERFACES = 50;

/**
 * runScan, then confirmation against ARM (issue 6): learned routes of the gateways behind the
 * Unverified BGP subnets, then, optionally, effective routes for the subnets still in doubt.
 *
 * Anything that cannot be read is a run error (GATEWAY_ROUTES_UNREADABLE,
 * EFFECTIVE_ROUTES_UNREADABLE) and makes the run incomplete: the user asked for confirmation and
 * did not get all of it, so the exit code says so (3), and `complete` keeps meaning "errors is
 * empty". The affected subnets stay Unverified, never guessed.
 */
export async function runConfirmedScan(
  scan: ScanOptions,
  confirm: ConfirmationOptions,
): Promise<ScanResult> {
  return (await runConfirmedScanWithInventory(scan, confirm)).result;
}

/** runConfirmedScan, also handing back the inventory (for remediation after it). */
export async function runConfirmedScanWithInventory(
  scan: ScanOptions,
  confirm: ConfirmationOptions,
): Promise<{ result: ScanResult; inventory: Inventory }> {
  const scanned = await runScanWithInventory(scan);
  return { result: await confirmScanned(scanned, scan, confirm), inventory: scanned.inventory };
}

async function confirmScanned(
  { result, inventory }: { result: ScanResult; inventory: Inventory },
  scan: ScanOptions,
  confirm: ConfirmationOptions,
): Promise<ScanResult> {
  if (!confirm.confirmGatewayRoutes && !confirm.verifyEffectiveRoutes) return result;
  const now = scan.now ?? (() => new Date());
  const logger = scan.logger.child({ runId: result.run.id });
  const endpoints = flattenEndpoints(scan.endpointSets);
  const clients = confirm.clients ?? createNetworkClients(confirm.network);
  const ctx = { clients, options: confirm.network, logger, signal: scan.signal };
  const errors: RunError[] = [...result.run.errors];
  let findings = result.findings;

  if (confirm.confirmGatewayRoutes) {
    const gatewayIds = gatewaysToRead(inventory, findings);
    logger.info({ gateways: gatewayIds.length }, "confirming gateway routes");
    const reads = await readLearnedRoutes(gatewayIds, ctx);
    for (const id of gatewayIds) {
      const read = reads.get(keyOf(id));
      if (read && !read.ok)
        errors.push({
          code: "GATEWAY_ROUTES_UNREADABLE",
          message: `learned routes of gateway ${id} could not be read: ${read.message}`,
          target: id,
        });
    }
    findings = confirmWithGatewayRoutes(inventory, findings, reads, {
      endpoints,
      serviceTags: scan.serviceTags,
    });
  }

  if (confirm.verifyEffectiveRoutes) {
    const budget = confirm.maxNetworkInterfaces ?? DEFAULT_MAX_NETWORK_INTERFACES;
    const candidates = findings
      .filter(needsEffectiveRoutes)
      .map((f) => ({
        subnetId: f.subnetId,
        networkInterfaceId: networkInterfaceFor(inventory, f.subnetId),
      }))
      .filter(
        (t): t is { subnetId: string; networkInterfaceId: string } => t.networkInterfaceId !== null,
      );
    const targets = candidates.slice(0, budget);
    if (candidates.length > targets.length)
      logger.warn(
        { budget, skipped: candidates.length - targets.length },
        "effective routes: NIC budget reached; the remaining subnets stay Unverified",
      );
    const reads = await readEffectiveRoutes(targets, ctx);
    for (const read of reads.values()) {
      if (!read.ok)
        errors.push({
          code: "EFFECTIVE_ROUTES_UNREADABLE",
          message: `effective routes of ${read.networkInterfaceId} could not be read: ${read.message}`,
          target: read.networkInterfaceId ?? undefined,
        });
    }
    findings = confirmWithEffectiveRoutes(inventory, findings, reads, {
      endpoints,
      serviceTags: scan.serviceTags,
    });
  }

  return {
    ...result,
    run: {
      ...result.run,
      finishedAt: now().toISOString(),
      complete: errors.length === 0,
      errors,
      counts: countByStatus(findings),
    },
    findings,
  };
}
