/**
 * Azure Policy objects as the inventory keeps them (rows of Resource Graph's `policyresources`
 * table, or the same ARM resources in an estate file). Only what the audit reads: scopes,
 * exemptions of an assignment, and the rules of assignments that could deny a fix.
 */

/** A policy assignment (Microsoft.Authorization/policyAssignments). */
export interface PolicyAssignment {
  id: string;
  /** The scope it applies to: the ID before /providers/Microsoft.Authorization/policyAssignments/. */
  scope: string;
  /** Excluded scopes (notScopes). */
  notScopes: string[];
  displayName: string | null;
  policyDefinitionId: string;
  /** Parameter values: name → value (the assignment's `parameters[name].value`). */
  parameters: Record<string, unknown>;
  /** "Default" enforces deny effects; "DoNotEnforce" evaluates without denying. */
  enforcementMode: "Default" | "DoNotEnforce";
}

/** A parameter of a definition or initiative: its default, when it has one. */
export interface PolicyParameter {
  hasDefault: boolean;
  defaultValue: unknown;
}

/** A policy definition (Microsoft.Authorization/policyDefinitions). */
export interface PolicyDefinition {
  id: string;
  name: string;
  displayName: string | null;
  parameters: Record<string, PolicyParameter>;
  /** The rule as the data holds it ({ if, then }); evaluated by policy-rule.ts. */
  policyRule: unknown;
}

/** An initiative (Microsoft.Authorization/policySetDefinitions). */
export interface PolicySetDefinition {
  id: string;
  displayName: string | null;
  parameters: Record<string, PolicyParameter>;
  policyDefinitions: {
    policyDefinitionId: string;
    policyDefinitionReferenceId: string | null;
    /** name → value expression (often "[parameters('x')]" of the initiative). */
    parameters: Record<string, unknown>;
  }[];
}

/** A policy exemption (Microsoft.Authorization/policyExemptions). */
export interface PolicyExemption {
  id: string;
  /** The exempted scope: the ID before /providers/Microsoft.Authorization/policyExemptions/. */
  scope: string;
  policyAssignmentId: string;
  /** Definitions of an initiative it exempts from; empty: all of them. */
  policyDefinitionReferenceIds: string[];
  category: "Waiver" | "Mitigated" | null;
  /** ISO date-time; null: never expires. */
  expiresOn: string | null;
  displayName: string | null;
  description: string | null;
  /** Resource selectors narrow an exemption further; this audit does not evaluate them. */
  resourceSelectors: boolean;
}

export interface PolicyInventory {
  /** Keyed by lower-cased ID. */
  assignments: Map<string, PolicyAssignment>;
  definitions: Map<string, PolicyDefinition>;
  setDefinitions: Map<string, PolicySetDefinition>;
  exemptions: PolicyExemption[];
  /** Policy rows the inventory holds (0: no policy data at all). */
  rows: number;
}

/** The provider path of a policy object inside its ID. */
const SCOPE_OF =
  /^(.*?)\/providers\/microsoft\.authorization\/(policyassignments|policyexemptions|policydefinitions|policysetdefinitions)\/[^/]+\/?$/i;

/** The scope an assignment, exemption or definition ID sits at ("" for the tenant root). */
export function scopeOfPolicyId(id: string): string | null {
  const match = SCOPE_OF.exec(id.trim());
  return match ? match[1]! : null;
}

const ASSIGNMENT_ID =
  /^(\/providers\/microsoft\.management\/managementgroups\/[^/]+|\/subscriptions\/[0-9a-f-]{36}(\/resourcegroups\/[^/]+)?)\/providers\/microsoft\.authorization\/policyassignments\/[^/]+$/i;

/** Whether a string is a policy assignment ID at a management group, subscription or group. */
export function isPolicyAssignmentId(value: string): boolean {
  return ASSIGNMENT_ID.test(value.trim());
}
