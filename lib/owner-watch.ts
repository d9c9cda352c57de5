/**
 * Noticing that the creator of a named queue or semaphore has died. The kernel says
 * nothing when a process holding a message queue or a semaphore exits, so an opener looks
 * up the creator's pid in the registry of owned names (lib/registry.ts) and, while it
 * waits, checks every PEER_CHECK_MS that the creator still exists. Once the creator is
 * gone, a receive with nothing left to take ends with EOF and a send into a full queue
 * with EPIPE, instead of waiting for ever.
 */
import { C } from "../ffi/facts.ts";
import { errno, libc } from "../ffi/runtime.ts";
import { ownerOf } from "./registry.ts";

/** How often a waiting side looks at its peer or owner (ms). */
export const PEER_CHECK_MS = 100;

/** Whether process `pid` exists (pid <= 0: unknown, taken as alive). */
export function processAlive(pid: number): boolean {
  return pid <= 0 || libc.kill(pid, 0) === 0 || errno() !== C.ESRCH;
}

/** The creator of a named object, as seen by a process that opened it. */
export class OwnerWatch {
  readonly pid: number;
  #gone = false;
  #lastCheck = 0;

  private constructor(pid: number) {
    this.pid = pid;
  }

  /** A watch on the creator of `address`, or undefined when we created it or it is not registered (another user's object). */
  static forOpener(address: string): OwnerWatch | undefined {
    const pid = ownerOf(address);
    return pid !== undefined && pid !== process.pid ? new OwnerWatch(pid) : undefined;
  }

  /** Whether the creator has exited; looks at most every PEER_CHECK_MS. */
  gone(): boolean {
    if (this.#gone) return true;
    const now = performance.now();
    if (now - this.#lastCheck < PEER_CHECK_MS) return false;
    this.#lastCheck = now;
    this.#gone = !processAlive(this.pid);
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
