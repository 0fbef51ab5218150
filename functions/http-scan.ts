// @azure/functions is a CommonJS bundle whose named exports Node cannot detect: use the default.
import functions, { type HttpFunctionOptions } from "@azure/functions";

const { app } = functions;
import { createHttpScanHandlers } from "../src/function-app/http-scan-handlers.js";

/** GET/POST /api/scan: a scoped scan answered synchronously, a tenant-wide one with 202. */
export const httpScan = createHttpScanHandlers().scan;

export const httpScanOptions: HttpFunctionOptions = {
  methods: ["GET", "POST"],
  authLevel: "function",
  route: "scan",
  handler: httpScan,
};

app.http("httpScan", httpScanOptions);
