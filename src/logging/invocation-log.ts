import type { DestinationStream } from "pino";
import type { LogLevel } from "./levels.js";
import { createLogger, type Logger } from "./logger.js";

/**
 * The logging methods of an Azure Functions InvocationContext. Lines written through them carry
 * the invocation's operation ID, so Application Insights correlates them with the invocation.
 */
export interface InvocationLog {
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** pino's numeric levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal. */
function methodFor(level: unknown): keyof InvocationLog {
  if (typeof level !== "number") return "info";
  if (level >= 50) return "error";
  if (level >= 40) return "warn";
  if (level >= 30) return "info";
  if (level >= 20) return "debug";
  return "trace";
}

/**
 * A pino destination that hands each JSON line, unchanged (already redacted), to the invocation
 * context's method of the line's level.
 */
export function invocationLogStream(log: InvocationLog): DestinationStream {
  return {
    write(line: string) {
      const text = line.endsWith("\n") ? line.slice(0, -1) : line;
      let level: unknown;
      try {
        level = (JSON.parse(text) as { level?: unknown }).level;
      } catch {
        level = undefined;
      }
      log[methodFor(level)](text);
    },
  };
}

/** A logger (redaction as createLogger) whose lines go to the invocation context. */
export function createInvocationLogger(
  log: InvocationLog,
  options: { level: LogLevel; base?: Record<string, unknown> },
): Logger {
  return createLogger({
    level: options.level,
    base: options.base,
    destination: invocationLogStream(log),
  });
}

/**
 * An InvocationLog that writes to the context until `detach()`, then to stderr (the worker's
 * console, which still reaches the host logs, without the invocation's correlation). For work
 * that outlives its invocation, such as a tenant-wide scan answered with 202.
 */
export function detachableInvocationLog(log: InvocationLog): {
  log: InvocationLog;
  detach(): void;
} {
  let attached = true;
  const method =
    (name: keyof InvocationLog) =>
    (...args: unknown[]) => {
      if (attached) log[name](...args);
      else process.stderr.write(`${args.map(String).join(" ")}\n`);
    };
  return {
    log: {
      trace: method("trace"),
      debug: method("debug"),
      info: method("info"),
      warn: method("warn"),
      error: method("error"),
    },
    detach: () => {
      attached = false;
    },
  };
}
