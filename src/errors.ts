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

/** A setting (environment variable / app setting) is missing or malformed. */
export class SettingsError extends InputError {
  override readonly name = "SettingsError";
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`setting ${setting}: ${message}`);
  }
}

/** A data source (Resource Graph, a file) failed in a way the scan cannot recover from. */
export class SourceError extends Error {
  override readonly name = "SourceError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Text of an unknown thrown value, for one-line messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
