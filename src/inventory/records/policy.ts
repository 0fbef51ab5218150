import type { ArmRow } from "../arm-row.js";
import { bag, isObject, list, text, Problems, type Bag } from "../fields.js";
import { nameOf } from "../resource-id.js";
import type {
  PolicyAssignment,
  PolicyDefinition,
  PolicyExemption,
  PolicyParameter,
  PolicySetDefinition,
} from "../../policy/types.js";
import { scopeOfPolicyId } from "../../policy/types.js";
import type { Problem } from "../types.js";

/**
 * Policy rows (Resource Graph `policyresources`, or `az policy ... list` exports): assignments,
 * definitions, initiatives and exemptions ("policy-definition structure", "assignment structure",
 * "exemption structure" on Microsoft Learn). A row that lacks what the audit needs (an
 * exemption without its assignment) is a Problem, never silently dropped.
 */

function parametersOf(value: unknown): Record<string, PolicyParameter> {
  const out: Record<string, PolicyParameter> = {};
  for (const [name, raw] of Object.entries(bag(value))) {
    const p = bag(raw);
    out[name.toLowerCase()] = {
      hasDefault: Object.hasOwn(p, "defaultValue"),
      defaultValue: p.defaultValue,
    };
  }
  return out;
}

/** Assignment parameter values: `{ name: { value } }` → `{ name: value }` (names lower-cased). */
function valuesOf(value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(bag(value))) {
    out[name.toLowerCase()] = isObject(raw) && Object.hasOwn(raw, "value") ? raw.value : raw;
  }
  return out;
}

export function policyAssignmentOf(row: ArmRow): {
  assignment: PolicyAssignment | null;
  problems: Problem[];
} {
  const problems = new Problems(row.id);
  const p = bag(row.properties);
  const definitionId = text(p.policyDefinitionId);
  const scope = text(p.scope) ?? scopeOfPolicyId(row.id);
  if (!definitionId) problems.add("properties.policyDefinitionId", "is missing");
  if (scope === null) problems.add("properties.scope", "is missing and the ID names no scope");
  if (!definitionId || scope === null) return { assignment: null, problems: problems.all };
  const mode = text(p.enforcementMode)?.toLowerCase();
  return {
    assignment: {
      id: row.id,
      scope,
      notScopes: list(p.notScopes).filter((s): s is string => typeof s === "string"),
      displayName: text(p.displayName),
      policyDefinitionId: definitionId,
      parameters: valuesOf(p.parameters),
      enforcementMode: mode === "donotenforce" ? "DoNotEnforce" : "Default",
    },
    problems: problems.all,
  };
}

export function policyDefinitionOf(row: ArmRow): PolicyDefinition {
  const p = bag(row.properties);
  return {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    displayName: text(p.displayName),
    parameters: parametersOf(p.parameters),
    policyRule: p.policyRule,
  };
}

export function policySetDefinitionOf(row: ArmRow): PolicySetDefinition {
  const p = bag(row.properties);
  return {
    id: row.id,
    displayName: text(p.displayName),
    parameters: parametersOf(p.parameters),
    policyDefinitions: list(p.policyDefinitions).flatMap((raw) => {
      const d: Bag = bag(raw);
      const id = text(d.policyDefinitionId);
      if (!id) return [];
      return [
        {
          policyDefinitionId: id,
          policyDefinitionReferenceId: text(d.policyDefinitionReferenceId),
          parameters: valuesOf(d.parameters),
        },
      ];
    }),
  };
}

const CATEGORIES = { waiver: "Waiver", mitigated: "Mitigated" } as const;

export function policyExemptionOf(row: ArmRow): {
  exemption: PolicyExemption | null;
  problems: Problem[];
} {
  const problems = new Problems(row.id);
  const p = bag(row.properties);
  const assignmentId = text(p.policyAssignmentId);
  const scope = scopeOfPolicyId(row.id);
  if (!assignmentId) problems.add("properties.policyAssignmentId", "is missing");
  if (scope === null)
    problems.add(
      "id",
      "is not a policy exemption ID (no scope before /providers/Microsoft.Authorization/policyExemptions/)",
    );
  const expires = p.expiresOn;
  let expiresOn: string | null = null;
  if (expires !== undefined && expires !== null) {
    const ms = typeof expires === "string" ? Date.parse(expires) : Number.NaN;
    if (Number.isNaN(ms)) problems.add("properties.expiresOn", "is not an ISO 8601 date-time");
    else expiresOn = new Date(ms).toISOString();
  }
  if (!assignmentId || scope === null || problems.all.length > 0)
    return { exemption: null, problems: problems.all };
  const category =
    CATEGORIES[(text(p.exemptionCategory) ?? "").toLowerCase() as keyof typeof CATEGORIES] ?? null;
  return {
    exemption: {
      id: row.id,
      scope,
      policyAssignmentId: assignmentId,
      policyDefinitionReferenceIds: list(p.policyDefinitionReferenceIds).filter(
        (s): s is string => typeof s === "string",
      ),
      category,
      expiresOn,
      displayName: text(p.displayName),
      description: text(p.description),
      resourceSelectors: list(p.resourceSelectors).length > 0,
    },
    problems: problems.all,
  };
}

/** The management groups above a subscription (resourcecontainers' managementGroupAncestorsChain). */
export function managementGroupsOf(row: ArmRow): string[] | null {
  const chain = bag(row.properties).managementGroupAncestorsChain;
  if (!Array.isArray(chain)) return null;
  return chain.flatMap((m) => {
    const name = text(bag(m).name);
    return name ? [name.toLowerCase()] : [];
  });
}
