import { keyOf } from "../inventory/resource-id.js";

/**
 * What an appliance's owner declares it does with an endpoint set (DESIGN.md section 3, rule 2):
 * ARM cannot show a third-party NVA's policy, so without a declaration its subnets stay Unverified.
 * A declared appliance is followed like a firewall whose rules allow (or deny) the flow, and the
 * path says it was declared.
 *
 * Tag form (on the appliance's NIC, VM or internal load balancer), tag `kms-route-audit-egress`:
 *   "kms,rhui; snat=public"     allows kms and rhui, SNATs to a public IP and egresses to the Internet
 *   "allow=kms; egress=follow"  allows kms; where it goes next follows the appliance subnet's routes
 *   "deny=kms"                  does not let kms through
 *   "all; egress=onprem"        forwards everything on-premises
 * Items are separated by ";", set lists by ",". `all` (or `*`) names every set.
 */
export interface Declaration {
  /** Endpoint sets it lets through; "all" for every set. */
  allows: ReadonlySet<string> | "all";
  denies: ReadonlySet<string>;
  /** internet: leaves Azure from a public IP; onPremises: sent on-premises; follow: its subnet's routes decide. */
  egress: "internet" | "onPremises" | "follow";
  /** Where it was declared, for the path: "tag kms-route-audit-egress on <id>". */
  source: string;
}

export type DeclarationVerdict = "allow" | "deny" | "undeclared";

export function declaredFor(declaration: Declaration, set: string): DeclarationVerdict {
  if (declaration.denies.has(set)) return "deny";
  if (declaration.allows === "all" || declaration.allows.has(set)) return "allow";
  // Declared, but not for this set: the owner said nothing about it.
  return "undeclared";
}

const SET_NAME = /^(?:[a-z][a-z0-9-]{0,30}|all|\*)$/;

/** Parses a tag value; a string saying what is wrong when it cannot be read. */
export function parseDeclarationTag(value: string, source: string): Declaration | string {
  const allows = new Set<string>();
  const denies = new Set<string>();
  let all = false;
  let egress: Declaration["egress"] | null = null;
  const items = value
    .split(";")
    .map((i) => i.trim())
    .filter((i) => i !== "");
  if (items.length === 0) return "is empty";
  for (const [index, item] of items.entries()) {
    const eq = item.indexOf("=");
    const name = eq < 0 ? (index === 0 ? "allow" : "") : item.slice(0, eq).trim().toLowerCase();
    const rest = eq < 0 ? item : item.slice(eq + 1).trim();
    switch (name) {
      case "allow":
      case "deny": {
        const sets = rest
          .split(",")
          .map((s) => s.trim().toLowerCase())
          .filter((s) => s !== "");
        if (sets.length === 0 || !sets.every((s) => SET_NAME.test(s)))
          return `"${item}" does not name endpoint sets (e.g. kms,rhui or all)`;
        for (const s of sets) {
          if (s === "all" || s === "*") {
            if (name === "allow") all = true;
            else return `"${item}": deny=all is not meaningful; remove the declaration instead`;
          } else (name === "allow" ? allows : denies).add(s);
        }
        break;
      }
      case "snat": {
        const v = rest.toLowerCase();
        if (v === "public") egress ??= "internet";
        else if (v === "none" || v === "private") egress ??= "follow";
        else return `"${item}": snat is public or none`;
        break;
      }
      case "egress": {
        const v = rest.toLowerCase().replace(/[-_\s]/g, "");
        if (v === "internet") egress = "internet";
        else if (v === "onprem" || v === "onpremises") egress = "onPremises";
        else if (v === "follow") egress = "follow";
        else return `"${item}": egress is internet, onprem or follow`;
        break;
      }
      default:
        return `"${item}" is not allow=, deny=, snat= or egress=`;
    }
  }
  if (!all && allows.size === 0 && denies.size === 0)
    return "names no endpoint set to allow or deny";
  return { allows: all ? "all" : allows, denies, egress: egress ?? "follow", source };
}

/** Declarations from a file (--declarations / KMS_AUDIT_DECLARATIONS_FILE), keyed for look-up. */
export interface Declarations {
  /** By lower-cased resource ID of a NIC, VM or load balancer. */
  byResource: ReadonlyMap<string, Declaration>;
  /** By private IP (an appliance the inventory may not hold). */
  byIp: ReadonlyMap<string, Declaration>;
}

export const NO_DECLARATIONS: Declarations = { byResource: new Map(), byIp: new Map() };

export interface DeclarationFileEntry {
  resourceId?: string;
  ipAddress?: string;
  allow: string[];
  deny: string[];
  egress: Declaration["egress"];
  note?: string;
  /** Its position in the file's `appliances` (default: its position in `entries`). */
  index?: number;
}

export function declarationsFromEntries(
  entries: readonly DeclarationFileEntry[],
  file: string,
): Declarations {
  const byResource = new Map<string, Declaration>();
  const byIp = new Map<string, Declaration>();
  entries.forEach((e, i) => {
    const declaration: Declaration = {
      allows: e.allow.some((s) => s === "all" || s === "*")
        ? "all"
        : new Set(e.allow.map((s) => s.toLowerCase())),
      denies: new Set(e.deny.map((s) => s.toLowerCase())),
      egress: e.egress,
      source: `${file} appliances[${e.index ?? i}]${e.note ? ` (${e.note})` : ""}`,
    };
    if (e.resourceId) byResource.set(keyOf(e.resourceId), declaration);
    if (e.ipAddress) byIp.set(e.ipAddress.trim(), declaration);
  });
  return { byResource, byIp };
}
