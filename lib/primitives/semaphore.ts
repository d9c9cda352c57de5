/**
 * Semaphores as plain primitives: POSIX named semaphores (`Semaphore`, sem_open) and
 * System V semaphores (`SysvSemaphore`, semget/semop with optional SEM_UNDO, so a process
 * that dies holding units gives them back).
 */
import { C } from "../../ffi/facts.ts";
import { cstr, libc, type Pointer, shim } from "../../ffi/runtime.ts";
import { type PendingWait, semWaitAsync } from "../../ffi/waiter.ts";
import { checkPosixName, parseAddress } from "../address.ts";
import { timeoutMs } from "../channel.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { watchStopSignals } from "../os/stop.ts";
import { checkNeg, errnoError, ipcError } from "../errors.ts";
import { sysvKey } from "../os/sysv-key.ts";
import { createOrOpen, deadlineIn, HeldDuringWaits, notThere, retryUntil, SecondLook } from "../os/wait.ts";
import type { NameKind } from "../mechanism.ts";
import { sysvNames } from "../names/kinds.ts";

/** Options for opening a semaphore. */
export interface SemaphoreOptions {
  /** create it if missing (the creator removes it on close) */
  create?: boolean;
  /** with create: fail with EEXIST if it exists */
  exclusive?: boolean;
  /** initial value for a new semaphore (default 0) */
  value?: number;
  /** permission bits (default 0o600) */
  mode?: number;
  /** milliseconds to wait for it to exist (default 0) */
  timeout?: number;
}

/** Largest value of a POSIX semaphore on Linux (SEM_VALUE_MAX). */
export const SEM_VALUE_MAX = 0x7fffffff;
/** Async waits are taken in slices this long, so close() never waits longer for a worker. */
const ASYNC_SLICE_MS = 100;

function checkValue(v: number, address: string): number {
  if (!Number.isInteger(v) || v < 0 || v > SEM_VALUE_MAX) {
    throw ipcError("EINVAL", "sem_open", address, `value must be a whole number from 0 to ${SEM_VALUE_MAX} (got ${v})`);
  }
  return v;
}

/**
 * A POSIX named semaphore: `sem:/name` (the file /dev/shm/sem.name).
 *
 * @example
 * ```ts
 * using s = new Semaphore("sem:/slots", { create: true, value: 4 });
 * if (s.wait({ timeout: 1000 })) { work(); s.post(); }
 * ```
 */
export class Semaphore implements Disposable {
  /** "sem:/name" */
  readonly address: string;
  /** true when this handle created the semaphore (and removes it on close) */
  readonly owner: boolean;
  readonly #name: string;
  #sem: Pointer | null;
  /** the handle, kept until close() and the last waiter thread in sem_wait on it have both happened */
  readonly #held = new HeldDuringWaits(() => {
    libc.sem_close(this.#sem!);
    this.#sem = null;
  });
  #look: SecondLook | undefined;

  /** Open or create the semaphore at `sem:/name`. */
  constructor(address: string, opts: SemaphoreOptions = {}) {
    watchStopSignals();
    const addr = parseAddress(address);
    if (addr.scheme !== "sem") throw ipcError("EADDRESS", "sem_open", address, `a POSIX semaphore address is sem:/name (got '${address}')`);
    const name = checkPosixName(addr);
    const cname = cstr(name);
    const err = new Int32Array(1);
    let sem: Pointer | null = null;
    let owner = false;
    if (opts.create) {
      sem = shim.ipcl_sem_open(cname, C.O_CREAT | C.O_EXCL, opts.mode ?? 0o600, checkValue(opts.value ?? 0, address), err);
      if (sem) owner = true;
      else if (err[0] !== C.EEXIST || opts.exclusive) throw errnoError(err[0]!, "sem_open", address);
    }
    if (!sem) {
      sem = retryUntil(opts.timeout ?? 0, () => shim.ipcl_sem_open(cname, 0, 0, 0, err) ?? (err[0] === C.ENOENT ? undefined : null)) ?? null;
      if (!sem) throw errnoError(err[0]!, "sem_open", address, err[0] === C.ENOENT ? notThere(`no semaphore ${name}`, opts.timeout ?? 0) : undefined);
    }
    this.address = address;
    this.owner = owner;
    this.#name = name;
    this.#sem = sem;
    if (owner) closeAtExit(this, this.address);
  }

  #handle(op: string): Pointer {
    if (!this.#sem || this.#held.releasing) throw ipcError("ECLOSED", op, this.address, `${op} on ${this.address} after close()`);
    return this.#sem;
  }

  /** Take one unit, waiting while the value is 0. false when `timeout` ms passed first. */
  wait(opts?: { timeout?: number }): boolean {
    const t = timeoutMs(opts, "sem_wait", this.address);
    const r = shim.ipcl_sem_wait(this.#handle("sem_wait"), t);
    if (r === 0) return true;
    if (r === -C.ETIMEDOUT || r === -C.EAGAIN) return false;
    throw errnoError(-r, "sem_wait", this.address);
  }

  /** Take one unit if the value is above 0; never blocks. */
  tryWait(): boolean {
    return this.wait({ timeout: 0 });
  }

  /** Add one unit, waking one waiter. */
  post(): void {
    const r = shim.ipcl_sem_post(this.#handle("sem_post"));
    if (r < 0) throw errnoError(-r, "sem_post", this.address, `the value is at SEM_VALUE_MAX (${SEM_VALUE_MAX})`);
  }

  /** The current value. */
  get value(): number {
    return checkNeg(shim.ipcl_sem_getvalue(this.#handle("sem_getvalue")), "sem_getvalue", this.address);
  }

  /**
   * Take one unit without blocking the event loop (a waiter thread waits in slices).
   * Resolves true, or false after `timeout` ms; rejects with ECLOSED if closed meanwhile.
   */
  async waitAsync(opts?: { timeout?: number }): Promise<boolean> {
    const t = timeoutMs(opts, "sem_wait", this.address);
    const deadline = deadlineIn(t, Infinity);
    for (;;) {
      if (this.tryWait()) return true;
      // look again on the JS thread before a waiter thread takes over (SecondLook): a unit
      // posted within µs costs no thread handoff
      if ((this.#look ??= new SecondLook()).look(() => this.tryWait())) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const r = await this.#slice(Math.min(left, ASYNC_SLICE_MS));
      if (r === 0) {
        if (this.#held.releasing) {
          this.#finishClose(true); // closed while we waited: give the unit back
          throw ipcError("ECLOSED", "sem_wait", this.address, `${this.address} was closed while waiting`);
        }
        return true;
      }
      if (this.#held.releasing) {
        this.#finishClose(false);
        throw ipcError("ECLOSED", "sem_wait", this.address, `${this.address} was closed while waiting`);
      }
      if (r !== -C.ETIMEDOUT) throw errnoError(-r, "sem_wait", this.address);
    }
  }

  #slice(ms: number): Promise<number> {
    const w: PendingWait = semWaitAsync(this.#handle("sem_wait"), ms);
    return this.#held.track(w.result, true); // waitAsync frees after giving back a unit it took (#finishClose)
  }

  #finishClose(returnUnit: boolean): void {
    if (!this.#held.idle || !this.#sem) return;
    if (returnUnit) shim.ipcl_sem_post(this.#sem);
    this.#held.release();
  }

  /** Close the handle (idempotent); the creator also unlinks the name. */
  close(): void {
    if (!this.#sem || this.#held.releasing) return;
    if (this.owner) {
      libc.sem_unlink(cstr(this.#name));
      forgetAtExit(this, this.address);
    }
    // a waiter thread may be inside sem_wait on this handle: close it only once that returns
    this.#held.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A System V semaphore (one in a set of one): `sysv-sem:KEY` or `sysv-sem:/path`.
 *
 * @example
 * ```ts
 * using s = new SysvSemaphore("sysv-sem:4242", { create: true, undo: true }); // a killed holder's units come back
 * ```
 */
export class SysvSemaphore implements Disposable {
  /** the address */
  readonly address: string;
  /** the semaphore set id */
  readonly id: number;
  /** true when this handle created it (and removes it on close) */
  readonly owner: boolean;
  readonly #undo: boolean;
  #closed = false;

  /**
   * Open or create. `undo` (default true) makes every wait/post SEM_UNDO: if this process
   * dies, the kernel reverses what it did, so units are never lost with a crashed holder.
   */
  constructor(address: string, opts: SemaphoreOptions & { undo?: boolean } = {}) {
    watchStopSignals();
    const addr = parseAddress(address);
    if (addr.scheme !== "sysv-sem") {
      throw ipcError("EADDRESS", "semget", address, `a System V semaphore address is sysv-sem:KEY or sysv-sem:/path (got '${address}')`);
    }
    const key = sysvKey(addr);
    const { fd: id, owner } = createOrOpen(
      opts,
      () => shim.ipcl_semget(key, 1, C.IPC_CREAT | C.IPC_EXCL | (opts.mode ?? 0o600)),
      () => shim.ipcl_semget(key, 1, 0),
      "semget",
      address,
      `no semaphore with key ${addr.name}`,
    );
    if (owner) checkNeg(shim.ipcl_sem_setval(id, 0, checkValue(opts.value ?? 0, address)), "semctl(SETVAL)", address);
    this.address = address;
    this.id = id;
    this.owner = owner;
    this.#undo = opts.undo ?? true;
    if (owner) closeAtExit(this, this.address);
  }

  #op(delta: number, timeout: number, op: string): boolean {
    if (this.#closed) throw ipcError("ECLOSED", op, this.address, `${op} on ${this.address} after close()`);
    const r = shim.ipcl_semop1(this.id, 0, delta, this.#undo ? 1 : 0, timeout);
    if (r === 0) return true;
    if (r === -C.EAGAIN || r === -C.ETIMEDOUT) return false;
    throw errnoError(-r, "semop", this.address, r === -C.EIDRM || r === -C.EINVAL ? "the semaphore was removed (its creator closed it)" : undefined);
  }

  /** Take n units (default 1), waiting; false after `timeout` ms. */
  wait(opts?: { timeout?: number; n?: number }): boolean {
    return this.#op(-(opts?.n ?? 1), timeoutMs(opts, "semop", this.address), "semop");
  }

  /** Take n units if available now. */
  tryWait(n = 1): boolean {
    return this.#op(-n, 0, "semop");
  }

  /** Add n units (default 1). */
  post(n = 1): void {
    this.#op(n, -1, "semop");
  }

  /** The current value. */
  get value(): number {
    return checkNeg(shim.ipcl_sem_getval(this.id, 0), "semctl(GETVAL)", this.address);
  }

  /** Close (idempotent); the creator removes the set (IPC_RMID). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.owner) {
      shim.ipcl_sem_remove(this.id);
      forgetAtExit(this, this.address);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The names of System V semaphores (`sysv-sem:`), for remove() and `gc`. */
export const sysvSem: NameKind = { scheme: "sysv-sem", describe: "sysv-sem:KEY or sysv-sem:/path — a System V semaphore", ...sysvNames("sem") };
