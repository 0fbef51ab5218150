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
  // IDs nearly always spell the segment as ARM does: look for that first, without a lower-cased copy.
  const exact = id.lastIndexOf(`/${childSegment}/`);
  const index = exact > 0 ? exact : id.toLowerCase().lastIndexOf(`/${childSegment.toLowerCase()}/`);
  return index > 0 ? id.slice(0, index) : null;
}

/** The last segment of an ID: the resource's name. */
export function nameOf(id: string): string {
  const trimmed = id.trim();
  let end = trimmed.length;
  while (end > 0 && trimmed[end - 1] === "/") end--;
  return trimmed.slice(trimmed.lastIndexOf("/", end - 1) + 1, end);
}
