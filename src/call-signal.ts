/** An abort signal for one call: the caller's signal or the per-call timeout, whichever first. */
export function callSignal(timeoutInMs: number, signal?: AbortSignal) {
  const timeout = AbortSignal.timeout(timeoutInMs);
  return { timeout, abortSignal: signal ? AbortSignal.any([signal, timeout]) : timeout };
}
