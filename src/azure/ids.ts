const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Management group IDs: up to 90 letters, digits, hyphens, underscores, periods and parentheses,
// not ending in a period.
const MANAGEMENT_GROUP = /^[A-Za-z0-9_().-]{0,89}[A-Za-z0-9_()-]$/;

/** A subscription (or tenant) ID. */
export function isGuid(value: string): boolean {
  return GUID.test(value);
}

export function isManagementGroupId(value: string): boolean {
  return MANAGEMENT_GROUP.test(value);
}
