import type { Inventory } from "../inventory/types.js";
import { keyOf } from "../inventory/resource-id.js";
import type { Exemption } from "../model.js";
import type { PolicyExemption } from "./types.js";

/**
 * Which exemptions cover a subnet, and which of them count.
 *
 * Azure Policy exemptions ("Azure Policy exemption structure", Microsoft Learn): an exemption is a
 * child of the scope it exempts (a resource, a resource group, a subscription, a management
 * group) and covers everything below it; it names one assignment, and for an initiative
 * optionally the definitions (policyDefinitionReferenceIds) it exempts from. "The policy
 * exemption isn't deleted when the expiresOn date is reached ... the exemption is no longer
 * honored": an expired one is reported, never counted.
 *
 * The kms-route-audit-exempt tag (route table or VNet) keeps working; its value may start with
 * `until=YYYY-MM-DD;` (valid through that day, UTC). An expired or unreadable date is reported and
 * not honoured.
 */

export interface ExemptionScope {
  /** The assignment whose exemptions count (KMS_AUDIT_POLICY_ASSIGNMENT_ID); null: none. */
  assignmentId: string | null;
  /** The definition's reference ID when the assignment is an initiative's. */
  definitionReferenceId: string | null;
  /** The run's time: what has expired is judged against it. */
  asOf: Date;
}

export interface SubnetExemptions {
  /** The exemption that counts (an Azure Policy exemption first, then the tag). */
  active: Exemption | null;
  /** Exemptions that cover the subnet but do not count (expired, unreadable date). */
  unhonoured: Exemption[];
}

export const NO_EXEMPTIONS: SubnetExemptions = Object.freeze({
  active: null,
  unhonoured: Object.freeze([]) as unknown as Exemption[],
});

/** The exemptions of one assignment, by the lower-cased scope they sit at. */
export class ExemptionIndex {
  private readonly byScope = new Map<string, PolicyExemption[]>();

  constructor(
    private readonly inventory: Inventory,
    private readonly scope: ExemptionScope,
  ) {
    if (!scope.assignmentId) return;
    const assignment = keyOf(scope.assignmentId);
    const reference = scope.definitionReferenceId?.toLowerCase() ?? null;
    for (const e of inventory.policy.exemptions) {
      if (keyOf(e.policyAssignmentId) !== assignment) continue;
      // Exemptions from some definitions of an initiative only count for ours.
      if (
        e.policyDefinitionReferenceIds.length > 0 &&
        reference !== null &&
        !e.policyDefinitionReferenceIds.some((r) => r.toLowerCase() === reference)
      )
        continue;
      const key = keyOf(e.scope);
      const list = this.byScope.get(key);
      if (list) list.push(e);
      else this.byScope.set(key, [e]);
    }
  }

  get empty(): boolean {
    return this.byScope.size === 0;
  }

  /** The subnet's scope chain, narrowest first: subnet, VNet, resource group, subscription, MGs. */
  private chainOf(subnet: ChainSubject): string[] {
    const sub = subnet.subscriptionId.toLowerCase();
    const chain = [
      keyOf(subnet.id),
      keyOf(subnet.virtualNetworkId),
      `/subscriptions/${sub}/resourcegroups/${subnet.resourceGroup.toLowerCase()}`,
      `/subscriptions/${sub}`,
    ];
    for (const mg of this.inventory.managementGroupsBySubscription.get(sub) ?? [])
      chain.push(`/providers/microsoft.management/managementgroups/${mg}`);
    return chain;
  }

  /** Azure Policy exemptions of the assignment covering the subnet: the first valid one counts. */
  coverOf(subnet: ChainSubject): { active: Exemption | null; unhonoured: Exemption[] } {
    if (this.byScope.size === 0) return { active: null, unhonoured: [] };
    let active: Exemption | null = null;
    const unhonoured: Exemption[] = [];
    const asOf = this.scope.asOf.getTime();
    for (const scope of this.chainOf(subnet)) {
      for (const e of this.byScope.get(scope) ?? []) {
        const expired = e.expiresOn !== null && Date.parse(e.expiresOn) <= asOf;
        const view: Exemption = {
          source: "policyExemption",
          id: e.id,
          category: e.category,
          expiresOn: e.expiresOn,
          description: e.description ?? e.displayName,
          state: expired ? "expired" : e.resourceSelectors ? "notEvaluated" : "active",
        };
        if (view.state === "active" && active === null) active = view;
        else if (view.state !== "active") unhonoured.push(view);
      }
    }
    return { active, unhonoured };
  }
}

interface ChainSubject {
  id: string;
  virtualNetworkId: string;
  subscriptionId: string;
  resourceGroup: string;
}

const UNTIL = /^\s*until\s*=\s*([^;]*?)\s*(?:;\s*(.*))?$/is;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The exemption tag's value as an exemption: "justification", or "until=YYYY-MM-DD; justification"
 * (valid through that day, UTC).
 */
export function tagExemption(value: string, resourceId: string, asOf: Date): Exemption {
  const match = UNTIL.exec(value);
  if (!match) {
    return {
      source: "tag",
      id: resourceId,
      category: null,
      expiresOn: null,
      description: value,
      state: "active",
    };
  }
  const reason = match[2]?.trim() || null;
  const date = DATE.exec(match[1] ?? "");
  const end = date ? Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]) + 1) : NaN;
  const valid =
    date !== null &&
    !Number.isNaN(end) &&
    new Date(end - 1).toISOString().slice(0, 10) === match[1];
  if (!valid) {
    return {
      source: "tag",
      id: resourceId,
      category: null,
      expiresOn: null,
      description: `${reason ?? "exempt"} (until=${match[1] ?? ""} is not a date YYYY-MM-DD)`,
      state: "invalid",
    };
  }
  return {
    source: "tag",
    id: resourceId,
    category: null,
    expiresOn: new Date(end).toISOString(),
    description: reason,
    state: end <= asOf.getTime() ? "expired" : "active",
  };
}

/** The words a finding's summary uses for the exemption that made it Exempt. */
export function exemptionLabel(e: Exemption): string {
  const until = e.expiresOn ? `, until ${e.expiresOn}` : "";
  if (e.source === "policyExemption")
    return `Azure Policy exemption${e.category ? ` (${e.category})` : ""}${e.description ? `: ${e.description}` : ""}${until}`;
  return `${e.description ?? "exempt"}${until}`;
}
