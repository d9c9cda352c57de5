/**
 * Waiting for what the kernel gives no descriptor or futex for: sync waits on the JS
 * thread (which block like C would) with a growing back-off, and the async form, a timer
 * with a doubling back-off so the event loop stays free.
 */
import { C } from "../../ffi/facts.ts";
import { nanoseconds, sleepSync } from "../../ffi/process.ts";
import { libc, shim } from "../../ffi/runtime.ts";
import { throwIfStopped } from "../os/stop.ts";
import { errnoError } from "../errors.ts";
import type { PendingWait } from "../../ffi/waiter.ts";

/** How a named object was got: its descriptor or id, and whether we created it (and so own its name). */
export interface Got {
  fd: number;
  owner: boolean;
}

/**
 * "Create exclusively, else open" for objects whose open is a plain call (queues, files,
 * System V semaphores; rings and FIFOs attach their own way). With
 * `create`: `create()` (a descriptor or id, or -errno); EEXIST falls through to opening
 * unless `exclusive`, any other error throws. Not created: `open()`, retried while the
 * object does not exist yet for up to `timeout` ms (openWhenPresent). Both calls return
 * -errno, so no errno is read here.
 */
export function createOrOpen(
  opts: { create?: boolean; exclusive?: boolean; timeout?: number },
  create: () => number,
  open: () => number,
  syscall: string,
  address: string,
  missing: string,
  hint?: (errno: number) => string | undefined,
): Got {
  if (opts.create) {
    const fd = create();
    if (fd >= 0) return { fd, owner: true };
    if (fd !== -C.EEXIST || opts.exclusive) throw errnoError(-fd, syscall, address, hint?.(-fd));
  }
  return { fd: openWhenPresent(opts.timeout ?? 0, open, syscall, address, missing, hint), owner: false };
}

/**
 * Retry `attempt` until it returns a value other than undefined or `timeout` ms pass
 * (-1: forever), sleeping with a growing back-off (1 ms up to 50 ms). Returns undefined
 * on timeout. Used for "wait for the object / the peer to appear".
 */
export function retryUntil<T>(timeout: number, attempt: () => T | undefined, syscall = "open", address?: string): T | undefined {
  const deadline = deadlineIn(timeout, Infinity);
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
function openWhenPresent(
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

/**
 * How long an async wait may spin on the JS thread before it parks off-thread (in ns, or
 * in sched_yield() calls: the caller's unit). Warm (a
 * recent look found its message): `warmNs` every time. After 8 looks in a row that found
 * nothing the channel is cold: `coldNs` (next to nothing), except every 16th wait, which
 * probes with `probeNs` — longer than a parked peer takes to wake and answer, so two
 * async sides that both went cold find each other again once traffic resumes. One miss
 * in a busy conversation does not make it cold.
 */
export class SpinPolicy {
  #misses = 0;
  #coldWaits = 0;
  constructor(readonly warmNs: number, readonly coldNs: number, readonly probeNs: number) {}

  /** How long to spin for the wait about to start. */
  budget(): number {
    if (this.#misses < 8) return this.warmNs;
    return ++this.#coldWaits % 16 === 0 ? this.probeNs : this.coldNs;
  }

  /**
   * Whether the last spin that paid had yielded first: the peer then most likely shares our
   * CPU (the scheduler put it there), so the next spin yields from its first look.
   */
  yieldFirst = false;

  /** The spin found its message (`afterYield`: only once it had yielded the CPU). */
  hit(afterYield = false): void {
    this.#misses = 0;
    this.yieldFirst = afterYield;
  }

  /** The spin ran out. */
  miss(): void {
    this.#misses++;
  }
}

/**
 * Read a shared word without Atomics.load: for a flag whose lateness is harmless, looked at
 * once per operation (a send asking whether the ring was closed). JavaScriptCore compiles
 * Atomics.load to a locked `xadd 0`, a full fence: on one CPU it cost a quarter of Bun's
 * ring send, ~4 ns a message (perf); V8 reads with a plain move either way.
 * Never in a loop that waits for the word to change: the compiler may read it once for the
 * whole loop. A spin of such looks on a ring's head, whose only call (a yield) had never run,
 * saw no change until it gave up: a round trip across CPUs went from 1.3 to 7.2 µs.
 */
export function relaxedLoad(w: Uint32Array | Int32Array, index: number): number {
  return w[index]!;
}

/**
 * The second look of an async receive on shared memory (rings, topics): true once
 * `w[index]` differs from `value`. Across CPUs, spin for `spin`'s budget in time; when the
 * other side may only share our CPU (`sharedCpu`), call sched_yield() `yields`' budget of
 * times instead — that runs a peer our send just woke, where spinning would keep it off.
 */
export function lookAgain(w: Uint32Array, index: number, value: number, sharedCpu: boolean, spin: SpinPolicy, yields: SpinPolicy, mayYield = true): boolean {
  if (sharedCpu) {
    const n = yields.budget();
    for (let i = 0; i < n; i++) {
      // one CPU: a slow yield says a busy neighbour shares it, and parking beats another slice lost
      const brief = yieldBriefly();
      if (Atomics.load(w, index) !== value) {
        yields.hit();
        return true;
      }
      if (!brief) break;
    }
    yields.miss();
    return false;
  }
  const start = nanoseconds();
  const end = start + spin.budget();
  let yieldAfter = !mayYield ? Infinity : spin.yieldFirst ? 0 : YIELD_AFTER_NS;
  let now = start;
  let yielded = false;
  do {
    for (let i = 0; i < 16; i++) {
      if (Atomics.load(w, index) !== value) {
        spin.hit(yielded);
        return true;
      }
    }
    now = nanoseconds();
    // past the first µs, yield now and then: when the scheduler has put the peer on our
    // CPU (unpinned, it often does), this lets it run instead of spinning it off
    if (now - start >= yieldAfter) {
      yielded = yieldBriefly();
      if (!yielded) yieldAfter = Infinity; // a neighbour took it: spin on, yield no more
    }
  } while (now < end);
  spin.miss();
  return false;
}

/** How long a spin polls before it starts yielding the CPU between looks (ns). */
const YIELD_AFTER_NS = 1_000;
/** A yield that kept the CPU away longer than this went to a busy neighbour, not to our peer (ns). */
const YIELD_LOST_NS = 50_000;

/**
 * sched_yield(); false when it kept the CPU away for longer than YIELD_LOST_NS. A peer the
 * scheduler put on our CPU runs for a µs or so and gives the CPU back; a CPU-bound
 * neighbour keeps it for its whole time slice (ms). A spin whose yield came back that late
 * yields no more (the peer runs on another CPU: spinning, then sleeping, finds it), or
 * every further yield of that wait would lose another slice: beside one busy loop (and the
 * benchmark's own CPU-bound neighbour) a ring benchmark of 4 × 50,300 round trips took
 * 105–142 s, 2.6–11 s once a spin stopped yielding there (two busy loops: 89 to over 300 s,
 * now 40–49 s). Only that wait: a process-wide "no yields for a while" made later
 * spins keep a peer on our CPU off it (async p99 250–450 µs where this has 15–30, back to
 * back), and ending the spin to sleep at once cost ~4 ms a round trip beside a busy loop
 * (the scheduler does not favour a woken ring end that has been spinning over it).
 */
export function yieldBriefly(): boolean {
  const t = nanoseconds();
  libc.sched_yield();
  return nanoseconds() - t < YIELD_LOST_NS;
}

/**
 * The second look of an async receive, for mechanisms whose readiness is a syscall
 * (poll on a descriptor, a queue's message count): before the wait goes off-thread (a
 * thread handoff each way), look again for a while on the JS thread. Across CPUs it
 * polls; when this process may run on one CPU only it calls sched_yield() between looks,
 * which runs a peer that our send just woke, as a sync wait's sleep would. How long:
 * SpinPolicy, warm 50 µs (a descriptor round trip across CPUs is tens of µs here), cold
 * 1 µs, probing 200 µs; a timer is never held up longer than that.
 */
export class SecondLook {
  readonly #policy = new SpinPolicy(50_000, 1_000, 200_000);

  /** Look with `ready` until it says true or the time allowed runs out. */
  look(ready: () => boolean): boolean {
    const oneCpu = shim.ipcl_cpus_allowed() === 1;
    const end = nanoseconds() + this.#policy.budget();
    do {
      if (oneCpu) libc.sched_yield();
      if (ready()) {
        this.#policy.hit();
        return true;
      }
    } while (nanoseconds() < end);
    this.#policy.miss();
    return false;
  }
}

/**
 * The performance.now() time `ms` from now: the one way every wait turns a timeout into a
 * deadline. No limit (`ms` undefined or negative) is `none`: -1 for waits that use
 * remaining(), Infinity for those that subtract the clock themselves.
 */
export function deadlineIn(ms: number | undefined, none = -1): number {
  return ms === undefined || ms < 0 ? none : performance.now() + ms;
}

/** Milliseconds left before `deadline` (performance.now() based); -1 (no deadline) stays -1. */
export function remaining(deadline: number): number {
  return deadline < 0 ? -1 : Math.max(0, deadline - performance.now());
}

/** How long async calls that complete at once may keep the event loop from its next turn, in ms. */
const TURN_MS = 0.25;
let turnAt = 0;

/**
 * An async receive or send that finds its message at once (or within its spin) resolves
 * without the event loop turning: a conversation that never waits would starve timers
 * and I/O. Call before resolving: undefined, or — once TURN_MS has passed since the last
 * such turn — a promise that resolves on the next turn (setImmediate). Nothing is kept
 * scheduled in between: Bun runs timers only once its queue of immediates is empty, so an
 * immediate left pending to notice "the loop has turned" held timers back by 2–5 ms.
 */
export function loopTurn(): Promise<void> | undefined {
  const now = performance.now();
  if (now - turnAt < TURN_MS) return undefined;
  turnAt = now;
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Native memory (a mapping, a semaphore handle) that an off-thread wait may still be
 * using: it must outlive every pending wait, however close() and the waits interleave.
 * track() counts a wait until it settles; release() runs `free` once: when asked and no
 * wait is pending, or else as the last pending wait settles.
 */
export class HeldDuringWaits {
  #pending = 0;
  #wanted = false;
  #freed = false;
  constructor(private readonly free: () => void) {}

  /** Whether release() has been asked for. */
  get releasing(): boolean {
    return this.#wanted;
  }

  /** Whether no tracked wait is pending. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /**
   * Count `wait` as pending until it settles. `deferFree`: the settling does not free the
   * memory itself — the caller still has work on it (the Semaphore gives a unit back) and
   * calls release() after.
   */
  track<T>(wait: Promise<T>, deferFree = false): Promise<T> {
    this.#pending++;
    return wait.finally(() => {
      this.#pending--;
      if (!deferFree) this.#maybeFree();
    });
  }

  /** Free now if no wait is pending, else once the last one settles. Idempotent. */
  release(): void {
    this.#wanted = true;
    this.#maybeFree();
  }

  #maybeFree(): void {
    if (this.#wanted && this.#pending === 0 && !this.#freed) {
      this.#freed = true;
      this.free();
    }
  }
}

/** How much longer than an Atomics.waitAsync's timeout keptAlive's timer runs (it is cleared once the wait settles). */
const KEEP_ALIVE_MARGIN_MS = 1000;

/**
 * `wait` (an Atomics.waitAsync promise with a timeout of `ms`), keeping the event loop alive
 * until it settles: a pending waitAsync alone does not, on Bun or Node (a Worker whose only
 * work is this wait would go idle and never see the notify; Node would exit with 13, a
 * top-level await unsettled). The timer outlives the wait's own timeout, which may fire
 * after a timer of the same length.
 */
export function keptAlive<T>(wait: Promise<T>, ms: number): Promise<T> {
  const timer = setTimeout(() => {}, ms + KEEP_ALIVE_MARGIN_MS);
  return wait.finally(() => clearTimeout(timer));
}

/** One side's sleep on a word of shared memory that its peer changes (and wakes it for). */
export interface AnnouncedWait<T> {
  /** say that this side sleeps, so the peer wakes it when it changes the word */
  announce(): void;
  /** the word's value now: read after announcing, before looking again */
  watched(): number;
  /** look again: the thing waited for, or undefined */
  attempt(): T | undefined;
  /** last thing before sleeping (a closed peer's EOF) */
  beforeSleep?(): void;
  /** sleep until the word leaves `value` or `ms` pass: 0, -ETIMEDOUT or -EINTR */
  sleep(value: number, ms: number): number;
  /** take the announcement back */
  withdraw(): void;
  /** after each sleep: -ETIMEDOUT is the moment to look whether the peer still lives */
  afterSleep?(r: number): void;
}

/**
 * The one way a side of shared memory waits for its peer: announce, look again (what the
 * peer did before the announcement brought no wake), sleep on the watched word at most
 * `slice` ms, withdraw; until `attempt` gives something (returned) or `deadline`
 * (performance.now() based, Infinity for none) passes (undefined). A stop signal ends the
 * sleep: IpcError EINTR for `op` on `address`.
 */
export function waitAnnounced<T>(w: AnnouncedWait<T>, deadline: number, slice: number, op: string, address: string): T | undefined {
  for (;;) {
    w.announce();
    const value = w.watched();
    const got = w.attempt();
    const left = deadline - performance.now();
    if (got !== undefined || left <= 0) {
      w.withdraw();
      return got;
    }
    w.beforeSleep?.();
    const r = w.sleep(value, Math.min(left, slice));
    w.withdraw();
    if (r === -C.EINTR) throw errnoError(C.EINTR, op, address);
    w.afterSleep?.(r);
  }
}

/**
 * Whether spinning can pay while waiting for process `pid`: not when both may run only on
 * the same single CPU (the spinner keeps its peer off it). Decided once per peer, and again
 * every 1024 asks (a process may pin itself after opening) or after refresh().
 */
export class PeerSpin {
  readonly #selfPays: boolean;
  readonly #known = new Map<number, boolean>();
  #peer = 0;
  #asks = 0;
  #pays: boolean | undefined;

  /** `selfPays`: waiting for our own process (another thread of it) always may spin */
  constructor(selfPays = false) {
    this.#selfPays = selfPays;
  }

  /** For peer `pid` (0 or less: not known yet): whether to spin; undefined until a peer was ever known. */
  pays(pid: number): boolean | undefined {
    if ((++this.#asks & 1023) === 0) this.refresh();
    if (pid > 0 && pid !== this.#peer) {
      this.#peer = pid;
      let ok = this.#known.get(pid);
      if (ok === undefined) this.#known.set(pid, ok = (this.#selfPays && pid === process.pid) || shim.ipcl_shares_single_cpu(pid) !== 1);
      this.#pays = ok;
    }
    return this.#pays;
  }

  /** Look at both CPU masks again at the next ask. */
  refresh(): void {
    this.#peer = 0;
    this.#known.clear();
    this.#yields = undefined;
  }

  /**
   * Whether a spin should yield the CPU now and then: only when this process may run on
   * more than one CPU, so that the scheduler can have put the peer on ours. Pinned to one CPU
   * (the peer then runs elsewhere, or spinning is off), a yield cannot help the peer and
   * hands the CPU to any busy neighbour for its whole slice (a pinned ring beside a CPU-bound
   * process slowed to milliseconds a round trip). Re-read with the masks (refresh).
   */
  get yields(): boolean {
    return (this.#yields ??= shim.ipcl_cpus_allowed() !== 1);
  }
  #yields: boolean | undefined;
}
