import { readCatalogText, type CatalogBlobAccess } from "./catalog-text.js";
import { z } from "zod";
import { InputError, describeError } from "../errors.js";
import { CLOUDS, type CloudName } from "../model.js";
import { isIpv4Address } from "../net/ipv4.js";
import {
  APPLIES_TO,
  KMS_ENDPOINTS,
  RHUI_ENDPOINTS,
  type AppliesTo,
  type EndpointSet,
} from "./kms-endpoints.js";

/** One IP that a VM in the subnet must reach from an Azure public IP. */
export interface Endpoint {
  set: string;
  host: string;
  ip: string;
  port: number;
  legacy: boolean;
  appliesTo: AppliesTo;
  platformNsgAllowance: boolean;
}

const endpointFileSchema = z.strictObject({
  mode: z.enum(["extend", "replace"]).default("extend"),
  endpointSets: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "lower-case letters, digits and hyphens"),
        description: z.string().default(""),
        source: z.string().default("user file"),
        checked: z.string().default(""),
        clouds: z.array(z.enum(CLOUDS)).optional(),
        appliesTo: z.enum(APPLIES_TO).default("all"),
        endpoints: z
          .array(
            z.strictObject({
              host: z.string().min(1),
              ips: z.array(z.string().refine(isIpv4Address, "must be an IPv4 address")).min(1),
              port: z.number().int().min(1).max(65535),
              legacy: z.boolean().optional(),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});

export type EndpointFile = z.infer<typeof endpointFileSchema>;

/** Parses a user endpoint file; throws InputError naming the file and the field. */
function parseEndpointFile(name: string, text: string): EndpointFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${name}: not valid JSON (${describeError(error)})`);
  }
  const parsed = endpointFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    throw new InputError(`${name}: ${path}: ${issue.message}`);
  }
  return parsed.data;
}

export async function readEndpointFile(
  location: string,
  access?: CatalogBlobAccess,
): Promise<EndpointFile> {
  const { name, text } = await readCatalogText(location, "endpoint file", access);
  return parseEndpointFile(name, text);
}

/**
 * The endpoint sets in force for a cloud: the built-in KMS and RHUI lists, extended or replaced by
 * the user's. A user set named like a built-in one ("kms", "rhui") replaces it.
 */
export function endpointSetsFor(cloud: CloudName, file?: EndpointFile): EndpointSet[] {
  const user: EndpointSet[] = (file?.endpointSets ?? [])
    .filter((s) => !s.clouds || s.clouds.includes(cloud))
    // Azure's NSG allowance is for its KMS: a user list that replaces "kms" keeps it.
    .map(({ clouds: _clouds, ...set }) => ({ ...set, platformNsgAllowance: set.name === "kms" }));
  if (file?.mode === "replace") return user;
  const builtIn = [KMS_ENDPOINTS[cloud], RHUI_ENDPOINTS[cloud]].filter(
    (s): s is EndpointSet => s !== null && !user.some((u) => u.name === s.name),
  );
  return [...builtIn, ...user];
}

/** Flattens endpoint sets into one IP per entry, in catalog order. */
export function flattenEndpoints(sets: EndpointSet[]): Endpoint[] {
  return sets.flatMap((set) =>
    set.endpoints.flatMap((host) =>
      host.ips.map((ip) => ({
        set: set.name,
        host: host.host,
        ip,
        port: host.port,
        legacy: host.legacy ?? false,
        appliesTo: set.appliesTo,
        platformNsgAllowance: set.platformNsgAllowance,
      })),
    ),
  );
}
