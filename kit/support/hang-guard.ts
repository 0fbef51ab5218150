/**
 * How long a child process in a test or benchmark may run before it is taken for hung and
 * killed. Only a guard against a hang: a working command never comes near it, however loaded the
 * machine (CI's own limit is 30 minutes); no test may depend on a command finishing sooner.
 */
export const HANG_GUARD_MS = 10 * 60_000;
