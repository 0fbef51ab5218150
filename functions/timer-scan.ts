// @azure/functions is a CommonJS bundle whose named exports Node cannot detect: use the default.
import functions from "@azure/functions";

const { app } = functions;
import { createTimerScanHandler } from "../src/function-app/timer-scan-handler.js";

/** The scheduled audit; settings are read when it runs (see src/function-app/timer-scan-handler.ts). */
export const timerScan = createTimerScanHandler();

export const timerScanOptions = {
  // Resolved from the app setting KMS_AUDIT_SCHEDULE, which must exist (infra sets it).
  schedule: "%KMS_AUDIT_SCHEDULE%",
  runOnStartup: false,
  handler: timerScan,
};

app.timer("timerScan", timerScanOptions);
