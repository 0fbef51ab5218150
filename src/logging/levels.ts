/** pino's levels, as KMS_AUDIT_LOG_LEVEL and --log-level name them. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
