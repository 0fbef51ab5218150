import { InputError } from "../errors.js";
import type { CloudName } from "../model.js";
import type { Settings } from "../settings.js";
import { createFactsStage, type FactsStage } from "../facts/facts-stage.js";

/** The facts stage of the scan command's flags; refuses them outside live scans. */
export function factsFor(
  options: {
    input: string[];
    demo: boolean;
    cloud: CloudName;
    confirmGatewayRoutes?: boolean;
    verifyEffectiveRoutes?: boolean;
  },
  settings: Settings,
): FactsStage {
  if (options.input.length > 0 || options.demo) {
    throw new InputError(
      "--confirm-gateway-routes and --verify-effective-routes need a live scan (ARM access); they cannot be used with --input or --demo",
    );
  }
  return createFactsStage({
    learnedRoutes: options.confirmGatewayRoutes === true,
    effectiveRoutes: options.verifyEffectiveRoutes === true,
    network: { cloud: options.cloud, armEndpoint: settings.armEndpoint },
  });
}
