import { readCatalogText, type CatalogBlobAccess } from "./catalog-text.js";
import { z } from "zod";
import {
  declarationsFromEntries,
  type DeclarationFileEntry,
  type Declarations,
} from "./declarations.js";
import type { RunError } from "../model.js";
import { InputError, describeError } from "../errors.js";
import { isIpv4Address } from "../net/ipv4.js";

/**
 * The declarations file (--declarations, KMS_AUDIT_DECLARATIONS_FILE): what third-party appliances
 * let through, where their policy is not in ARM. README "Declared appliance behaviour".
 *
 *   { "appliances": [
 *       { "resourceId": "<NIC, VM or internal load balancer ID>", "allow": ["kms", "rhui"],
 *         "egress": "internet", "note": "Palo Alto hub: SNAT to its public IP (CHG0042)" },
 *       { "ipAddress": "10.20.0.4", "deny": ["kms"] } ] }
 */
const SET = z.string().regex(/^(?:[a-z][a-z0-9-]{0,30}|all|\*)$/, "an endpoint set name or all");

const entrySchema = z
  .strictObject({
    resourceId: z
      .string()
      .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/.+/i, "a resource ID")
      .optional(),
    ipAddress: z.string().refine(isIpv4Address, "must be an IPv4 address").optional(),
    allow: z.array(SET).default([]),
    deny: z
      .array(SET.refine((s) => s !== "all" && s !== "*", "deny names sets, not all"))
      .default([]),
    egress: z.enum(["internet", "onPremises", "follow"]).default("follow"),
    note: z.string().max(500).optional(),
  })
  .refine((e) => (e.resourceId === undefined) !== (e.ipAddress === undefined), {
    message: "needs exactly one of resourceId and ipAddress",
  })
  .refine((e) => e.allow.length + e.deny.length > 0, {
    message: "names no endpoint set to allow or deny",
  });

/** The file must be this shape; each entry is checked on its own. */
const fileSchema = z.strictObject({ appliances: z.array(z.unknown()).min(1) });

export interface DeclarationsFile {
  declarations: Declarations;
  /**
   * Entries that are malformed, one DECLARATION_MALFORMED warning each: ignored, so the
   * appliances they meant to declare stay Unverified (the run says which entry and why).
   */
  warnings: RunError[];
}

const issueText = (issues: readonly z.core.$ZodIssue[], at: string) => {
  const issue = issues[0]!;
  const path = [at, ...issue.path.map(String)].filter((p) => p !== "").join(".");
  return `${path || "(top level)"}: ${issue.message}`;
};

export function parseDeclarationsFile(name: string, text: string): DeclarationsFile {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new InputError(`${name}: not valid JSON (${describeError(error)})`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw new InputError(`${name}: ${issueText(parsed.error.issues, "")}`);
  const entries: DeclarationFileEntry[] = [];
  const warnings: RunError[] = [];
  for (const [index, raw] of parsed.data.appliances.entries()) {
    const entry = entrySchema.safeParse(raw);
    if (entry.success) entries.push({ ...entry.data, index });
    else
      warnings.push({
        code: "DECLARATION_MALFORMED",
        target: `${name}: appliances.${index}`,
        message: `${name}: ${issueText(entry.error.issues, `appliances.${index}`)}; entry ignored`,
      });
  }
  return { declarations: declarationsFromEntries(entries, name), warnings };
}

export async function readDeclarationsFile(
  location: string,
  access?: CatalogBlobAccess,
): Promise<DeclarationsFile> {
  const { name, text } = await readCatalogText(location, "declarations file", access);
  return parseDeclarationsFile(name, text);
}
