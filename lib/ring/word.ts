/**
 * One header word of a ring that a side sleeps on until its peer changes it, and the way
 * that sleep is done: a futex on the word itself (native memory, the default), a
 * process-shared semaphore beside it (the creator chose `wait: "semaphore"`), or
 * Atomics.wait on a SharedArrayBuffer (a Worker's ring). The peer wakes the same word.
 */
import { C } from "../../ffi/facts.ts";
import { type Pointer, ptrAdd, shim } from "../../ffi/runtime.ts";
import { futexWaitAsync, type PendingWait, semWaitAsync } from "../../ffi/waiter.ts";
import { keptAlive } from "../os/wait.ts";
import { isShared, RING_DIR, RING_HEADER, type RingMemory, type RingWait } from "./layout.ts";

/** Atomics.waitAsync where the runtime has it (not in every runtime's types). */
type WaitAsync = (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<string> | string };

export class RingWord {
  /** the word's index in the header, as Uint32Array/Int32Array index */
  readonly index: number;
  /** its native address (null in a SharedArrayBuffer) */
  readonly ptr: Pointer;
  readonly #sem: Pointer;
  readonly #semaphore: boolean;
  readonly #atomics: Int32Array | null;

  /** Word `index` of ring memory `m`; `sem` is the semaphore of direction `dir` that stands for it. */
  constructor(m: RingMemory, index: number, dir: 0 | 1, sem: "data_ready" | "space_ready", wait: RingWait) {
    this.index = index;
    this.#atomics = isShared(m) ? new Int32Array(m, 0, RING_HEADER.size / 4) : null;
    const at = (byte: number) => (isShared(m) ? (null as unknown as Pointer) : ptrAdd(m, byte));
    this.ptr = at(index * 4);
    this.#sem = at(RING_HEADER.dir + dir * RING_DIR.size + RING_DIR[sem]);
    this.#semaphore = wait === "semaphore";
  }

  /** A futex word a wait across many channels (select) can share: not a semaphore's, not Atomics'. */
  get sharable(): boolean {
    return !this.#atomics && !this.#semaphore;
  }

  /** Wake one side asleep on this word. */
  wake(): void {
    if (this.#atomics) Atomics.notify(this.#atomics, this.index, 1);
    else if (this.#semaphore) shim.ipcl_sem_post(this.#sem);
    else shim.ipcl_futex_wake(this.ptr, 1);
  }

  /** Wake everyone asleep on it (close()). */
  wakeAll(): void {
    if (this.#atomics) Atomics.notify(this.#atomics, this.index);
    else if (this.#semaphore) shim.ipcl_sem_post(this.#sem);
    else shim.ipcl_futex_wake(this.ptr, 1 << 30);
  }

  /** Sleep while it holds `value` (a semaphore: until posted), at most `ms`: 0, -ETIMEDOUT or -EINTR. */
  sleep(value: number, ms: number): number {
    if (this.#atomics) {
      // no signal ends Atomics.wait: a stop is looked for after each slice (the caller's ms, at most its peer check)
      const r = Atomics.wait(this.#atomics, this.index, value | 0, ms);
      if (shim.ipcl_stop_pending() !== 0) return -C.EINTR;
      return r === "timed-out" ? -C.ETIMEDOUT : 0;
    }
    return this.#semaphore ? shim.ipcl_sem_wait(this.#sem, ms) : shim.ipcl_futex_wait(this.ptr, value, ms);
  }

  /** The same off the JS thread. A semaphore wait cannot be woken early: its `ms` bounds how long close() defers the unmap. */
  sleepAsync(value: number, ms: number): PendingWait {
    if (this.#atomics) return this.#atomicsAsync(this.#atomics, value, ms);
    if (this.#semaphore) return semWaitAsync(this.#sem, ms);
    const ptr = this.ptr;
    return futexWaitAsync(ptr, value, ms, () => shim.ipcl_futex_wake(ptr, 1 << 30));
  }

  /** Atomics.waitAsync where the runtime has it; else a short timer (the caller looks again). */
  #atomicsAsync(w: Int32Array, value: number, ms: number): PendingWait {
    const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
    if (waitAsync) {
      const r = waitAsync(w, this.index, value | 0, ms);
      if (!r.async) return { result: Promise.resolve(0), cancel: () => {} };
      const result = keptAlive(r.value as Promise<string>, ms).then(() => 0);
      return { result, cancel: () => Atomics.notify(w, this.index) };
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = new Promise<number>((res) => (timer = setTimeout(() => res(0), Math.min(ms, 1))));
    return { result, cancel: () => clearTimeout(timer) };
  }
}
