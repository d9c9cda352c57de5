/**
 * A latest-value board: `board:/name`. One value, replaced by write() — which never waits
 * for readers — and read() whole by any number of processes, never torn however fast the
 * writers go. For sensor readings, configuration, progress.
 *
 * How (docs/wire-formats.md has the bytes): two slots, each guarded by its own sequence
 * word (a seqlock). A writer takes the writer word (its pid; a dead writer's is taken
 * over), fills the slot that is not current — its sequence odd while it writes, even
 * after — then makes it current and bumps the board's version. A reader copies the
 * current slot and keeps the copy only if that slot's sequence was even and unchanged
 * across the copy; otherwise a writer lapped it and it copies again. A writer killed
 * mid-write leaves only the slot that was not current half-written: readers never see it.
 */
import { C } from "../../ffi/facts.ts";
import { libc, nativeView, ptrAdd, shim } from "../../ffi/runtime.ts";
import { futexWaitAsync } from "../../ffi/waiter.ts";
import { timeoutMs } from "../channel.ts";
import { errnoError, ipcError } from "../errors.ts";
import { processAlive } from "../names/peer-watch.ts";
import { racePoints } from "../os/race-points.ts";
import { deadlineIn, remaining } from "../os/wait.ts";
import type { NameKind } from "../mechanism.ts";
import { regionNames } from "../names/kinds.ts";
import { type RegionOptions, SharedRegion } from "./region.ts";

/** "BORD" little-endian. */
const BOARD_MAGIC = 0x44524f42;
/** The control line's words: the current slot, the version, the writing process, sleeping readers, capacity. */
const CURRENT = 0, VERSION = 1, WRITER = 2, WAITERS = 3, CAPACITY = 4;
/** A slot's header words: its sequence (odd while written), its value's length and version. */
const SEQ = 0, LENGTH = 1, SLOT_VERSION = 2;
const LINE = 64;
/** Async waits sleep in slices this long (close() never waits longer for a waiter thread). */
const ASYNC_SLICE_MS = 100;
const encoder = new TextEncoder();

/** Options for a board. */
export interface BoardOptions extends RegionOptions {
  /** creating: the largest value in bytes */
  size?: number;
}

/** A value read from a board: its version (1 for the first write) and bytes. */
export interface BoardValue {
  version: number;
  data: Uint8Array;
}

interface Slot {
  words: Int32Array;
  data: Uint8Array;
}

/** Bytes of the body for values of up to `size` bytes: a control line, then two slots. */
const bodySize = (size: number) => LINE + 2 * (LINE + roundUp(size));
const roundUp = (n: number) => Math.ceil(n / LINE) * LINE;

/**
 * A latest-value board in shared memory.
 *
 * @example
 * ```ts
 * using board = new Board("board:/status", { create: true, size: 64 });
 * board.write("ready"); // readers elsewhere: new Board("board:/status").read()
 * ```
 */
export class Board implements Disposable {
  /** "board:/name" */
  readonly address: string;
  /** true when this handle created it (and removes the name on close) */
  readonly owner: boolean;
  /** the largest value it holds, in bytes */
  readonly size: number;
  readonly #region: SharedRegion;
  readonly #ctl: Int32Array;
  readonly #slots: [Slot, Slot];
  #closed = false;

  /** Open or create `board:/name` (creating needs `size`, the largest value in bytes). */
  constructor(address: string, opts: BoardOptions = {}) {
    const size = opts.size;
    if (opts.create && (!Number.isInteger(size) || size! < 1 || size! > 1 << 30)) {
      throw ipcError("EINVAL", "open", address, `creating a board needs size: the largest value in bytes, from 1 to 2^30 (got ${size})`);
    }
    this.#region = new SharedRegion(
      { scheme: "board", magic: BOARD_MAGIC, version: 1, noun: "a board" },
      address,
      opts,
      opts.create ? bodySize(size!) : undefined,
      (body) => {
        new Int32Array(nativeView(body, 0, LINE))[CAPACITY] = size!; // the rest is zero: no value yet
      },
    );
    this.address = address;
    this.owner = this.#region.owner;
    this.#ctl = new Int32Array(this.#region.view(0, LINE));
    this.size = this.#ctl[CAPACITY]!;
    if (bodySize(this.size) > this.#region.bodySize) {
      this.#region.close();
      throw ipcError("EPROTO", "open", address, `${address} says it holds ${this.size}-byte values but is smaller than that`);
    }
    const slot = (i: number): Slot => {
      const at = LINE + i * (LINE + roundUp(this.size));
      return { words: new Int32Array(this.#region.view(at, LINE)), data: new Uint8Array(this.#region.view(at + LINE, this.size)) };
    };
    this.#slots = [slot(0), slot(1)];
  }

  #assertOpen(op: string): void {
    if (this.#closed) throw ipcError("ECLOSED", op, this.address, `${op} on ${this.address} after close()`);
  }

  /** The version of the current value: 0 before the first write. */
  get version(): number {
    this.#assertOpen("version");
    return Atomics.load(this.#ctl, VERSION) >>> 0;
  }

  /**
   * Replace the value; returns its version. Never waits for readers; another process
   * writing at the same moment is waited for (a few µs), one that died writing is taken
   * over.
   */
  write(value: Uint8Array | string): number {
    this.#assertOpen("write");
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    if (!(bytes instanceof Uint8Array)) throw ipcError("EINVAL", "write", this.address, `a value is a Uint8Array or a string (got ${typeof value})`);
    if (bytes.byteLength > this.size) {
      throw ipcError(
        "EMSGSIZE",
        "write",
        this.address,
        `a value of ${bytes.byteLength} bytes exceeds this board's size of ${this.size} bytes; create it with a larger size`,
      );
    }
    this.#takeWriter();
    let version: number;
    try {
      const next = 1 - Atomics.load(this.#ctl, CURRENT);
      const slot = this.#slots[next]!;
      const odd = Atomics.load(slot.words, SEQ) | 1; // odd while written (already odd if a writer died here)
      Atomics.store(slot.words, SEQ, odd);
      slot.words[LENGTH] = bytes.byteLength;
      slot.data.set(bytes);
      version = ((Atomics.load(this.#ctl, VERSION) + 1) >>> 0) || 1; // 0 means "no value"
      slot.words[SLOT_VERSION] = version;
      Atomics.store(slot.words, SEQ, (odd + 1) | 0);
      Atomics.store(this.#ctl, CURRENT, next);
      Atomics.store(this.#ctl, VERSION, version);
    } finally {
      Atomics.store(this.#ctl, WRITER, 0);
    }
    if (Atomics.load(this.#ctl, WAITERS) > 0) shim.ipcl_futex_wake(this.#versionWord(), 1 << 30);
    return version;
  }

  /** Take the writer word: free, or held by a process that has died. */
  #takeWriter(): void {
    for (let i = 0;; i++) {
      const holder = Atomics.compareExchange(this.#ctl, WRITER, 0, process.pid);
      if (holder === 0) return;
      if (i % 256 === 255 && !processAlive(holder) && Atomics.compareExchange(this.#ctl, WRITER, holder, process.pid) === holder) return;
      if (i > 64) libc.sched_yield(); // another writer is mid-copy: let it finish
    }
  }

  /** The current value (a copy), or undefined before the first write. Never torn. */
  read(): BoardValue | undefined {
    this.#assertOpen("read");
    for (let tries = 0;; tries++) {
      if (Atomics.load(this.#ctl, VERSION) === 0) return undefined;
      const slot = this.#slots[Atomics.load(this.#ctl, CURRENT) & 1]!;
      const seq = Atomics.load(slot.words, SEQ);
      const length = slot.words[LENGTH]!;
      const version = slot.words[SLOT_VERSION]! >>> 0;
      if ((seq & 1) === 0 && length <= this.size) {
        racePoints.boardRead?.();
        const data = slot.data.slice(0, length);
        if (Atomics.load(slot.words, SEQ) === seq) return { version, data };
      }
      if (tries > 64) libc.sched_yield(); // lapped again and again: let the writer run
    }
  }

  #versionWord() {
    return ptrAdd(this.#region.body, VERSION * 4);
  }

  /** The version to wait past: `after`, or the current one. */
  #after(opts: { after?: number } | undefined): number {
    const a = opts?.after ?? this.version;
    if (!Number.isInteger(a) || a < 0 || a > 0xffffffff) throw ipcError("EINVAL", "wait", this.address, `after must be a version from 0 to 2^32-1 (got ${a})`);
    return a;
  }

  /**
   * Wait until the version differs from `after` (default: the current one, i.e. the next
   * write); returns the new version. ETIMEDOUT after `timeout` ms; Ctrl-C ends the wait.
   */
  wait(opts?: { after?: number; timeout?: number }): number {
    this.#assertOpen("wait");
    const t = timeoutMs(opts, "wait", this.address);
    const after = this.#after(opts);
    const deadline = deadlineIn(t);
    for (;;) {
      const v = this.version;
      if (v !== after) return v;
      const left = remaining(deadline);
      if (left === 0) throw ipcError("ETIMEDOUT", "wait", this.address, `no write to ${this.address} within ${t} ms`);
      Atomics.add(this.#ctl, WAITERS, 1);
      const r = shim.ipcl_futex_wait(this.#versionWord(), v, left);
      Atomics.sub(this.#ctl, WAITERS, 1);
      if (r === -C.EINTR) throw errnoError(C.EINTR, "wait", this.address);
    }
  }

  /** wait() without blocking the event loop. */
  async waitAsync(opts?: { after?: number; timeout?: number }): Promise<number> {
    this.#assertOpen("waitAsync");
    const t = timeoutMs(opts, "waitAsync", this.address);
    const after = this.#after(opts);
    const deadline = deadlineIn(t);
    for (;;) {
      const v = this.version;
      if (v !== after) return v;
      const left = remaining(deadline);
      if (left === 0) throw ipcError("ETIMEDOUT", "waitAsync", this.address, `no write to ${this.address} within ${t} ms`);
      Atomics.add(this.#ctl, WAITERS, 1);
      const word = this.#versionWord();
      const wait = futexWaitAsync(word, v, left < 0 ? ASYNC_SLICE_MS : Math.min(left, ASYNC_SLICE_MS), () => shim.ipcl_futex_wake(word, 1 << 30));
      await this.#region.track(wait.result.then(() => Atomics.sub(this.#ctl, WAITERS, 1)));
      this.#assertOpen("waitAsync");
    }
  }

  /** Unmap; the creator removes the name. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#region.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** How `board:` names are seen and removed (remove(), `ipc-lab gc`, the leak checks). */
export const boardNames: NameKind = { scheme: "board", describe: "board:/name — a latest-value board (/dev/shm/board.name)", ...regionNames };
