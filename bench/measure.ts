/**
 * The two measurements: round trips (one sample per message, nanosecond clock) and a
 * one-way stream (messages per second from the peer's "ready" to its final ack), for
 * ipc-lab channels, sync or async, with both sides placed on CPUs.
 */
import { nanoseconds } from "../ffi/process.ts";
import { counterValue } from "../lib/index.ts";
import type { BenchCase } from "./cases.ts";
import { type LatencySummary, summarize } from "./stats.ts";
import { cpusFor, perMessage, pinProcess, pinThread, type Placement, usage } from "./usage.ts";

/** Pin our side: the whole process, or only this thread when the peer is a thread of ours. */
function pinUs(c: BenchCase, cpu: number): void {
  if (c.inProcess) pinThread(cpu);
  else pinProcess(cpu);
}

/** One row of results (the JSON schema in bench/README.md). */
export interface Row extends Partial<LatencySummary> {
  impl: string;
  mechanism: string;
  pattern: "rtt" | "stream";
  mode: "sync" | "async";
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
  /** why a combination was not measured */
  skipped?: string;
  /** the combination cannot exist (a size above the mechanism's maximum): no target applies */
  inapplicable?: boolean;
}

/** The message a case sends: zeros of `size`, or a value of 1 for eventfd counters. */
function payload(c: BenchCase, size: number): Uint8Array {
  return c.name === "eventfd" ? counterValue(1) : new Uint8Array(size);
}

/** Round trips: warm-up, then `count` timed ones. */
export async function roundTrips(c: BenchCase, size: number, count: number, placement: Placement, mode: "sync" | "async"): Promise<Row> {
  const warm = Math.min(1000, Math.ceil(count / 10));
  const pair = await c.start("echo", warm + count, placement);
  const [ours] = cpusFor(placement);
  if (ours >= 0) pinUs(c, ours);
  let done = false;
  try {
    const msg = payload(c, size);
    const buf = new Uint8Array(Math.max(pair.rx.caps.maxMessageSize, 8));
    const samples = new Float64Array(count);
    for (let i = 0; i < warm; i++) {
      pair.tx.send(msg);
      pair.rx.recvInto(buf);
    }
    const u0 = usage();
    if (mode === "sync") {
      for (let i = 0; i < count; i++) {
        const t0 = nanoseconds();
        pair.tx.send(msg);
        pair.rx.recvInto(buf);
        samples[i] = nanoseconds() - t0;
      }
    } else {
      for (let i = 0; i < count; i++) {
        const t0 = nanoseconds();
        pair.tx.send(msg);
        await pair.rx.recvAsync();
        samples[i] = nanoseconds() - t0;
      }
    }
    const ours2 = perMessage(u0, usage(), count);
    const peer = await pair.finish();
    done = true;
    return {
      ...summarize(samples),
      impl: "ipc-lab",
      mechanism: c.name,
      pattern: "rtt",
      mode,
      placement,
      size: msg.byteLength,
      count,
      cpu_ns_per_msg: { parent: ours2.cpu_ns_per_msg, peer: peer?.cpu_ns_per_msg },
      ctx_switches_per_msg: { parent: ours2.ctx_switches_per_msg, peer: peer?.ctx_switches_per_msg },
    };
  } finally {
    if (ours >= 0) pinUs(c, -1);
    if (!done) await pair.abort(); // a failed run must not leave its peer behind
  }
}

/**
 * A one-way stream of `count` messages to a consuming peer (sync or async consumer), after
 * a warm-up stream of its own (so both sides run compiled code when the clock starts).
 */
export async function stream(c: BenchCase, size: number, count: number, placement: Placement, mode: "sync" | "async"): Promise<Row> {
  const warm = Math.min(20_000, Math.ceil(count / 5));
  const pair = await c.start(mode === "sync" ? "sink" : "sink-async", count, placement, warm);
  const [ours] = cpusFor(placement);
  if (ours >= 0) pinUs(c, ours);
  let done = false;
  try {
    const msg = payload(c, size);
    for (let i = 0; i < warm; i++) pair.tx.send(msg);
    pair.rx.recv({ timeout: 20_000 }); // warm-up done
    const u0 = usage();
    const t0 = nanoseconds();
    for (let i = 0; i < count; i++) pair.tx.send(msg);
    pair.rx.recv({ timeout: 20_000 }); // the peer's ack: everything arrived
    const seconds = (nanoseconds() - t0) / 1e9;
    const ours2 = perMessage(u0, usage(), count);
    const peer = await pair.finish();
    done = true;
    return {
      impl: "ipc-lab",
      mechanism: c.name,
      pattern: "stream",
      mode,
      placement,
      size: msg.byteLength,
      count,
      msgs_per_s: count / seconds,
      bytes_per_s: (count * msg.byteLength) / seconds,
      cpu_ns_per_msg: { parent: ours2.cpu_ns_per_msg, peer: peer?.cpu_ns_per_msg },
      ctx_switches_per_msg: { parent: ours2.ctx_switches_per_msg, peer: peer?.ctx_switches_per_msg },
    };
  } finally {
    if (ours >= 0) pinUs(c, -1);
    if (!done) await pair.abort(); // a failed run must not leave its peer behind
  }
}
