/**
 * How long a stream warms up and how long its timed part runs, decided by the sender as it
 * goes — by time, not by a fixed count. A ring's 64 B stream on one CPU runs at 5–6 M msg/s
 * over the first 200 000 messages and at 20 M+ after two million (the runtimes' JIT tiers
 * and the adaptive spin settle), while C's runs at its speed from the first message: a fixed
 * window of 200 000 measured the warm-up. So the sender streams warm-up rounds of `round`
 * messages, each acknowledged, until 300 ms have passed, then a timed part of at least the
 * planned count and at least 100 ms at the last round's rate (at most 20 times the planned
 * count): BY_TIME. Rows that take longer than that per round (slow mechanisms, large
 * messages) keep their one round and their planned count, as before. A run with `--count`
 * or `--quick` keeps one round and the count (FIXED).
 *
 * The sender posts each batch — how many messages, warm-up or timed — in a shared page
 * before it sends the batch; the receiving peer (bench/peer.ts, bench/worker-peer.ts) reads
 * it there, since the stream itself cannot say it (a semaphore's messages are tokens).
 * bench/c/baseline.c does the same with the same three figures, passed on its command line.
 */
import { type Channel, SharedMemory } from "../lib/index.ts";

/** How a stream's warm-up and timed part are sized. */
export interface StreamTiming {
  /** the warm-up lasts at least this long (ms; 0: one round) */
  warmMs: number;
  /** the timed part lasts at least this long (ms) at the last warm-up round's rate... */
  timedMs: number;
  /** ...but grows to at most this many times the planned count (1: exactly it) */
  maxGrowth: number;
}

/** The full run's: 300 ms of warm-up, at least 100 ms timed, at most 20 × the planned count. */
export const BY_TIME: StreamTiming = { warmMs: 300, timedMs: 100, maxGrowth: 20 };
/** With `--count` or `--quick`: one warm-up round and exactly the planned count (a count asked for is kept). */
export const FIXED: StreamTiming = { warmMs: 0, timedMs: 0, maxGrowth: 1 };

/** One batch of a stream: its messages, and whether the clock runs over it. */
export interface Batch {
  count: number;
  timed: boolean;
}

/** The messages of the timed part: `planned`, or more where that would take under timedMs. */
export function timedCount(planned: number, perSecond: number, t: StreamTiming): number {
  return Math.min(planned * t.maxGrowth, Math.max(planned, Math.ceil((perSecond * t.timedMs) / 1000)));
}

const POSTED = 0, COUNT = 1, TIMED = 2;
let serial = 0;

/** The shared page of one stream: the sender posts batches, the peer takes them in order. */
export class StreamPlan implements Disposable {
  readonly #page: SharedMemory;
  readonly #words: Int32Array;
  readonly #pause = new Int32Array(new SharedArrayBuffer(4));

  private constructor(page: SharedMemory) {
    this.#page = page;
    this.#words = new Int32Array(page.buffer, 0, 3);
  }

  /** A new page (the sender's; it removes the name when disposed). */
  static create(): StreamPlan {
    return new StreamPlan(new SharedMemory(`shm:/ipcl-bench-plan-${process.pid}-${++serial}`, { create: true, size: 4096 }));
  }

  /** The sender's page, opened by the peer. */
  static open(address: string): StreamPlan {
    return new StreamPlan(new SharedMemory(address));
  }

  /** The address a peer opens. */
  get address(): string {
    return this.#page.address;
  }

  /** (sender) Post batch k (from 0), before sending its messages. */
  post(k: number, batch: Batch): void {
    Atomics.store(this.#words, COUNT, batch.count);
    Atomics.store(this.#words, TIMED, batch.timed ? 1 : 0);
    Atomics.store(this.#words, POSTED, k + 1);
  }

  /**
   * (peer) Batch k, once the sender has posted it: looks every 20 µs, sleeping between
   * looks — on one CPU the sender must run to post it. A sender silent for 30 s is gone.
   */
  next(k: number): Batch {
    for (const end = performance.now() + 30_000; Atomics.load(this.#words, POSTED) <= k;) {
      if (performance.now() > end) throw new Error(`the stream's sender posted no batch ${k} in 30 s (${this.address})`);
      Atomics.wait(this.#pause, 0, 0, 0.02);
    }
    return { count: Atomics.load(this.#words, COUNT), timed: Atomics.load(this.#words, TIMED) === 1 };
  }

  /** Let go of the page (the sender's removes the name). */
  [Symbol.dispose](): void {
    this.#page.close();
  }
}

/**
 * (peer) Take a planned stream: each warm-up round by `take`, acknowledged by `ack`; then the
 * timed part, with `started` called as its clock starts. The messages the timed part had.
 */
export async function followPlan(plan: StreamPlan, take: (n: number) => void | Promise<void>, ack: () => void, started: () => void): Promise<number> {
  for (let k = 0;; k++) {
    const batch = plan.next(k);
    if (batch.timed) started();
    await take(batch.count);
    ack();
    if (batch.timed) return batch.count;
  }
}

/**
 * (peer) How a sink takes `count` messages from rx into buf: recvInto one by one ("sink"),
 * tryRecvManyInto 64 at a time, waiting for one when none is there ("sink-batch"), or
 * recvAsync ("sink-async").
 */
export function sinkTake(mode: string, rx: Channel, buf: Uint8Array): (count: number) => void | Promise<void> {
  if (mode === "sink") {
    return (count) => {
      for (let i = 0; i < count; i++) rx.recvInto(buf);
    };
  }
  if (mode === "sink-batch") {
    const lengths = new Uint32Array(64);
    return (count) => {
      for (let i = 0; i < count;) {
        const got = rx.tryRecvManyInto(buf, lengths);
        i += got > 0 ? got : rx.recvInto(buf) >= 0 ? 1 : 0; // nothing there: wait for one as sink does
      }
    };
  }
  if (mode === "sink-async") {
    return async (count) => {
      for (let i = 0; i < count; i++) await rx.recvAsync();
    };
  }
  throw new Error(`unknown mode ${mode}`);
}
