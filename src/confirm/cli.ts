import { InputError } from "../errors.js";
import type { CloudName } from "../model.js";
import type { Settings } from "../settings.js";
import type { ConfirmationOptions } from "./confirmed-scan.js";

export { runConfirmedScan } from "./confirmed-scan.js";

/** Confirmation options from the scan command's flags; refuses them outside live scans. */
export function confirmationFor(
  options: {
    input: string[];
    demo: boolean;
    cloud: CloudName;
    confirmGatewayRoutes?: boolean;
    verifyEffectiveRoutes?: boolean;
  },
  settings: Settings,
): ConfirmationOptions {
  if (options.input.length > 0 || options.demo) {
    throw new InputError(
      "--confirm-gateway-routes and --verify-effective-routes need a live scan (ARM access); they cannot be used with --input or --demo",
    );
  }
  return {
    confirmGatewayRoutes: options.confirmGatewayRoutes === true,
    verifyEffectiveRoutes: options.verifyEffectiveRoutes === true,
    network: { cloud: options.cloud, armEndpoint: settings.armEndpoint },
  };
}
