/**
 * How a command ends with a code other than 0 (findings, an incomplete run): thrown from its
 * action and turned into the process's exit code by main, the CLI's one exit point.
 */
export class CommandExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = "CommandExit";
  }
}

/** Ends the command with its code: returns for 0, throws CommandExit otherwise. */
export function exitWith(code: number): void {
  if (code !== 0) throw new CommandExit(code);
}
