// @azure/functions is a CommonJS bundle whose named exports Node cannot detect: use the default.
import functions, { type HttpFunctionOptions } from "@azure/functions";

const { app } = functions;
import { createHttpScanHandlers } from "../src/function-app/http-scan-handlers.js";

/** GET /api/scan/runs/{runId}: the result of a run on this instance (200), or 202 while it runs. */
export const httpScanRun = createHttpScanHandlers().scanRun;

export const httpScanRunOptions: HttpFunctionOptions = {
  methods: ["GET"],
  authLevel: "function",
  route: "scan/runs/{runId}",
  handler: httpScanRun,
};

app.http("httpScanRun", httpScanRunOptions);
