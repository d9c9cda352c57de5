/**
 * A robust, process-shared mutex: `mutex:/name` (its own small shared object), or placed
 * inside a SharedMemory beside the data it guards (Mutex.at). It is a glibc pthread mutex
 * (robust, PTHREAD_PROCESS_SHARED, error-checking), not a futex of our own: robustness
 * rests on the kernel's robust-futex list, which glibc registers for every thread — a lock
 * held by a process that dies (SIGKILL included) is handed to the next locker as
 * "owner-died" (ffi/shim/mutex.c says more). Its layout is glibc's pthread_mutex_t, so a C
 * program (pthread_mutex_lock on the same bytes) or Python (ctypes) can take part.
 *
 * A pthread mutex belongs to the thread that locked it: the JS thread locks and unlocks.
 * Async locks therefore never lock off-thread; a waiter thread only sleeps on the lock
 * word (with the FUTEX_WAITERS bit set, as a blocked locker does, so the unlock wakes it)
 * and the JS thread tries again.
 */
import { C, fact, layout } from "../../ffi/facts.ts";
import { nativeView, type Pointer, ptrAdd, shim } from "../../ffi/runtime.ts";
import { futexWaitAsync } from "../../ffi/waiter.ts";
import { timeoutMs } from "../channel.ts";
import { errnoError, ipcError } from "../errors.ts";
import { deadlineIn, remaining } from "../os/wait.ts";
import type { NameKind } from "../mechanism.ts";
import { regionNames } from "../names/kinds.ts";
import { type RegionOptions, SharedRegion } from "./region.ts";
import { basePointer, type SharedMemory } from "./shared-memory.ts";

const PTHREAD_MUTEX = layout("pthread_mutex", ["lock"] as const);
const FUTEX_WAITERS = fact("FUTEX_WAITERS");
const FUTEX_TID_MASK = fact("FUTEX_TID_MASK");
const EOWNERDEAD = fact("EOWNERDEAD");
const ENOTRECOVERABLE = fact("ENOTRECOVERABLE");
const EDEADLK = fact("EDEADLK");
/** "MUTX" little-endian: the magic of a mutex:/ object. */
const MUTEX_MAGIC = 0x5854554d;
/** Async locks sleep in slices this long: a wake spent on another waiter costs at most this. */
const ASYNC_SLICE_MS = 50;

/** What a lock got: the mutex, or the mutex of a holder that died holding it (repair, consistent(), unlock). */
export type LockResult = "locked" | "owner-died";

/** A held lock, for `using`: unlocks when disposed. */
export interface MutexGuard extends Disposable {
  /** "owner-died": the data may be half-updated; repair it and call consistent() before the guard ends */
  readonly state: LockResult;
}

/**
 * A robust process-shared mutex (pthread).
 *
 * @example
 * ```ts
 * using m = new Mutex("mutex:/counter", { create: true });
 * if (m.lock() === "owner-died") repair(); // a holder was killed holding it
 * m.unlock();
 * ```
 */
export class Mutex implements Disposable {
  /** bytes a mutex takes inside a SharedMemory (Mutex.at): sizeof(pthread_mutex_t) */
  static readonly SIZE: number = PTHREAD_MUTEX.size;
  /** "mutex:/name", or "shm:/name+OFFSET" for one inside a SharedMemory */
  readonly address: string;
  /** true when this handle created the mutex:/ object (and removes it on close) */
  readonly owner: boolean;
  readonly #m: Pointer;
  readonly #word: Int32Array;
  readonly #region: SharedRegion | undefined;
  readonly #memory: SharedMemory | undefined;
  #held = false;
  /** locked as "owner-died" and consistent() not called yet */
  #repairing = false;
  #closed = false;

  /**
   * Open or create `mutex:/name` (`create: true` to make it if missing; either process may
   * be first). The creator removes the name on close().
   */
  constructor(address: string, opts?: RegionOptions);
  /** @internal */
  constructor(address: string, opts: RegionOptions, at: { memory: SharedMemory; offset: number; init: boolean });
  constructor(address: string, opts: RegionOptions = {}, at?: { memory: SharedMemory; offset: number; init: boolean }) {
    if (at) {
      this.#memory = at.memory;
      this.#m = ptrAdd(basePointer(at.memory), at.offset);
      if (at.init) initMutex(this.#m, address);
      this.owner = false;
    } else {
      this.#region = new SharedRegion(
        { scheme: "mutex", magic: MUTEX_MAGIC, version: 1, noun: "a mutex" },
        address,
        opts,
        PTHREAD_MUTEX.size,
        (body) => initMutex(body, address),
      );
      this.#m = this.#region.body;
      this.owner = this.#region.owner;
    }
    this.address = address;
    this.#word = new Int32Array(nativeView(this.#m, PTHREAD_MUTEX.lock, 4));
  }

  /**
   * A mutex at byte `offset` of `memory` (8-byte aligned, Mutex.SIZE bytes), beside the
   * data it guards. `init: true` (one process, before the others use it) writes a fresh
   * mutex there; the others pass `init: false`. The memory's owner removes the name.
   */
  static at(memory: SharedMemory, offset: number, opts: { init: boolean }): Mutex {
    if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0 || offset + Mutex.SIZE > memory.size) {
      throw ipcError(
        "EINVAL",
        "Mutex.at",
        memory.address,
        `offset must be a multiple of 8 from 0 to ${memory.size - Mutex.SIZE} (the mutex takes ${Mutex.SIZE} bytes; got ${offset})`,
      );
    }
    return new Mutex(`${memory.address}+${offset}`, {}, { memory, offset, init: opts.init });
  }

  #assertOpen(op: string): void {
    if (this.#closed || this.#memory?.closed) throw ipcError("ECLOSED", op, this.address, `${op} on ${this.address} after close()`);
  }

  /** Turn the shim's result into a LockResult, "busy", or an IpcError. */
  #result(r: number, op: string, t: number): LockResult | "busy" {
    if (r === 0 || r === -EOWNERDEAD) {
      this.#held = true;
      this.#repairing = r === -EOWNERDEAD;
      return this.#repairing ? "owner-died" : "locked";
    }
    if (r === -C.EBUSY) return "busy";
    if (r === -C.ETIMEDOUT) throw ipcError("ETIMEDOUT", op, this.address, `${op} on ${this.address} timed out after ${t} ms (another process holds it)`);
    if (r === -ENOTRECOVERABLE) {
      throw errnoError(
        ENOTRECOVERABLE,
        op,
        this.address,
        "the mutex is unusable: a holder died holding it and the next one unlocked it without calling consistent(); remove it and create it again",
      );
    }
    if (r === -EDEADLK) throw errnoError(EDEADLK, op, this.address, "this process already holds it (a pthread mutex is not recursive): unlock() it first");
    throw errnoError(-r, op, this.address);
  }

  /** Lock, waiting up to `timeout` ms (ETIMEDOUT after it); Ctrl-C ends the wait. */
  lock(opts?: { timeout?: number }): LockResult {
    this.#assertOpen("lock");
    const t = timeoutMs(opts, "lock", this.address);
    const r = this.#result(shim.ipcl_mutex_lock(this.#m, t), "lock", t);
    if (r === "busy") throw ipcError("ETIMEDOUT", "lock", this.address, `lock on ${this.address} timed out after ${t} ms`);
    return r;
  }

  /** Lock if free now: "busy" when another holds it. Never blocks. */
  tryLock(): LockResult | "busy" {
    this.#assertOpen("tryLock");
    return this.#result(shim.ipcl_mutex_lock(this.#m, 0), "tryLock", 0);
  }

  /** Lock without blocking the event loop (a waiter thread sleeps on the lock word; the JS thread locks). */
  async lockAsync(opts?: { timeout?: number }): Promise<LockResult> {
    this.#assertOpen("lockAsync");
    const t = timeoutMs(opts, "lockAsync", this.address);
    const deadline = deadlineIn(t);
    for (;;) {
      const r = this.tryLock();
      if (r !== "busy") return r;
      const left = remaining(deadline);
      if (left === 0) throw ipcError("ETIMEDOUT", "lockAsync", this.address, `lockAsync on ${this.address} timed out after ${t} ms (another process holds it)`);
      let v = Atomics.load(this.#word, 0);
      if ((v & FUTEX_TID_MASK) === 0) continue; // freed meanwhile
      // say "someone waits", as a blocked locker does, so that the unlock wakes us
      if ((v & FUTEX_WAITERS) === 0) {
        if (Atomics.compareExchange(this.#word, 0, v, v | FUTEX_WAITERS) !== v) continue;
        v |= FUTEX_WAITERS;
      }
      const word = ptrAdd(this.#m, PTHREAD_MUTEX.lock);
      const wait = futexWaitAsync(word, v >>> 0, Math.min(left < 0 ? ASYNC_SLICE_MS : left, ASYNC_SLICE_MS), () => shim.ipcl_futex_wake(word, 1 << 30));
      await (this.#region ? this.#region.track(wait.result) : wait.result);
      this.#assertOpen("lockAsync");
    }
  }

  /**
   * After "owner-died": the data is repaired, mark the mutex usable again (then unlock()).
   * Unlocking without it leaves the mutex unusable for good (ENOTRECOVERABLE), as POSIX says.
   */
  consistent(): void {
    this.#assertOpen("consistent");
    if (!this.#repairing) throw ipcError("EINVAL", "consistent", this.address, 'consistent() is for a lock that returned "owner-died", while it is held');
    const r = shim.ipcl_mutex_consistent(this.#m);
    if (r < 0) throw errnoError(-r, "pthread_mutex_consistent", this.address);
    this.#repairing = false;
  }

  /** Unlock (EPERM if this process does not hold it). */
  unlock(): void {
    this.#assertOpen("unlock");
    const r = shim.ipcl_mutex_unlock(this.#m);
    if (r < 0) throw errnoError(-r, "unlock", this.address, r === -C.EPERM ? "this process does not hold it" : undefined);
    this.#held = this.#repairing = false;
  }

  /** Whether this handle holds the lock. */
  get held(): boolean {
    return this.#held;
  }

  /** Lock (as lock()) and return a guard that unlocks when disposed: `using g = m.guard()`. */
  guard(opts?: { timeout?: number }): MutexGuard {
    const state = this.lock(opts);
    return { state, [Symbol.dispose]: () => this.#held && this.unlock() };
  }

  /** Unlock if held, unmap; the creator removes the name. Idempotent. */
  close(): void {
    if (this.#closed) return;
    if (this.#held && !this.#memory?.closed) shim.ipcl_mutex_unlock(this.#m); // a live process must not keep others out
    this.#closed = true;
    this.#region?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function initMutex(m: Pointer, address: string): void {
  const r = shim.ipcl_mutex_init(m);
  if (r < 0) throw errnoError(-r, "pthread_mutex_init", address);
}

/** How `mutex:` names are seen and removed (remove(), `ipc-lab gc`, the leak checks). */
export const mutexNames: NameKind = { scheme: "mutex", describe: "mutex:/name — a robust process-shared mutex (/dev/shm/mutex.name)", ...regionNames };
