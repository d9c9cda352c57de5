/**
 * Waiting for what the kernel gives no descriptor or futex for: sync waits on the JS
 * thread (which block like C would) with a growing back-off, and the async form, a timer
 * with a doubling back-off so the event loop stays free.
 */
import { C } from "../../ffi/facts.ts";
import { sleepSync } from "../../ffi/process.ts";
import { throwIfStopped } from "../names/cleanup.ts";
import { errnoError } from "../errors.ts";
import type { PendingWait } from "../../ffi/waiter.ts";

/**
 * Retry `attempt` until it returns a value other than undefined or `timeout` ms pass
 * (-1: forever), sleeping with a growing back-off (1 ms up to 50 ms). Returns undefined
 * on timeout. Used for "wait for the object / the peer to appear".
 */
export function retryUntil<T>(timeout: number, attempt: () => T | undefined, syscall = "open", address?: string): T | undefined {
  const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
  let pause = 1;
  for (;;) {
    const v = attempt();
    if (v !== undefined) return v;
    const left = deadline - performance.now();
    if (left <= 0) return undefined;
    sleepSync(Math.min(pause, left));
    throwIfStopped(syscall, address); // pauses are at most 50 ms: a stop ends the wait soon
    pause = Math.min(pause * 2, 50);
  }
}

/**
 * The advice for something that did not appear: how long we waited, and what to do. The
 * library's words; the CLI rewords "create: true" and "timeout" into its flags.
 */
export function notThere(what: string, timeout: number, side = "the side that creates it"): string {
  const waited = timeout > 0 ? ` (waited ${timeout} ms)` : "";
  return `${what}${waited}: create it (create: true), or start ${side} first${timeout > 0 ? ", or wait longer (timeout)" : ", or wait for it (timeout)"}`;
}

/**
 * Open something that may not exist yet: call `attempt` (a descriptor or id >= 0, or
 * -errno) until it succeeds or `timeout` ms pass, retrying only on ENOENT. Any other error
 * throws at once; running out of time throws ENOENT saying what is missing (`missing`).
 */
export function openWhenPresent(
  timeout: number,
  attempt: () => number,
  syscall: string,
  address: string,
  missing: string,
  hint?: (errno: number) => string | undefined,
): number {
  const got = retryUntil(
    timeout,
    () => {
      const r = attempt();
      if (r >= 0) return r;
      if (r !== -C.ENOENT) throw errnoError(-r, syscall, address, hint?.(-r));
      return undefined;
    },
    syscall,
    address,
  );
  if (got === undefined) throw errnoError(C.ENOENT, syscall, address, notThere(missing, timeout));
  return got;
}

/** A back-off that starts at `min` ms and doubles to `max` ms; reset() after progress. */
export class Backoff {
  #next: number;
  constructor(
    readonly min = 0.05,
    readonly max = 2,
  ) {
    this.#next = min;
  }

  /** A wait of the current delay (capped by timeout ms when >= 0); the delay then doubles. */
  wait(timeout: number): PendingWait {
    const ms = timeout >= 0 ? Math.min(this.#next, timeout) : this.#next;
    this.#next = Math.min(this.#next * 2, this.max);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let resolve!: (r: number) => void;
    const result = new Promise<number>((r) => {
      resolve = r;
      timer = setTimeout(() => r(0), ms);
    });
    return {
      result,
      cancel: () => {
        clearTimeout(timer);
        resolve(0);
      },
    };
  }

  /** Start again from the shortest delay. */
  reset(): void {
    this.#next = this.min;
  }
}
