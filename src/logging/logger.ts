import { pino, type Logger, type DestinationStream } from "pino";
import type { LogLevel } from "./levels.js";

export type { Logger } from "pino";

/** Paths that may carry credentials; pino replaces their values before anything is written. */
export const REDACTED_PATHS = [
  "token",
  "accessToken",
  "access_token",
  "authorization",
  "headers.authorization",
  "*.authorization",
  "*.headers.authorization",
  "*.token",
  "*.access_token",
  "secret",
  "*.secret",
  "clientSecret",
  "*.clientSecret",
];

export interface LoggerOptions {
  level: LogLevel;
  /** Where JSON lines go; default stderr (stdout is reserved for results). */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: options.base ?? {},
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
