/**
 * A Function App instance in a child process that takes the scan lock for a run, records the run
 * as running, says "holding" on stdout and then keeps renewing the lease until it is killed (the
 * test sends SIGKILL: no release, no record of the end). Arguments: PORT CONTAINER RUN_ID.
 */
import { createBlobScanService } from "../../src/function-app/scan-service.js";
import { containerOf } from "./azurite.js";

const [port, containerName, runId] = process.argv.slice(2);
if (!port || !containerName || !runId) throw new Error("usage: PORT CONTAINER RUN_ID");
const service = createBlobScanService(containerOf(Number(port), containerName), {
  leaseSeconds: 15,
  holder: "child-instance",
});
const handle = await service.lock.tryAcquire(runId);
if (!handle) {
  process.stdout.write("busy\n");
  process.exit(2);
}
await service.runs.start(runId, { format: "json", statuses: null });
process.stdout.write("holding\n");
// Keep the process (and the lease renewals) alive until killed.
setInterval(() => undefined, 60_000);
