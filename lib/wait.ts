/**
 * Small helpers for waiting on the JS thread in sync calls (which block like C would).
 */

/** Sleep the thread for `ms` milliseconds (sync). */
export function sleepSync(ms: number): void {
  Bun.sleepSync(ms);
}

/**
 * Retry `attempt` until it returns a value other than undefined or `timeout` ms pass
 * (-1: forever), sleeping with a growing back-off (1 ms up to 50 ms). Returns undefined
 * on timeout. Used for "wait for the object / the peer to appear".
 */
export function retryUntil<T>(timeout: number, attempt: () => T | undefined): T | undefined {
  const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
  let pause = 1;
  for (;;) {
    const v = attempt();
    if (v !== undefined) return v;
    const left = deadline - performance.now();
    if (left <= 0) return undefined;
    sleepSync(Math.min(pause, left));
    pause = Math.min(pause * 2, 50);
  }
}
