/**
 * Noticing that the creator of a named queue or semaphore has died. The kernel says
 * nothing when a process holding a message queue or a semaphore exits, so an opener looks
 * up the creator's pid in the registry of owned names (lib/registry.ts) and, while it
 * waits, checks every PEER_CHECK_MS that the creator still exists. Once the creator is
 * gone, a receive with nothing left to take ends with EOF and a send into a full queue
 * with EPIPE, instead of waiting for ever.
 */
import { alive, ownerOf } from "./registry.ts";

/** How often a waiting side looks at its peer or owner (ms). */
export const PEER_CHECK_MS = 100;

/** Whether process `pid` exists (pid <= 0: unknown, taken as alive). */
export function processAlive(pid: number): boolean {
  return pid <= 0 || alive(pid);
}

/** The creator of a named object, as seen by a process that opened it. */
export class OwnerWatch {
  readonly #address: string;
  #pid: number | undefined;
  #gone = false;
  #lastCheck = 0;

  private constructor(address: string) {
    this.#address = address;
  }

  /**
   * A watch on the creator of `address`, for a process that opened it. The creator's pid is
   * looked up in the registry when first needed: a creator registers just after creating,
   * so an opener can be quicker than its record.
   */
  static forOpener(address: string): OwnerWatch {
    return new OwnerWatch(address);
  }

  /** The creator's pid, once known (0 while not). */
  get pid(): number {
    return this.#pid ?? 0;
  }

  /** Whether the creator is known to have exited; looks at most every PEER_CHECK_MS. */
  gone(): boolean {
    if (this.#gone) return true;
    const now = performance.now();
    if (now - this.#lastCheck < PEER_CHECK_MS) return false;
    this.#lastCheck = now;
    this.#pid ??= ownerOf(this.#address);
    // not registered (yet, or another user's object), or ourselves: nothing to watch
    if (this.#pid === undefined || this.#pid === process.pid) return false;
    this.#gone = !processAlive(this.#pid);
    return this.#gone;
  }

  /**
   * Run a blocking `attempt(ms)` in slices of PEER_CHECK_MS until it returns something
   * other than `idle`, `timeout` ms pass (-1: no limit) or the creator is gone (then
   * "gone"). Returns the last result otherwise.
   */
  sliced(timeout: number, idle: (r: number) => boolean, attempt: (ms: number) => number): number | "gone" {
    const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
    for (;;) {
      const left = deadline - performance.now();
      const r = attempt(Math.max(0, Math.min(left, PEER_CHECK_MS)));
      if (!idle(r) || left <= PEER_CHECK_MS) return r;
      if (this.gone()) return "gone";
    }
  }

  /** A wait of `timeout` ms (-1: no limit) cut to one slice, so an async loop comes back to look. */
  slice(timeout: number): number {
    return timeout < 0 ? PEER_CHECK_MS : Math.min(timeout, PEER_CHECK_MS);
  }

  /** The IpcError text for a receive that can no longer be answered. */
  recvMessage(address: string): string {
    return `the creator of ${address} (pid ${this.pid}) has exited and nothing is left to receive: no more messages will come`;
  }

  /** The IpcError text for a send that can no longer be taken. */
  sendMessage(address: string): string {
    return `the creator of ${address} (pid ${this.pid}) has exited and the queue is full: no one will take this message`;
  }
}
