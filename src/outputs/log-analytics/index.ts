export {
  createLogAnalyticsSink,
  logAnalyticsSinkOptionsFromSettings,
  LOG_ANALYTICS_SINK_NAME,
  MAX_RECORD_BYTES,
  MONITOR_AUDIENCE,
  type LogAnalyticsSinkOptions,
} from "./sink.js";
export {
  createFilePendingStore,
  createMemoryPendingStore,
  newPendingBatchId,
  type PendingBatch,
  type PendingStore,
} from "./pending-store.js";
export { createBlobPendingStore, createBlobPendingStoreFromUrl } from "./blob-pending-store.js";
export { FINDINGS_TABLE, RUNS_TABLE, TABLES, type FindingRow, type RunRow } from "./schema.js";
export { toFindingRow, toFindingRows, toRunRow, findingRecordId } from "./rows.js";
