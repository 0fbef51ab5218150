/** Azure resource IDs are case-insensitive: every index is keyed by the lower-cased ID. */
export function keyOf(id: string): string {
  return id.trim().toLowerCase();
}

export interface ParsedResourceId {
  subscriptionId: string | null;
  resourceGroup: string | null;
}

const SCOPE = /^\/subscriptions\/([^/]+)(?:\/resourcegroups\/([^/]+))?/i;

export function parseResourceId(id: string): ParsedResourceId {
  const match = SCOPE.exec(id.trim());
  return { subscriptionId: match?.[1] ?? null, resourceGroup: match?.[2] ?? null };
}

/** "…/virtualNetworks/hub/subnets/app" → "…/virtualNetworks/hub"; null when not a subnet ID. */
export function parentOfChild(id: string, childSegment: string): string | null {
  const index = id.toLowerCase().lastIndexOf(`/${childSegment.toLowerCase()}/`);
  return index > 0 ? id.slice(0, index) : null;
}

/** The last segment of an ID: the resource's name. */
export function nameOf(id: string): string {
  const trimmed = id.trim().replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
