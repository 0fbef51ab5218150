import { InputError } from "../errors.js";
import type { CloudName } from "../model.js";
import { cloudEndpoints } from "./clouds.js";

/**
 * The Resource Manager endpoint every client of one run uses (Resource Graph, the network API,
 * Policy Insights): the cloud's, or `armEndpoint` (a private cloud, a test emulator), https only
 * because bearer tokens travel on it; without a trailing slash.
 */
export function armEndpointOf(cloud: CloudName, armEndpoint?: URL | string | null): string {
  const raw = armEndpoint ?? cloudEndpoints(cloud).armEndpoint;
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new InputError(`armEndpoint "${String(raw)}" is not a URL`);
  }
  if (url.protocol !== "https:")
    throw new InputError(`armEndpoint "${url.href}" must be https:// (bearer tokens need TLS)`);
  return url.origin + url.pathname.replace(/\/+$/, "");
}
