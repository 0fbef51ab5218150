import type { Tri } from "./match.js";

/** One rule in processing order: whether it matches the flow, and what it does then. */
export interface OrderedRule {
  action: "Allow" | "Deny";
  /** Evaluated lazily: rules after a definite match are never looked at. */
  matches(): Tri;
  /** The rule in words, for the evidence: "network rule 'allow-kms' (collection 'kms', 200)". */
  label: string;
}

export interface RuleOutcome<R extends OrderedRule = OrderedRule> {
  /** Allow or Deny when every way the undecidable rules could go gives that; null otherwise. */
  action: "Allow" | "Deny" | null;
  /** The rule that decided it (its label), or the default. */
  decidedBy: string;
  /** The first rule that could not be evaluated, when it made the outcome unknown. */
  undecided: string | null;
  /** The deciding rule, when one did (for fixes: a rule above it is needed). */
  decidingRule: R | null;
}

/**
 * First match wins, in order; a rule whose match is unknown splits the walk: the outcome is its
 * action if it matches, or whatever follows if it does not. The result is decided only when both
 * branches agree, so an unevaluable rule never turns an uncertain flow into an allowed one.
 */
export function walkRules<R extends OrderedRule>(
  rules: Iterable<R>,
  fallback: { action: "Allow" | "Deny"; label: string },
): RuleOutcome<R> {
  const possible = new Set<"Allow" | "Deny">();
  let undecided: R | null = null;
  for (const rule of rules) {
    const m = rule.matches();
    if (m === false) continue;
    possible.add(rule.action);
    if (m === true) {
      return possible.size === 1
        ? { action: rule.action, decidedBy: rule.label, undecided: null, decidingRule: rule }
        : { action: null, decidedBy: rule.label, undecided: undecided!.label, decidingRule: rule };
    }
    undecided ??= rule;
  }
  possible.add(fallback.action);
  return possible.size === 1
    ? { action: fallback.action, decidedBy: fallback.label, undecided: null, decidingRule: null }
    : { action: null, decidedBy: fallback.label, undecided: undecided!.label, decidingRule: null };
}
