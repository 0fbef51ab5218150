import { redact } from "./redact.js";

/**
 * The small error hierarchy of the project. Only the CLI entry turns these into exit codes;
 * everything else throws them with enough context to fix the problem.
 */

/** A file, argument or setting the user gave us is wrong. CLI exit code 2, HTTP 400. */
export class InputError extends Error {
  override readonly name: string = "InputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The output (stdout, --output) could not be written. CLI exit code 2, like a bad --output. */
export class OutputError extends InputError {
  override readonly name = "OutputError";
}

/** A setting (environment variable / app setting) is missing or malformed. */
export class SettingsError extends InputError {
  override readonly name = "SettingsError";
  constructor(
    readonly setting: string,
    message: string,
  ) {
    // Settings hold URLs with SAS signatures, passwords and keys: the message never repeats them.
    super(redact(`setting ${setting}: ${message}`));
  }
}

/** A data source (Resource Graph, a file) failed in a way the scan cannot recover from. */
export class SourceError extends Error {
  override readonly name = "SourceError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Text of an unknown thrown value, for one-line messages, with credentials redacted: errors of
 * HTTP clients and token endpoints repeat URLs, headers and answers.
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) return redact(error.message);
  return redact(String(error));
}

/** Text on one line: credential chains and HTTP errors spread their story over several. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

const UNAVAILABLE =
  /\b(?:is unavailable|is not available|could not be found|couldn't be found|unable to execute)\b/i;

/**
 * One line for a failed token request. DefaultAzureCredential reports one paragraph per credential
 * it tried; this keeps the ones that were there and failed (e.g. a managed identity answering 401)
 * and only counts the ones that were not available at all (no Azure CLI, no PowerShell, ...).
 */
export function describeCredentialError(error: unknown): string {
  const inner = (error as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(inner) || inner.length === 0) return tidy(describeError(error));
  const messages = inner.map((e) => tidy(describeError(e)));
  const failed = messages.filter((m) => !UNAVAILABLE.test(m) || /authentication failed/i.test(m));
  if (failed.length === 0) return `no credential available: ${messages.join("; ")}`;
  const others = messages.length - failed.length;
  return (
    failed.join("; ") +
    (others > 0
      ? ` (${others} other credential${others === 1 ? " was" : "s were"} not available)`
      : "")
  );
}

function tidy(message: string): string {
  // MSAL pads its errors with "Timestamp: Not Available - Correlation ID: Not Available ...".
  return oneLine(message)
    .replace(/\s*-?\s*(?:Error\(s\)|Timestamp|Correlation ID|Trace ID): Not Available\s*-?/g, " ")
    .replace(/\s{2,}/g, " ")
    .trim();
}
