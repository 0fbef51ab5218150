import type { Declarations } from "./declarations.js";
import type { CatalogBlobAccess } from "./catalog-text.js";
import { InputError } from "../errors.js";
import type { CloudName, RunError } from "../model.js";
import { readDeclarationsFile } from "./declarations-file.js";
import { endpointSetsFor, readEndpointFile } from "./endpoints.js";
import type { EndpointSet } from "./kms-endpoints.js";
import { readServiceTagFile, type ServiceTagIndex } from "./service-tags.js";

/** What the audit judges against: endpoints, service tags, declared appliances. */
export interface Catalog {
  endpointSets: EndpointSet[];
  serviceTags: ServiceTagIndex | undefined;
  declarations: Declarations | undefined;
  /** Sets judged for every subnet whatever its VMs (--endpoint-set, KMS_AUDIT_ENDPOINT_SETS). */
  forcedSets: string[];
  /** What the catalog's files hold that was ignored (a malformed declaration): run warnings. */
  warnings?: RunError[];
}

/** The files and names a catalog comes from (flags or settings; null: not given). */
export interface CatalogInputs {
  cloud: CloudName;
  endpointsFile: string | null;
  serviceTagsFile: string | null;
  declarationsFile: string | null;
  endpointSets: readonly string[];
  /** How the inputs are named in errors: "--endpoint-set" or "KMS_AUDIT_ENDPOINT_SETS". */
  endpointSetsName?: string;
  /** How files given as blob URLs are read (README "Settings"). */
  blob?: CatalogBlobAccess;
}

/** The built-in catalog of a cloud: its endpoint sets, no service tags, no declarations. */
export function builtInCatalog(cloud: CloudName): Catalog {
  return {
    endpointSets: endpointSetsFor(cloud),
    serviceTags: undefined,
    declarations: undefined,
    forcedSets: [],
  };
}

/** Reads and checks the catalog once, for every entry point (CLI, timer, HTTP). */
export async function loadCatalog(inputs: CatalogInputs): Promise<Catalog> {
  const endpointSets = endpointSetsFor(
    inputs.cloud,
    inputs.endpointsFile ? await readEndpointFile(inputs.endpointsFile, inputs.blob) : undefined,
  );
  if (endpointSets.length === 0) {
    throw new InputError(
      `${inputs.endpointsFile}: no endpoint set applies to cloud ${inputs.cloud}`,
    );
  }
  for (const name of inputs.endpointSets) {
    if (!endpointSets.some((s) => s.name === name))
      throw new InputError(
        `${inputs.endpointSetsName ?? "--endpoint-set"}: "${name}" is not an endpoint set of cloud ${inputs.cloud} (${endpointSets.map((s) => s.name).join(", ")})`,
      );
  }
  const declarations = inputs.declarationsFile
    ? await readDeclarationsFile(inputs.declarationsFile, inputs.blob)
    : undefined;
  return {
    endpointSets,
    serviceTags: inputs.serviceTagsFile
      ? await readServiceTagFile(inputs.serviceTagsFile, inputs.blob)
      : undefined,
    declarations: declarations?.declarations,
    forcedSets: [...new Set(inputs.endpointSets)],
    warnings: declarations?.warnings ?? [],
  };
}
