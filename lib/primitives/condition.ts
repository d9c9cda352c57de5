/**
 * A process-shared condition variable: `cond:/name`, or 8 bytes inside a SharedMemory
 * (Condition.at). A futex on a sequence word, not a pthread condition: a pthread
 * condition's wait must run on the thread that holds the mutex, which an async wait
 * cannot do; this one can wait off-thread. Layout (docs/wire-formats.md): u32 `seq`
 * (bumped by every notify), u32 `waiters` (how many sleep on it; notify skips the wake
 * syscall at 0). A waiter reads `seq` while it holds the mutex, counts itself in, unlocks
 * and sleeps while `seq` is unchanged — a notify between the unlock and the sleep changes
 * `seq`, so no wake-up is lost. As with POSIX, a wake may be spurious: re-check the
 * condition in a loop.
 */
import { C } from "../../ffi/facts.ts";
import { nativeView, type Pointer, ptrAdd, shim } from "../../ffi/runtime.ts";
import { futexWaitAsync } from "../../ffi/waiter.ts";
import { timeoutMs } from "../channel.ts";
import { errnoError, ipcError } from "../errors.ts";
import { deadlineIn, remaining } from "../os/wait.ts";
import type { LockResult, Mutex } from "./mutex.ts";
import type { NameKind } from "../mechanism.ts";
import { regionNames } from "../names/kinds.ts";
import { type RegionOptions, SharedRegion } from "./region.ts";
import { basePointer, type SharedMemory } from "./shared-memory.ts";

/** "COND" little-endian. */
const COND_MAGIC = 0x444e4f43;
const SEQ = 0;
const WAITERS = 1;
/** Async waits sleep in slices this long (close() never waits longer for a waiter thread). */
const ASYNC_SLICE_MS = 100;

/** How a wait ended: notified (or spuriously woken), timed out, or with the mutex back as "owner-died". */
export type WaitResult = "notified" | "timeout" | "owner-died";

/**
 * A process-shared condition variable used with a Mutex.
 *
 * @example
 * ```ts
 * using lock = new Mutex("mutex:/q", { create: true });
 * using ready = new Condition("cond:/q", { create: true });
 * lock.lock();
 * ready.wait(lock, { timeout: 1000 });
 * lock.unlock();
 * ```
 */
export class Condition implements Disposable {
  /** bytes a condition takes inside a SharedMemory (Condition.at) */
  static readonly SIZE = 8;
  /** "cond:/name", or "shm:/name+OFFSET" */
  readonly address: string;
  /** true when this handle created the cond:/ object (and removes it on close) */
  readonly owner: boolean;
  readonly #w: Int32Array;
  readonly #seq: Pointer;
  readonly #region: SharedRegion | undefined;
  readonly #memory: SharedMemory | undefined;
  #closed = false;
  /** async waits of ours in progress (close() wakes them) */
  #pending = 0;

  /** Open or create `cond:/name` (`create: true` to make it if missing; either side may be first). */
  constructor(address: string, opts?: RegionOptions);
  /** @internal */
  constructor(address: string, opts: RegionOptions, at: { memory: SharedMemory; offset: number; init: boolean });
  constructor(address: string, opts: RegionOptions = {}, at?: { memory: SharedMemory; offset: number; init: boolean }) {
    let p: Pointer;
    if (at) {
      this.#memory = at.memory;
      p = ptrAdd(basePointer(at.memory), at.offset);
      this.owner = false;
    } else {
      this.#region = new SharedRegion({ scheme: "cond", magic: COND_MAGIC, version: 1, noun: "a condition" }, address, opts, Condition.SIZE, () => {});
      p = this.#region.body;
      this.owner = this.#region.owner;
    }
    this.address = address;
    this.#seq = p;
    this.#w = new Int32Array(nativeView(p, 0, Condition.SIZE));
    if (at?.init) this.#w.fill(0);
  }

  /** A condition at byte `offset` (a multiple of 4) of `memory`; `init: true` in one process, before use. */
  static at(memory: SharedMemory, offset: number, opts: { init: boolean }): Condition {
    if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0 || offset + Condition.SIZE > memory.size) {
      throw ipcError("EINVAL", "Condition.at", memory.address, `offset must be a multiple of 4 from 0 to ${memory.size - Condition.SIZE} (got ${offset})`);
    }
    return new Condition(`${memory.address}+${offset}`, {}, { memory, offset, init: opts.init });
  }

  #assertOpen(op: string): void {
    if (this.#closed || this.#memory?.closed) throw ipcError("ECLOSED", op, this.address, `${op} on ${this.address} after close()`);
  }

  /** Count ourselves in and let go of the mutex; the sequence value to sleep on. */
  #enter(mutex: Mutex, op: string): number {
    this.#assertOpen(op);
    if (!mutex.held) {
      throw errnoError(C.EPERM, op, this.address, `${op} needs ${mutex.address} locked by this process (lock it, check the condition, then wait)`);
    }
    const seq = Atomics.load(this.#w, SEQ);
    Atomics.add(this.#w, WAITERS, 1);
    try {
      mutex.unlock();
    } catch (e) {
      Atomics.sub(this.#w, WAITERS, 1);
      throw e;
    }
    return seq;
  }

  /**
   * Unlock `mutex`, sleep until notified (or `timeout` ms), lock it again. The mutex comes
   * back as lock() gives it: "owner-died" when its holder died meanwhile (repair first).
   * Ctrl-C ends the wait.
   */
  wait(mutex: Mutex, opts?: { timeout?: number }): WaitResult {
    const t = timeoutMs(opts, "wait", this.address);
    const seq = this.#enter(mutex, "wait");
    let r: number;
    try {
      r = shim.ipcl_futex_wait(this.#seq, seq, t);
    } finally {
      Atomics.sub(this.#w, WAITERS, 1);
    }
    const relocked = mutex.lock(); // as pthread_cond_wait: whatever happened, the caller holds the mutex again
    if (r === -C.EINTR) throw errnoError(C.EINTR, "wait", this.address);
    if (relocked === "owner-died") return relocked;
    return r === -C.ETIMEDOUT && Atomics.load(this.#w, SEQ) === seq ? "timeout" : "notified";
  }

  /** wait() without blocking the event loop: the sleep runs off-thread, the relock is lockAsync(). */
  async waitAsync(mutex: Mutex, opts?: { timeout?: number }): Promise<WaitResult> {
    const t = timeoutMs(opts, "waitAsync", this.address);
    const deadline = deadlineIn(t);
    const seq = this.#enter(mutex, "waitAsync");
    let notified = false;
    try {
      for (;;) {
        if (Atomics.load(this.#w, SEQ) !== seq) {
          notified = true;
          break;
        }
        const left = remaining(deadline);
        if (left === 0) break;
        const wait = futexWaitAsync(this.#seq, seq, left < 0 ? ASYNC_SLICE_MS : Math.min(left, ASYNC_SLICE_MS), () => shim.ipcl_futex_wake(this.#seq, 1 << 30));
        this.#pending++;
        // closed meanwhile: count ourselves out while the memory is still mapped (it goes once this settles)
        const settled = wait.result.then(() => {
          this.#pending--;
          if (this.#closed && !this.#memory?.closed) Atomics.sub(this.#w, WAITERS, 1);
        });
        await (this.#region ? this.#region.track(settled) : settled);
        if (this.#closed) break;
      }
    } finally {
      if (!this.#closed) Atomics.sub(this.#w, WAITERS, 1);
    }
    const relocked: LockResult = await mutex.lockAsync();
    this.#assertOpen("waitAsync");
    return relocked === "owner-died" ? relocked : notified ? "notified" : "timeout";
  }

  /** Wake one waiter (if any sleeps). */
  notify(): void {
    this.#wake(1, "notify");
  }

  /** Wake every waiter. */
  notifyAll(): void {
    this.#wake(1 << 30, "notifyAll");
  }

  #wake(n: number, op: string): void {
    this.#assertOpen(op);
    Atomics.add(this.#w, SEQ, 1);
    if (Atomics.load(this.#w, WAITERS) > 0) shim.ipcl_futex_wake(this.#seq, n);
  }

  /** Unmap; the creator removes the name. Idempotent. Pending waitAsync calls end with ECLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // our own async waits end now (the wake reaches other processes' waiters too: a spurious wake-up, which POSIX allows)
    if (this.#pending > 0 && !this.#memory?.closed) shim.ipcl_futex_wake(this.#seq, 1 << 30);
    this.#region?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** How `cond:` names are seen and removed (remove(), `ipc-lab gc`, the leak checks). */
export const condNames: NameKind = { scheme: "cond", describe: "cond:/name — a process-shared condition (/dev/shm/cond.name)", ...regionNames };
