/**
 * The two measurements: round trips (one sample per message, nanosecond clock) and a
 * one-way stream (messages per second from the peer's "ready" to its final ack), for
 * ipc-lab channels, sync or async, with both sides placed on CPUs.
 */
import { nanoseconds } from "../ffi/process.ts";
import type { Channel } from "../lib/index.ts";
import { counterValue } from "../lib/public/mechanisms.ts";
import { type BenchCase, fastRing } from "./cases.ts";
import { type LatencySummary, summarize } from "./stats.ts";
import { StreamPlan, type StreamTiming, timedCount } from "./stream-plan.ts";
import { cpusFor, perMessage, pinProcess, pinThread, type Placement, usage } from "./usage.ts";

/**
 * Pin our side: the whole process, or only this thread when the peer is a thread of ours.
 * Unpinning (cpu < 0) frees every thread of the process: threads started while this one was
 * pinned — an async wait's waiter thread — took its CPU and kept it, into the rows measured
 * later in the same process, "unpinned" ones included.
 */
export function pinUs(c: Pick<BenchCase, "inProcess">, cpu: number): void {
  if (cpu < 0) pinProcess(-1);
  else if (c.inProcess) pinThread(cpu);
  else pinProcess(cpu);
}

/**
 * How the two sides wait: sync (both block), async (we await recvAsync, the peer blocks),
 * async-both (both await: recvAsync and sendAsync on each side, as two servers would);
 * batch (streams only: sendMany of BATCH messages, the peer takes them with recvMany);
 * loan (round trips on rings: each side loans the room for its message and commits it,
 * and reads the other's in place with recvView — zero-copy, no payload written).
 */
export type Mode = "sync" | "async" | "async-both" | "batch" | "loan";
/** Lock rows (bench/locks.ts): one process alone, or another taking the same lock meanwhile. */
export type LockMode = "uncontended" | "contended";
/** How many clients ask at once, in request/response rows. */
export type ClientsMode = "1 client" | `${number} clients`;

/** A stream's figures: `count` messages of `size` bytes in `seconds`. */
export function throughput(count: number, size: number, seconds: number): Pick<Row, "size" | "count" | "msgs_per_s" | "bytes_per_s"> {
  return { size, count, msgs_per_s: count / seconds, bytes_per_s: (count * size) / seconds };
}

/** One row of results (the JSON schema in bench/README.md). */
export interface Row extends Partial<LatencySummary> {
  impl: string;
  mechanism: string;
  /** rtt and stream: messages; lock: lock+unlock pairs (bench/locks.ts); request and values: requests (bench/conversations.ts); inproc: send + receive in one process (bench/inproc.ts) */
  pattern: "rtt" | "stream" | "lock" | "request" | "values" | "inproc";
  mode: Mode | LockMode | ClientsMode;
  placement: Placement;
  size: number;
  count: number;
  msgs_per_s?: number;
  bytes_per_s?: number;
  cpu_ns_per_msg?: { parent: number; peer?: number };
  ctx_switches_per_msg?: { parent: number; peer?: number };
  /**
   * this row's figure over the C baseline's (same mechanism family, pattern, size,
   * placement): > 1 is slower. With interleaved repetitions: the median of the pairs' ratios.
   */
  ratio_to_c?: number;
  /** with interleaved repetitions: the smallest and largest of the pairs' ratios */
  ratio_spread?: [number, number];
  /** with interleaved repetitions: how many ipc-lab/C pairs were measured */
  ratio_reps?: number;
  /** with interleaved repetitions: the median p50 of the C runs paired with this row */
  c_pair_p50_ns?: number;
  /** with interleaved repetitions of a stream: the median rate of the C runs paired with this row, msg/s */
  c_pair_msgs_per_s?: number;
  /**
   * with repetitions interleaved with another row of the run (the work queue with POSIX mq):
   * the pairs' ratios, this row's rate over the other's — their median, extremes and count
   */
  pair_ratio?: { median: number; min: number; max: number; reps: number };
  /** async rows: how late a 1 ms interval timer fired while we awaited (p99 and worst), ns */
  timer_late_p99_ns?: number;
  timer_late_max_ns?: number;
  /** how many ticks those figures come from */
  timer_ticks?: number;
  /**
   * the warm-up round trips before the timed ones (a fresh peer process, so its JIT starts
   * cold): the first one, the median of the first 10 and of the first 100, and after how
   * many round trips a run of 20 first had a median within 1.25× of the timed p50
   * (`settled_after` = the warm-up's length when it never did)
   */
  warmup?: { first_ns: number; first10_p50_ns: number; first100_p50_ns: number; settled_after: number };
  /** why a combination was not measured */
  skipped?: string;
  /** the combination cannot exist (a size above the mechanism's maximum): no target applies */
  inapplicable?: boolean;
}

/** Messages per sendMany/recvMany in batch streams. */
const BATCH = 64;

/*
 * The synchronous hot loops live in plain functions: in an async function (after an await)
 * Bun's JIT ran the same loop slower — a 64 B ring stream on one CPU 11–13 M msg/s inside
 * stream(), 16–18 M from here, the sending side 40–50 ns a message against 30.
 */

/** Send msg n times. */
function sendN(tx: Channel, msg: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) tx.send(msg);
}

/** n messages by sendMany, BATCH at a time (the last batch takes what is left). */
function sendBatches(tx: Channel, msg: Uint8Array, n: number): void {
  const batch = Array<Uint8Array>(BATCH).fill(msg);
  for (let i = 0; i < n; i += BATCH) tx.sendMany(i + BATCH <= n ? batch : batch.slice(0, n - i));
}

/** Time each of samples.length calls of once, into samples (ns). */
function timeEach(once: () => unknown, samples: Float64Array): void {
  for (let i = 0; i < samples.length; i++) {
    const t0 = nanoseconds();
    once();
    samples[i] = nanoseconds() - t0;
  }
}

/**
 * samples.length round trips by recvAsync, each timed: sent by send(), or by sendAsync() when
 * both ends are async. The loop is written out, not a closure per call, so that the row pays
 * for no promise the library does not make.
 */
async function asyncRoundTrips(pair: { tx: Channel; rx: Channel }, msg: Uint8Array, bothAsync: boolean, samples: Float64Array): Promise<void> {
  for (let i = 0; i < samples.length; i++) {
    const t0 = nanoseconds();
    if (bothAsync) await pair.tx.sendAsync(msg);
    else pair.tx.send(msg);
    await pair.rx.recvAsync();
    samples[i] = nanoseconds() - t0;
  }
}

/** The message a case sends: zeros of `size`, or a value of 1 for eventfd counters. */
function payload(c: BenchCase, size: number): Uint8Array {
  return c.name === "eventfd" ? counterValue(1) : new Uint8Array(size);
}

/**
 * A 1 ms interval timer that records how late each tick fires: whether async waits leave
 * the event loop free (a wait that blocked it would show as lateness). stop() summarises.
 */
function lateness(): { stop(): { timer_late_p99_ns?: number; timer_late_max_ns?: number; timer_ticks?: number } } {
  const late: number[] = [];
  let due = nanoseconds() + 1e6;
  const timer = setInterval(() => {
    const now = nanoseconds();
    late.push(Math.max(0, now - due));
    due = now + 1e6;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      if (late.length === 0) return {};
      late.sort((a, b) => a - b);
      return {
        timer_late_p99_ns: late[Math.min(late.length - 1, Math.floor(late.length * 0.99))],
        timer_late_max_ns: late[late.length - 1],
        timer_ticks: late.length,
      };
    },
  };
}

/** The same timer's lateness with the event loop idle for `ms`: what the runtime itself adds (p99, ns). */
export async function idleTimerLateness(ms = 300): Promise<number | undefined> {
  const timer = lateness();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return timer.stop().timer_late_p99_ns;
}

/**
 * The same timer's lateness while the loop is busy but gives the event loop a turn
 * (setImmediate) every 250 µs, as async calls that complete at once do (loopTurn): the
 * runtime's own jitter under load, with no IPC at all (p99, ns). Both runtimes fire a
 * 1 ms timer up to several ms late now and then in this state, which an idle loop never
 * shows: this is the fair baseline for the async rows.
 */
export async function busyTimerLateness(ms = 300): Promise<number | undefined> {
  const timer = lateness();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const start = performance.now();
    while (performance.now() - start < 0.25); // busy, as a conversation is
    await new Promise((resolve) => setImmediate(resolve));
  }
  return timer.stop().timer_late_p99_ns;
}

/** The warm-up's shape (Row.warmup), against the steady p50 measured after it. */
function warmupOf(warm: Float64Array, steadyP50: number): Row["warmup"] {
  if (warm.length < 100) return undefined;
  const med = (xs: Float64Array) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  let settled = warm.length;
  for (let k = 0; k + 20 <= warm.length; k++) {
    if (med(warm.subarray(k, k + 20)) <= 1.25 * steadyP50) {
      settled = k;
      break;
    }
  }
  return { first_ns: warm[0]!, first10_p50_ns: med(warm.subarray(0, 10)), first100_p50_ns: med(warm.subarray(0, 100)), settled_after: settled };
}

/**
 * Round trips: warm-up, then `count` timed ones. The warm-up is 50 000 round trips for the
 * fast rings (their JIT settles late), else a tenth of the count up to 1000; `warmCap`
 * bounds it (a run with `--count` asks for a small run, tests among them).
 */
export async function roundTrips(c: BenchCase, size: number, count: number, placement: Placement, mode: Mode, warmCap = Infinity): Promise<Row> {
  const warm = Math.min(warmCap, fastRing(c) ? 50_000 : Math.min(1000, Math.ceil(count / 10)));
  const pair = await c.start(mode === "async-both" ? "echo-async" : mode === "loan" ? "echo-loan" : "echo", warm + count, placement);
  const [ours] = cpusFor(placement);
  if (ours >= 0) pinUs(c, ours);
  let done = false;
  try {
    const msg = payload(c, size);
    const buf = new Uint8Array(Math.max(pair.rx.caps.maxMessageSize, 8));
    const samples = new Float64Array(count);
    const loaned = () => {
      pair.tx.loan(size);
      pair.tx.commit();
      pair.rx.recvView();
      pair.rx.release();
    };
    const once = mode === "loan" ? loaned : () => (pair.tx.send(msg), pair.rx.recvInto(buf));
    const sync = mode === "loan" || mode === "sync";
    // the warm-up runs the code the timed part runs: an async row warmed up by sync calls
    // timed its first awaits cold, and those landed in its p99
    const warmSamples = new Float64Array(warm);
    if (sync) timeEach(once, warmSamples);
    else await asyncRoundTrips(pair, msg, mode === "async-both", warmSamples);
    const u0 = usage();
    if (sync) timeEach(once, samples);
    const timer = sync ? undefined : lateness();
    if (!sync) await asyncRoundTrips(pair, msg, mode === "async-both", samples);
    const late = timer?.stop();
    const ours2 = perMessage(u0, usage(), count);
    const peer = await pair.finish();
    done = true;
    const summary = summarize(samples);
    return {
      ...summary,
      warmup: warmupOf(warmSamples, summary.p50_ns),
      impl: "ipc-lab",
      mechanism: c.name,
      pattern: "rtt",
      mode,
      placement,
      size: msg.byteLength,
      count,
      cpu_ns_per_msg: { parent: ours2.cpu_ns_per_msg, peer: peer?.cpu_ns_per_msg },
      ctx_switches_per_msg: { parent: ours2.ctx_switches_per_msg, peer: peer?.ctx_switches_per_msg },
      ...late,
    };
  } finally {
    if (ours >= 0) pinUs(c, -1);
    if (!done) await pair.abort(); // a failed run must not leave its peer behind
  }
}

/**
 * A one-way stream to a consuming peer (sync or async consumer): warm-up rounds until the
 * code on both sides has settled, then at least `count` messages on the clock — how many
 * of each by `timing` (bench/stream-plan.ts), the same rule as the C baseline's.
 */
export async function stream(
  c: BenchCase,
  size: number,
  count: number,
  placement: Placement,
  mode: "sync" | "async" | "batch",
  timing: StreamTiming,
): Promise<Row> {
  const round = Math.min(20_000, Math.ceil(count / 5));
  using plan = StreamPlan.create();
  const pair = await c.start(mode === "sync" ? "sink" : mode === "async" ? "sink-async" : "sink-batch", count, placement, plan.address);
  const [ours] = cpusFor(placement);
  if (ours >= 0) pinUs(c, ours);
  let done = false;
  try {
    const msg = payload(c, size);
    // the warm-up sends as the timed part does, so that the code timed is the code warmed up
    const send = mode === "batch" ? (n: number) => sendBatches(pair.tx, msg, n) : (n: number) => sendN(pair.tx, msg, n);
    let perSecond = 0;
    let k = 0;
    for (const w0 = nanoseconds(); k === 0 || nanoseconds() - w0 < timing.warmMs * 1e6; k++) {
      plan.post(k, { count: round, timed: false });
      const r0 = nanoseconds();
      send(round);
      pair.rx.recv({ timeout: 20_000 }); // the round arrived
      perSecond = round / ((nanoseconds() - r0) / 1e9);
    }
    const timed = timedCount(count, perSecond, timing);
    plan.post(k, { count: timed, timed: true });
    const u0 = usage();
    const t0 = nanoseconds();
    send(timed);
    pair.rx.recv({ timeout: 20_000 }); // the peer's ack: everything arrived
    const seconds = (nanoseconds() - t0) / 1e9;
    const ours2 = perMessage(u0, usage(), timed);
    const peer = await pair.finish();
    done = true;
    return {
      impl: "ipc-lab",
      mechanism: c.name,
      pattern: "stream",
      mode,
      placement,
      ...throughput(timed, msg.byteLength, seconds),
      cpu_ns_per_msg: { parent: ours2.cpu_ns_per_msg, peer: peer?.cpu_ns_per_msg },
      ctx_switches_per_msg: { parent: ours2.ctx_switches_per_msg, peer: peer?.ctx_switches_per_msg },
    };
  } finally {
    if (ours >= 0) pinUs(c, -1);
    if (!done) await pair.abort(); // a failed run must not leave its peer behind
  }
}
