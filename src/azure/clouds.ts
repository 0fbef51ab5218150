import { AzureAuthorityHosts } from "@azure/identity";
import type { CloudName } from "../model.js";

/** Where Azure Resource Manager and Entra ID live in each cloud. */
export interface CloudEndpoints {
  /** Resource Manager endpoint, without a trailing slash. */
  armEndpoint: string;
  /** Token scope for Resource Manager: the endpoint's audience plus "/.default". */
  armScope: string;
  /** Entra ID authority host, for the credentials of DefaultAzureCredential that sign in. */
  authorityHost: string;
}

const ENDPOINTS: Record<CloudName, CloudEndpoints> = {
  AzureCloud: {
    armEndpoint: "https://management.azure.com",
    armScope: "https://management.azure.com/.default",
    authorityHost: AzureAuthorityHosts.AzurePublicCloud,
  },
  AzureUSGovernment: {
    armEndpoint: "https://management.usgovcloudapi.net",
    armScope: "https://management.usgovcloudapi.net/.default",
    authorityHost: AzureAuthorityHosts.AzureGovernment,
  },
  AzureChinaCloud: {
    armEndpoint: "https://management.chinacloudapi.cn",
    armScope: "https://management.chinacloudapi.cn/.default",
    authorityHost: AzureAuthorityHosts.AzureChina,
  },
};

export function cloudEndpoints(cloud: CloudName): CloudEndpoints {
  return ENDPOINTS[cloud];
}
