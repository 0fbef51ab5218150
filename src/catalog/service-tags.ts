import { readCatalogText, type CatalogBlobAccess } from "./catalog-text.js";
import { z } from "zod";
import { InputError, describeError } from "../errors.js";
import { parsePrefix } from "../net/ipv4.js";

/** IPv4 prefixes per service tag, keyed by lower-cased tag name ("azurecloud.westeurope"). */
export type ServiceTagIndex = Map<string, { network: number; length: number }[]>;

// Azure's published file (ServiceTags_Public_YYYYMMDD.json) and `az network list-service-tags`.
const serviceTagFileSchema = z.object({
  values: z.array(
    z.object({
      name: z.string().min(1),
      properties: z.object({ addressPrefixes: z.array(z.string()) }),
    }),
  ),
});

function parseServiceTagFile(name: string, text: string): ServiceTagIndex {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new InputError(`${name}: not valid JSON (${describeError(error)})`);
  }
  const parsed = serviceTagFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      `${name}: not a service-tag file (${issue.path.join(".") || "top level"}: ${issue.message}); expected Azure's ServiceTags_*.json`,
    );
  }
  const index: ServiceTagIndex = new Map();
  for (const tag of parsed.data.values) {
    const prefixes = [];
    for (const text of tag.properties.addressPrefixes) {
      const prefix = parsePrefix(text);
      if (prefix.kind === "ipv4") prefixes.push({ network: prefix.network, length: prefix.length });
    }
    index.set(tag.name.toLowerCase(), prefixes);
  }
  return index;
}

export async function readServiceTagFile(
  location: string,
  access?: CatalogBlobAccess,
): Promise<ServiceTagIndex> {
  const { name, text } = await readCatalogText(location, "service-tag file", access);
  return parseServiceTagFile(name, text);
}
