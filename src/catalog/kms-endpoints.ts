import type { CloudName } from "../model.js";

/** A named group of endpoints that must all bypass forced tunneling, e.g. Windows KMS. */
export interface EndpointSet {
  name: string;
  description: string;
  source: string;
  /** When the list was last checked against its source (YYYY-MM-DD). */
  checked: string;
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

/**
 * Azure KMS endpoints per cloud. The 2022 change added the azkms hosts; the kms hosts are the
 * pre-2022 ones, still to be bypassed. Users extend or replace this with --endpoints.
 */
export const KMS_ENDPOINTS: Record<CloudName, EndpointSet> = {
  AzureCloud: {
    name: "kms",
    description: "Windows activation (Azure KMS)",
    source: KMS_SOURCE,
    checked: "2026-11-28",
    endpoints: [
      { host: "azkms.core.windows.net", ips: ["20.118.99.224", "40.83.235.53"], port: KMS_PORT },
      { host: "kms.core.windows.net", ips: ["23.102.135.246"], port: KMS_PORT, legacy: true },
    ],
  },
  AzureUSGovernment: {
    name: "kms",
    description: "Windows activation (Azure KMS)",
    source: KMS_SOURCE,
    checked: "2026-11-28",
    endpoints: [
      { host: "azkms.core.usgovcloudapi.net", ips: ["52.126.105.2"], port: KMS_PORT },
      { host: "kms.core.usgovcloudapi.net", ips: ["23.97.0.13"], port: KMS_PORT, legacy: true },
    ],
  },
  AzureChinaCloud: {
    name: "kms",
    description: "Windows activation (Azure KMS)",
    source: KMS_SOURCE,
    checked: "2026-11-28",
    endpoints: [
      {
        host: "azkms.core.chinacloudapi.cn",
        ips: ["159.27.28.100", "163.228.64.161"],
        port: KMS_PORT,
      },
      { host: "kms.core.chinacloudapi.cn", ips: ["42.159.7.249"], port: KMS_PORT, legacy: true },
    ],
  },
};
