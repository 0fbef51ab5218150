// Platform subnets that never host customer VMs, so activation cannot fail in them.
const PLATFORM_SUBNETS = new Set([
  "gatewaysubnet",
  "azurefirewallsubnet",
  "azurefirewallmanagementsubnet",
  "azurebastionsubnet",
  "routeserversubnet",
]);

export function isPlatformSubnet(name: string): boolean {
  return PLATFORM_SUBNETS.has(name.toLowerCase());
}
