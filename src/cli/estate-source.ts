import type { CloudName } from "../model.js";
import type { Settings } from "../settings.js";
import { createEstateFileSource } from "../sources/estate-files.js";
import type { EstateSource } from "../sources/source.js";
import { DEMO_ESTATE } from "./demo.js";

export interface EstateInputs {
  input: string[];
  demo: boolean;
  cloud: CloudName;
  subscriptions: string[];
  managementGroups: string[];
}

/**
 * The estate a command reads: the demo, estate files, or the live tenant. The Azure SDK is loaded
 * only for a live scan, so offline commands start fast.
 */
export async function estateSourceFor(
  options: EstateInputs,
  settings: Settings,
  stdin: () => Promise<Buffer>,
): Promise<EstateSource> {
  if (options.demo) {
    return createEstateFileSource([DEMO_ESTATE], {
      kind: "demo",
      labels: ["samples/demo-estate.json"],
    });
  }
  if (options.input.length > 0) return createEstateFileSource(options.input, { stdin });
  const { liveSourceFromSettings } = await import("../scan-setup.js");
  // The command line's cloud and scope win over the settings'.
  return liveSourceFromSettings({ ...settings, cloud: options.cloud }, options);
}
