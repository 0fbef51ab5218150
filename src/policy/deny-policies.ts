import { keyOf, parseResourceId } from "../inventory/resource-id.js";
import type { Inventory } from "../inventory/types.js";
import type { PolicyConflict } from "../model.js";
import { effectOf, ruleMatches, type Candidate, type RuleContext } from "./policy-rule.js";
import type { PolicyAssignment, PolicyDefinition, PolicyParameter } from "./types.js";

/**
 * Deny policies that would reject a fix (README "Azure Policy"). For each assignment in force at
 * the resource the fix creates (its scope covers it, it is not in notScopes, no unexpired
 * exemption of that assignment covers it, enforcementMode Default), the definitions it assigns
 * (directly or through an initiative, parameters resolved: the assignment's values over the
 * initiative's and definition's defaults) are evaluated against the resource as the fix would
 * PUT it. An effect of Deny whose rule matches denies the fix; one whose rule cannot be fully
 * evaluated may deny it. Assignments whose definitions the inventory lacks are not judged.
 *
 * Recognised this way, among others: the Azure Landing Zones definition
 * "Deny-UDR-With-Specific-NextHop" (routes whose nextHopType is in excludedDestinations, default
 * Internet and VirtualNetworkGateway), the built-in "Not allowed resource types" listing
 * natGateways or publicIPAddresses, and any custom deny on those types.
 */

export interface DenyCheck {
  /** Where the resource would be created (its ID, or the resource group for a new resource). */
  targetId: string;
  candidates: Candidate[];
}

interface AssignedDefinition {
  assignment: PolicyAssignment;
  definition: PolicyDefinition;
  referenceId: string | null;
  parameters: Record<string, unknown>;
}

function defaults(parameters: Record<string, PolicyParameter>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(parameters)) if (p.hasDefault) out[name] = p.defaultValue;
  return out;
}

/** "[parameters('x')]" of an initiative, resolved against its values; literals as they are. */
function resolve(value: unknown, parameters: Record<string, unknown>): unknown {
  if (typeof value !== "string") return value;
  const m = /^\[\s*parameters\(\s*'([^']+)'\s*\)\s*\]$/i.exec(value.trim());
  if (!m) return value;
  const name = m[1]!.toLowerCase();
  return name in parameters ? parameters[name] : undefined;
}

export class DenyPolicies {
  private readonly assigned: AssignedDefinition[] = [];
  private readonly cache = new Map<string, PolicyConflict[]>();

  constructor(private readonly inventory: Inventory) {
    const { policy } = inventory;
    for (const assignment of policy.assignments.values()) {
      if (assignment.enforcementMode !== "Default") continue;
      const defKey = keyOf(assignment.policyDefinitionId);
      const single = policy.definitions.get(defKey);
      if (single) {
        this.assigned.push({
          assignment,
          definition: single,
          referenceId: null,
          parameters: { ...defaults(single.parameters), ...assignment.parameters },
        });
        continue;
      }
      const set = policy.setDefinitions.get(defKey);
      if (!set) continue;
      const setValues = { ...defaults(set.parameters), ...assignment.parameters };
      for (const member of set.policyDefinitions) {
        const definition = policy.definitions.get(keyOf(member.policyDefinitionId));
        if (!definition) continue;
        const values: Record<string, unknown> = { ...defaults(definition.parameters) };
        for (const [name, raw] of Object.entries(member.parameters)) {
          const v = resolve(raw, setValues);
          if (v !== undefined) values[name] = v;
        }
        this.assigned.push({
          assignment,
          definition,
          referenceId: member.policyDefinitionReferenceId,
          parameters: values,
        });
      }
    }
  }

  get empty(): boolean {
    return this.assigned.length === 0;
  }

  /** The chain of scopes above a resource ID: itself, its group, its subscription, its MGs. */
  private chainOf(id: string): string[] {
    const { subscriptionId, resourceGroup } = parseResourceId(id);
    const chain = [keyOf(id)];
    if (!subscriptionId) return chain;
    const sub = subscriptionId.toLowerCase();
    if (resourceGroup)
      chain.push(`/subscriptions/${sub}/resourcegroups/${resourceGroup.toLowerCase()}`);
    chain.push(`/subscriptions/${sub}`);
    for (const mg of this.inventory.managementGroupsBySubscription.get(sub) ?? [])
      chain.push(`/providers/microsoft.management/managementgroups/${mg}`);
    return chain;
  }

  private covers(scope: string, chain: string[], id: string): boolean {
    const s = keyOf(scope).replace(/\/+$/, "");
    if (s === "") return true;
    const key = keyOf(id);
    return chain.includes(s) || key.startsWith(`${s}/`);
  }

  private exempted(a: AssignedDefinition, chain: string[], asOf: Date): boolean {
    const assignmentKey = keyOf(a.assignment.id);
    return this.inventory.policy.exemptions.some(
      (e) =>
        keyOf(e.policyAssignmentId) === assignmentKey &&
        chain.includes(keyOf(e.scope)) &&
        (e.expiresOn === null || Date.parse(e.expiresOn) > asOf.getTime()) &&
        (e.policyDefinitionReferenceIds.length === 0 ||
          (a.referenceId !== null &&
            e.policyDefinitionReferenceIds.some(
              (r) => r.toLowerCase() === a.referenceId!.toLowerCase(),
            ))),
    );
  }

  /** The assignments that deny (or may deny) creating the candidates at the target. */
  conflicts(
    fix: PolicyConflict["fix"],
    check: DenyCheck,
    asOf: Date,
    cacheKey?: string,
  ): PolicyConflict[] {
    if (this.assigned.length === 0) return NONE;
    const key = cacheKey ? `${fix}|${cacheKey}` : null;
    const known = key ? this.cache.get(key) : undefined;
    if (known) return known;
    const chain = this.chainOf(check.targetId);
    const out: PolicyConflict[] = [];
    for (const a of this.assigned) {
      const { assignment } = a;
      if (!this.covers(assignment.scope, chain, check.targetId)) continue;
      if (assignment.notScopes.some((n) => this.covers(n, chain, check.targetId))) continue;
      if (this.exempted(a, chain, asOf)) continue;
      const ctx: RuleContext = { parameters: a.parameters };
      const effect = effectOf(a.definition.policyRule, ctx);
      if (effect !== null && effect !== "deny") continue;
      let verdict: true | null | false = false;
      let what = "";
      for (const candidate of check.candidates) {
        const m = ruleMatches(a.definition.policyRule, candidate, ctx);
        if (m === true) {
          verdict = effect === "deny" ? true : null;
          what = describe(candidate);
          break;
        }
        if (m === null && verdict === false) {
          verdict = null;
          what = describe(candidate);
        }
      }
      if (verdict === false) continue;
      out.push({
        fix,
        denies: verdict,
        policyAssignmentId: assignment.id,
        policyDefinitionId: a.definition.id,
        policyDefinitionReferenceId: a.referenceId,
        detail: `${verdict ? "denies" : "may deny"} ${what} (assignment ${assignment.displayName ?? assignment.id}, definition ${a.definition.displayName ?? a.definition.name})`,
      });
    }
    const result = out.length === 0 ? NONE : out;
    if (key) this.cache.set(key, result);
    return result;
  }
}

const NONE: PolicyConflict[] = Object.freeze([]) as unknown as PolicyConflict[];

function describe(c: Candidate): string {
  const p = c.properties;
  if (c.type.toLowerCase() === "microsoft.network/routetables/routes")
    return `route ${String(p.addressPrefix)} with next hop ${String(p.nextHopType)}`;
  if (c.type.toLowerCase() === "microsoft.network/routetables") return `route table ${c.name}`;
  return `${c.type} ${c.name}`;
}

/** The route the route fix adds, as its PUT carries it. */
export function routeCandidate(
  name: string,
  prefix: string,
  nextHopType: string,
  nextHopIpAddress?: string,
): Candidate {
  return {
    type: "Microsoft.Network/routeTables/routes",
    name,
    properties: {
      addressPrefix: prefix,
      nextHopType,
      ...(nextHopIpAddress ? { nextHopIpAddress } : {}),
    },
  };
}

/** A route table the fix creates, with its routes. */
export function routeTableCandidate(
  name: string,
  location: string | null,
  routes: { name: string; prefix: string; nextHopType: string; nextHopIpAddress?: string }[],
): Candidate {
  return {
    type: "Microsoft.Network/routeTables",
    name,
    ...(location ? { location } : {}),
    properties: {
      routes: routes.map((r) => ({
        name: r.name,
        properties: {
          addressPrefix: r.prefix,
          nextHopType: r.nextHopType,
          ...(r.nextHopIpAddress ? { nextHopIpAddress: r.nextHopIpAddress } : {}),
        },
      })),
    },
  };
}

/** The NAT gateway fix's resources: a Standard public IP and a NAT gateway. */
export function natCandidates(name: string, pipName: string, location: string | null): Candidate[] {
  const loc = location ? { location } : {};
  return [
    {
      type: "Microsoft.Network/natGateways",
      name,
      ...loc,
      sku: { name: "Standard" },
      properties: {},
    },
    {
      type: "Microsoft.Network/publicIPAddresses",
      name: pipName,
      ...loc,
      sku: { name: "Standard" },
      properties: { publicIPAllocationMethod: "Static", publicIPAddressVersion: "IPv4" },
    },
  ];
}
