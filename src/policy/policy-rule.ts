/**
 * A small evaluator of Azure Policy rules ("Azure Policy definition structure policy rule",
 * Microsoft Learn) against a resource the audit would create, to tell whether a deny policy would
 * reject a fix. Three-valued: true (the condition holds), false, null (it uses something this
 * evaluator does not know: then a deny is only "possible", never silently absent).
 *
 * Supported: allOf, anyOf, not; conditions on `field` (type, name, location, aliases of the
 * resource's own type and `[*]` aliases), on `value` (literals, parameters(), field()), and field
 * `count` with `where`; the operators equals, notEquals, like, notLike, in, notIn, contains,
 * notContains, containsKey, notContainsKey, exists, greater, greaterOrEquals, less, lessOrEquals.
 * String comparisons ignore case, as Policy's do.
 */

export type Tri = boolean | null;

export interface Candidate {
  type: string;
  name: string;
  location?: string;
  sku?: Record<string, unknown>;
  tags?: Record<string, string>;
  properties: Record<string, unknown>;
}

export interface RuleContext {
  /** Parameter values by lower-cased name (assignment values over definition defaults). */
  parameters: Record<string, unknown>;
}

function not(v: Tri): Tri {
  return v === null ? null : !v;
}

function all(values: Iterable<Tri>): Tri {
  let unknown = false;
  for (const v of values) {
    if (v === false) return false;
    if (v === null) unknown = true;
  }
  return unknown ? null : true;
}

function any(values: Iterable<Tri>): Tri {
  let unknown = false;
  for (const v of values) {
    if (v === true) return true;
    if (v === null) unknown = true;
  }
  return unknown ? null : false;
}

const UNKNOWN = Symbol("unknown");
// A value, or UNKNOWN when it cannot be told (kept apart from undefined: "absent").
type Value = unknown;

/** A field's value(s): one value, or for a [*] alias the list of member values. */
function fieldValue(resource: Candidate, field: string, member: unknown): Value {
  const f = field.trim();
  const lower = f.toLowerCase();
  if (lower === "type") return resource.type;
  if (lower === "name") return resource.name;
  if (lower === "location") return resource.location;
  if (lower === "tags") return resource.tags ?? {};
  const tag = /^tags(?:\[['"]?(.+?)['"]?\]|\.(.+))$/i.exec(f);
  if (tag) return resource.tags?.[tag[1] ?? tag[2] ?? ""];
  const type = resource.type.toLowerCase();
  if (!lower.startsWith(`${type}/`)) {
    // An alias of another type: absent on this resource.
    return /^[a-z0-9.]+\/[a-z0-9]+/i.test(f) ? undefined : UNKNOWN;
  }
  const rest = f.slice(type.length + 1);
  const root = rest.split(/[.[]/)[0]!.toLowerCase();
  let current: unknown = root === "sku" ? resource : resource.properties;
  if (member !== undefined && rest.includes("[*]")) {
    // Inside a count's where: the [*] part is the member being counted.
    const after = rest.slice(rest.indexOf("[*]") + 3).replace(/^\./, "");
    current = propertiesOf(member);
    return after === "" ? member : walk(current, after);
  }
  return walk(current, rest);
}

function propertiesOf(member: unknown): unknown {
  if (member && typeof member === "object" && "properties" in member) return member.properties;
  return member;
}

/** Follows "a.b[*].c" through objects; a [*] yields the list of members (their properties). */
function walk(value: unknown, path: string): Value {
  const parts = path.split(".").filter((p) => p !== "");
  let current: unknown = value;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const star = part.endsWith("[*]");
    const key = star ? part.slice(0, -3) : part;
    current = getInsensitive(current, key);
    if (star) {
      if (!Array.isArray(current)) return current === undefined ? [] : UNKNOWN;
      const rest = parts.slice(i + 1).join(".");
      if (rest === "") return current;
      return current.map((m) => walk(propertiesOf(m), rest));
    }
  }
  return current;
}

function getInsensitive(value: unknown, key: string): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const bag = value as Record<string, unknown>;
  if (key in bag) return bag[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(bag)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** A template expression: "[parameters('x')]", "[field('type')]", or a literal. */
function expression(raw: unknown, ctx: RuleContext, resource: Candidate, member: unknown): Value {
  if (typeof raw !== "string") return raw;
  const text = raw.trim();
  if (text.startsWith("[[")) return text.slice(1); // an escaped literal
  if (!text.startsWith("[") || !text.endsWith("]")) return raw;
  const inner = text.slice(1, -1).trim();
  const parameter = /^parameters\(\s*'([^']+)'\s*\)$/i.exec(inner);
  if (parameter) {
    const name = parameter[1]!.toLowerCase();
    return name in ctx.parameters ? ctx.parameters[name] : UNKNOWN;
  }
  const length = /^length\(\s*parameters\(\s*'([^']+)'\s*\)\s*\)$/i.exec(inner);
  if (length) {
    const v = ctx.parameters[length[1]!.toLowerCase()];
    return Array.isArray(v) || typeof v === "string" ? v.length : UNKNOWN;
  }
  const field = /^field\(\s*'([^']+)'\s*\)$/i.exec(inner);
  if (field) return fieldValue(resource, field[1]!, member);
  return UNKNOWN;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v.toLowerCase() : typeof v === "number" ? String(v) : null;
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, "i");
}

/** One operator against one value (not a list of members). */
function compare(op: string, actual: unknown, expected: unknown): Tri {
  const a = str(actual);
  switch (op) {
    case "equals":
      return a !== null && a === str(expected);
    case "notequals":
      return !(a !== null && a === str(expected));
    case "like":
      return a !== null && typeof expected === "string" && likeToRegExp(expected).test(a);
    case "notlike":
      return !(a !== null && typeof expected === "string" && likeToRegExp(expected).test(a));
    case "in":
    case "notin": {
      if (!Array.isArray(expected)) return null;
      const found = a !== null && expected.some((e) => str(e) === a);
      return op === "in" ? found : !found;
    }
    case "contains":
    case "notcontains": {
      const e = str(expected);
      if (e === null) return null;
      const found = Array.isArray(actual)
        ? actual.some((x) => str(x) === e)
        : a !== null && a.includes(e);
      return op === "contains" ? found : !found;
    }
    case "containskey":
    case "notcontainskey": {
      const e = str(expected);
      const found =
        e !== null &&
        actual !== null &&
        typeof actual === "object" &&
        Object.keys(actual).some((k) => k.toLowerCase() === e);
      return op === "containskey" ? found : !found;
    }
    case "exists": {
      const want = expected === true || String(expected).toLowerCase() === "true";
      const present = actual !== undefined && actual !== null;
      return want ? present : !present;
    }
    case "greater":
    case "greaterorequals":
    case "less":
    case "lessorequals": {
      const x = typeof actual === "number" ? actual : Number.NaN;
      const y = typeof expected === "number" ? expected : Number(expected);
      if (Number.isNaN(x) || Number.isNaN(y)) return null;
      return op === "greater"
        ? x > y
        : op === "greaterorequals"
          ? x >= y
          : op === "less"
            ? x < y
            : x <= y;
    }
    default:
      return null;
  }
}

const OPERATORS = [
  "equals",
  "notEquals",
  "like",
  "notLike",
  "in",
  "notIn",
  "contains",
  "notContains",
  "containsKey",
  "notContainsKey",
  "exists",
  "greater",
  "greaterOrEquals",
  "less",
  "lessOrEquals",
  "match",
  "notMatch",
  "matchInsensitively",
  "notMatchInsensitively",
];

function operatorOf(c: Record<string, unknown>): [string, unknown] | null {
  for (const op of OPERATORS) if (op in c) return [op.toLowerCase(), c[op]];
  return null;
}

/** Whether a condition holds for the resource (or a member being counted). */
export function evaluate(
  condition: unknown,
  resource: Candidate,
  ctx: RuleContext,
  member?: unknown,
): Tri {
  if (!condition || typeof condition !== "object" || Array.isArray(condition)) return null;
  const c = condition as Record<string, unknown>;
  if (Array.isArray(c.allOf)) return all(c.allOf.map((x) => evaluate(x, resource, ctx, member)));
  if (Array.isArray(c.anyOf)) return any(c.anyOf.map((x) => evaluate(x, resource, ctx, member)));
  if ("not" in c) return not(evaluate(c.not, resource, ctx, member));
  const op = operatorOf(c);
  if (!op) return null;
  const [operator, rawExpected] = op;
  if (operator.includes("match")) return null;
  const expected = expression(rawExpected, ctx, resource, member);
  if (expected === UNKNOWN) return null;
  if ("count" in c) {
    const count = countOf(c.count, resource, ctx, member);
    return count === null ? null : compare(operator, count, expected);
  }
  let actual: Value;
  if (typeof c.field === "string") actual = fieldValue(resource, c.field, member);
  else if ("value" in c) actual = expression(c.value, ctx, resource, member);
  else return null;
  if (actual === UNKNOWN) return null;
  // A [*] alias outside a count: the condition holds when it holds for every member.
  if (typeof c.field === "string" && c.field.includes("[*]") && member === undefined) {
    if (!Array.isArray(actual)) return null;
    return all(actual.map((v) => compare(operator, v, expected)));
  }
  return compare(operator, actual, expected);
}

function countOf(
  raw: unknown,
  resource: Candidate,
  ctx: RuleContext,
  member: unknown,
): number | null {
  if (!raw || typeof raw !== "object") return null;
  const count = raw as Record<string, unknown>;
  if (typeof count.field !== "string" || !count.field.endsWith("[*]")) return null;
  const members = fieldValue(resource, count.field, member);
  if (members === UNKNOWN || !Array.isArray(members)) return members === undefined ? 0 : null;
  if (count.where === undefined) return members.length;
  let n = 0;
  for (const m of members) {
    const holds = evaluate(count.where, resource, ctx, m);
    if (holds === null) return null;
    if (holds) n += 1;
  }
  return n;
}

/** The rule's effect with parameters resolved, lower-cased; null when it cannot be told. */
export function effectOf(policyRule: unknown, ctx: RuleContext): string | null {
  const then = (policyRule as { then?: { effect?: unknown } } | null)?.then;
  const raw = then?.effect;
  const dummy: Candidate = { type: "", name: "", properties: {} };
  const effect = expression(raw, ctx, dummy, undefined);
  return typeof effect === "string" ? effect.toLowerCase() : null;
}

/** Whether the rule's `if` holds for the resource. */
export function ruleMatches(policyRule: unknown, resource: Candidate, ctx: RuleContext): Tri {
  const rule = policyRule as { if?: unknown } | null;
  return rule?.if === undefined ? null : evaluate(rule.if, resource, ctx);
}
