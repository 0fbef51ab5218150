import type { CloudName } from "../model.js";

/**
 * Which subnets an endpoint set is judged for: every subnet that can host VMs ("all"), or those
 * whose VMs need it (Windows; pay-as-you-go RHEL or SLES, which update from Microsoft-run servers).
 * `--endpoint-set <name>` judges a set for every subnet whatever its VMs.
 */
export const APPLIES_TO = ["all", "windows", "rhelPayGo", "slesPayGo"] as const;
export type AppliesTo = (typeof APPLIES_TO)[number];

/** A named group of endpoints that must all be reachable, e.g. Windows KMS. */
export interface EndpointSet {
  name: string;
  description: string;
  source: string;
  /** When the list was last checked against its source (YYYY-MM-DD). */
  checked: string;
  appliesTo: AppliesTo;
  /**
   * Azure's platform rule lets this traffic through NSGs unless a 0.0.0.0/0 route disables it
   * (network-security-groups-overview: true for KMS only).
   */
  platformNsgAllowance: boolean;
  endpoints: EndpointHost[];
}

export interface EndpointHost {
  host: string;
  ips: string[];
  port: number;
  /** Kept for machines that still resolve the old name, but not enough on its own. */
  legacy?: boolean;
}

const KMS_SOURCE =
  "Microsoft Learn: Use Azure custom routes to enable KMS activation with forced tunneling (custom-routes-enable-kms-activation, updated 2024-07); Windows activation stopped working (2023-04)";
const KMS_PORT = 1688;

function kms(endpoints: EndpointHost[]): EndpointSet {
  return {
    name: "kms",
    description: "Windows activation (Azure KMS)",
    source: KMS_SOURCE,
    checked: "2026-11-28",
    appliesTo: "all",
    platformNsgAllowance: true,
    endpoints,
  };
}

/**
 * Azure KMS endpoints per cloud. The 2022 change added the azkms hosts; the kms hosts are the
 * pre-2022 ones, still to be bypassed. Users extend or replace this with --endpoints.
 */
export const KMS_ENDPOINTS: Record<CloudName, EndpointSet> = {
  AzureCloud: kms([
    { host: "azkms.core.windows.net", ips: ["20.118.99.224", "40.83.235.53"], port: KMS_PORT },
    { host: "kms.core.windows.net", ips: ["23.102.135.246"], port: KMS_PORT, legacy: true },
  ]),
  AzureUSGovernment: kms([
    { host: "azkms.core.usgovcloudapi.net", ips: ["52.126.105.2"], port: KMS_PORT },
    { host: "kms.core.usgovcloudapi.net", ips: ["23.97.0.13"], port: KMS_PORT, legacy: true },
  ]),
  AzureChinaCloud: kms([
    {
      host: "azkms.core.chinacloudapi.cn",
      ips: ["159.27.28.100", "163.228.64.161"],
      port: KMS_PORT,
    },
    { host: "kms.core.chinacloudapi.cn", ips: ["42.159.7.249"], port: KMS_PORT, legacy: true },
  ]),
};

/**
 * Red Hat Update Infrastructure 4 for pay-as-you-go RHEL (HTTPS): every IP must be allowed, as
 * updates come from the nearest healthy region. Azure Government uses the same servers; Azure
 * China has no RHUI 4 list on the page.
 */
const RHUI: EndpointSet = {
  name: "rhui",
  description: "RHEL pay-as-you-go updates (Red Hat Update Infrastructure 4)",
  source:
    "Microsoft Learn: Red Hat Update Infrastructure for on-demand RHEL VMs in Azure (virtual-machines/workloads/redhat/redhat-rhui), section 'The IPs for the RHUI content delivery servers'",
  checked: "2026-12-01",
  appliesTo: "rhelPayGo",
  platformNsgAllowance: false,
  endpoints: [
    {
      host: "rhui4-1.microsoft.com",
      ips: ["52.136.197.163", "20.225.226.182", "52.142.4.99", "20.248.180.252", "20.24.186.80"],
      port: 443,
    },
  ],
};

export const RHUI_ENDPOINTS: Record<CloudName, EndpointSet | null> = {
  AzureCloud: RHUI,
  AzureUSGovernment: RHUI,
  AzureChinaCloud: null,
};
