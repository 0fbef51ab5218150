import type { Problem } from "./types.js";
import { keyOf } from "./resource-id.js";

/**
 * Reading ARM properties defensively. A row is data from a user's file or a service: any field may
 * be missing or of the wrong type. Missing optional fields read as absent; a field that is there
 * but of the wrong type is a Problem (the audit makes what depends on it unknown), never silently
 * "absent".
 */

export type Bag = Record<string, unknown>;

export function isObject(value: unknown): value is Bag {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function bag(value: unknown): Bag {
  return isObject(value) ? value : EMPTY;
}
const EMPTY: Bag = Object.freeze({});

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : NONE;
}
const NONE: unknown[] = Object.freeze([]) as unknown as unknown[];

export function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

export function flag(value: unknown): boolean {
  return value === true || (typeof value === "string" && value.toLowerCase() === "true");
}

/** true/false (or their strings); null when absent; undefined when present but not a boolean. */
export function optionalFlag(value: unknown): boolean | null | undefined {
  if (value === undefined || value === null) return null;
  if (value === true || value === false) return value;
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (v === "true") return true;
    if (v === "false") return false;
  }
  return undefined;
}

export function idOf(value: unknown): string | null {
  return text(bag(value).id);
}

export function keyOfRef(value: unknown): string | null {
  const id = idOf(value);
  return id === null ? null : keyOf(id);
}

export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Collects the problems of one row, lazily (clean rows allocate nothing). */
export class Problems {
  list: Problem[] | null = null;
  constructor(readonly resourceId: string) {}

  add(field: string, issue: string): void {
    (this.list ??= []).push({ resourceId: this.resourceId, field, issue });
  }

  /** The field is there but not what ARM sends: a problem, named. */
  wrongType(field: string, value: unknown, expected: string): void {
    this.add(field, `is ${kindOf(value)}, expected ${expected}`);
  }

  get all(): Problem[] {
    return this.list ?? NO_PROBLEMS;
  }

  /** Starts over (the list handed out before stays with whoever took it). */
  reset(): void {
    this.list = null;
  }
}
const NO_PROBLEMS: Problem[] = Object.freeze([]) as unknown as Problem[];

/** An array field: absent reads as empty; present but not an array is a problem (and null). */
export function arrayField(
  owner: Bag,
  name: string,
  problems: Problems,
  path: string,
): unknown[] | null {
  const value = owner[name];
  if (value === undefined || value === null) return NONE;
  if (Array.isArray(value)) return value as unknown[];
  problems.wrongType(`${path}.${name}`, value, "an array");
  return null;
}

/** Strings of a string-or-array field (ARM writes both addressPrefix and addressPrefixes). */
export function stringsOf(values: unknown[], problems: Problems, path: string): string[] {
  // Nearly always all strings: keep the parsed array (exactly sized) instead of a copy.
  if (values.every((v): v is string => typeof v === "string")) return values;
  const out: string[] = [];
  values.forEach((v, i) => {
    if (typeof v === "string") out.push(v);
    else problems.wrongType(`${path}[${i}]`, v, "a string");
  });
  return out;
}

/** `properties` of an ARM object, or the object itself when it is flat (SDK dumps). */
export function propertiesOf(raw: Bag): Bag {
  return isObject(raw.properties) ? raw.properties : raw;
}

/** The kms-route-audit-egress (or another) tag's value, case-insensitively by name. */
export function tagValue(row: Bag, tag: string): string | null {
  const tags = row.tags;
  if (!isObject(tags)) return null;
  for (const name in tags) {
    if (name.toLowerCase() === tag) {
      const value = tags[name];
      return typeof value === "string" ? value : String(value);
    }
  }
  return null;
}
