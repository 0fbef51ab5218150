import type { Inventory, Subnet } from "../../inventory/types.js";
import { keyOf, nameOf } from "../../inventory/resource-id.js";
import type { ReasonCode } from "../../reasons.js";
import type { Tri } from "./match.js";

/** Whether traffic with next hop Internet leaves with an Azure public IP, and how. */
export interface OutboundAccess {
  reachable: Tri;
  /** The cause when it does not (or may not). */
  reason: ReasonCode;
  /** The method in words: "default outbound access", "NAT gateway ng-hub (2 public IPs)", ... */
  detail: string;
  resourceId: string | null;
}

/**
 * A subnet's outbound access (ip-services/default-outbound-access). Subnets that are not private
 * (`defaultOutboundAccess` not false) have default outbound access. A private subnet needs an
 * explicit method: a NAT gateway with a public IP, or (per VM) an instance public IP or a
 * load-balancer outbound rule; only when every NIC has one does the subnet count (a new VM would
 * have none). Without NIC rows in the inventory the per-VM methods are unknown.
 */
export function subnetOutbound(inventory: Inventory, subnet: Subnet): OutboundAccess {
  if (subnet.unread)
    return {
      reachable: null,
      reason: "OUTBOUND_ACCESS_UNKNOWN",
      detail: `subnet ${subnet.name} is known only from its route table: whether it is private, or has a NAT gateway, is unknown`,
      resourceId: subnet.id,
    };
  if (subnet.natGatewayId) {
    // A NAT gateway replaces every other outbound method of the subnet.
    const nat = inventory.natGateways.get(keyOf(subnet.natGatewayId));
    if (nat && nat.publicIpCount > 0)
      return {
        reachable: true,
        reason: "REACHABLE_DIRECT",
        detail: `NAT gateway ${nameOf(nat.id)}`,
        resourceId: nat.id,
      };
    return {
      reachable: null,
      reason: "OUTBOUND_ACCESS_UNKNOWN",
      detail: nat
        ? `NAT gateway ${nameOf(nat.id)} lists no public IP address or prefix`
        : `NAT gateway ${nameOf(subnet.natGatewayId)} is not in the inventory`,
      resourceId: subnet.natGatewayId,
    };
  }
  if (subnet.defaultOutboundAccess !== false) return DEFAULT_OUTBOUND;
  const key = keyOf(subnet.id);
  const count = (inventory.impactBySubnet.get(key) ?? inventory.defaultImpact).networkInterfaces;
  if (count === null)
    return {
      reachable: null,
      reason: "OUTBOUND_ACCESS_UNKNOWN",
      detail:
        "private subnet without a NAT gateway; the inventory has no NIC rows, so instance public IPs and load-balancer outbound rules are unknown",
      resourceId: subnet.id,
    };
  if (subnet.listedNics !== null && subnet.listedNics > count)
    return {
      reachable: null,
      reason: "OUTBOUND_ACCESS_UNKNOWN",
      detail: `private subnet: it lists ${subnet.listedNics} NICs, the inventory holds ${count}, so whether each has a public IP is unknown`,
      resourceId: subnet.id,
    };
  const nics = inventory.nicsBySubnet.get(key);
  if (nics && count > 0) {
    const explicit = nics.withPublicIp + nics.withOutboundRule;
    if (explicit >= count)
      return {
        reachable: true,
        reason: "REACHABLE_DIRECT",
        detail: `every NIC of the private subnet has a public IP or a load-balancer outbound rule`,
        resourceId: subnet.id,
      };
    if (explicit + nics.outboundUnknown >= count)
      return {
        reachable: null,
        reason: "OUTBOUND_ACCESS_UNKNOWN",
        detail: `private subnet: ${nics.outboundUnknown} NIC(s) are in load-balancer pools not in the inventory`,
        resourceId: subnet.id,
      };
  }
  return {
    reachable: false,
    reason: "PRIVATE_SUBNET_NO_OUTBOUND",
    detail:
      "private subnet (defaultOutboundAccess false) without a NAT gateway, instance public IPs or load-balancer outbound rules",
    resourceId: subnet.id,
  };
}

/** Subnets that are not private: most of every estate. */
export const DEFAULT_OUTBOUND: OutboundAccess = {
  reachable: true,
  reason: "REACHABLE_DIRECT",
  detail: "default outbound access",
  resourceId: null,
};
