/**
 * Waiting for objects the kernel gives no descriptor or futex for (System V queues): the
 * async path re-checks on a timer with a doubling back-off, so the event loop stays free.
 */
import type { PendingWait } from "../ffi/waiter.ts";

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
