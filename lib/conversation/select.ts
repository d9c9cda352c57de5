/**
 * select(): wait for the first of several channels — any mix of mechanisms — to have a
 * message, and take it. Like Go's select over channels, or iceoryx2's WaitSet.
 *
 * How it waits, and what each added channel costs:
 * - every wait starts with a sweep: one non-blocking receive per channel, starting at a
 *   different channel each call so that none starves (~0.1–1 µs per channel);
 * - select() (blocking): channels with a descriptor (pipes, FIFOs, sockets, POSIX mq,
 *   eventfd, signals) wait in one poll(2) over all of them; shared-memory rings in one
 *   futex_waitv(2) over all their head words (Linux ≥ 5.16; sweeping again every 100 ms, as a
 *   ring's dead peer shows on a receive, not as a wake). A set with both kinds, or with
 *   channels that have neither (System V queues, topics, queue peers, semaphore-mode rings),
 *   waits in slices of SLICE_MS, sweeping between them: up to SLICE_MS of added latency;
 * - selectAsync(): one off-thread wait per channel (the same wait its recvAsync uses), the
 *   first to end wins and the others are cancelled (and awaited: nothing is left waiting
 *   once it returns) — any mix, no slices; each channel costs one waiter thread while waiting.
 */
import { shim } from "../../ffi/runtime.ts";
import { C } from "../../ffi/facts.ts";
import { type Channel } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { errnoError, ipcError } from "../errors.ts";
import { throwIfStopped } from "../os/stop.ts";
import { deadlineIn, remaining } from "../os/wait.ts";

/** Longest sleep of a blocking select() over a set no single system call can wait on (ms). */
const SLICE_MS = 1;
/** Longest sleep of a blocking select() over rings alone, between sweeps (ms). */
const RING_LOOK_MS = 100;

/** What select() took: from which channel (and its index in the list), and the message. */
export interface Selected<Ch extends Channel = Channel> {
  channel: Ch;
  index: number;
  message: Uint8Array;
}

/** Options for select(). */
export interface SelectOptions {
  /** ms to wait for a message on any channel; omitted: as long as it takes. ETIMEDOUT after. */
  timeout?: number;
}

let turn = 0;

function asBase(channels: readonly Channel[]): BaseChannel[] {
  if (channels.length === 0) throw ipcError("EINVAL", "select", undefined, "select() needs at least one channel");
  return channels.map((c, i) => {
    if (!(c instanceof BaseChannel)) {
      throw ipcError("EINVAL", "select", c.address, `channel ${i} is not an ipc-lab channel (for a ValueChannel pass its .channel)`);
    }
    return c;
  });
}

/**
 * Take a message from the first channel that has one now, or undefined when none has.
 * A channel whose peer has gone throws its EOF (error.address says which: drop it and select again).
 *
 * @example
 * ```ts
 * const ready = trySelect([queue, ring]); // undefined when none has a message now
 * ```
 */
export function trySelect<Ch extends Channel>(channels: readonly Ch[]): Selected<Ch> | undefined {
  asBase(channels);
  const n = channels.length;
  const start = turn++ % n;
  for (let k = 0; k < n; k++) {
    const index = (start + k) % n;
    const channel = channels[index]!;
    const message = channel.tryRecv();
    if (message !== undefined) return { channel, index, message };
  }
  return undefined;
}

function timedOut(op: string, ms: number, n: number) {
  return ipcError("ETIMEDOUT", op, undefined, `none of the ${n} channels had a message within ${ms} ms`);
}

/** Sleep until something may have arrived: one system call where the set allows, else a slice. */
function sleepOnSet(chans: BaseChannel[], ms: number): void {
  const fds = chans.map((c) => BaseChannel.readinessOf(c));
  if (fds.every((fd) => fd >= 0)) {
    const r = shim.ipcl_poll_many(Int32Array.from(fds), fds.length, ms, new Int32Array(fds.length));
    if (r < 0 && r !== -C.EINTR) throw errnoError(-r, "poll", undefined);
    return;
  }
  const armed: BaseChannel[] = [];
  const words: { address: number; value: number }[] = [];
  try {
    for (let i = 0; i < chans.length; i++) {
      if (fds[i]! >= 0) continue;
      const arm = BaseChannel.armOf(chans[i]!);
      if (arm === "ready") return; // a message came meanwhile: sweep again
      if (arm) {
        armed.push(chans[i]!);
        words.push(arm);
      }
    }
    // rings only: one futex_waitv, woken each RING_LOOK_MS to sweep again (a ring whose peer
    // died says so on a receive, not with a wake); any other mix: one slice
    const onlyWords = words.length > 0 && words.length === chans.length && words.length <= 128;
    const wait = onlyWords ? (ms < 0 ? RING_LOOK_MS : Math.min(ms, RING_LOOK_MS)) : Math.min(ms < 0 ? SLICE_MS : ms, SLICE_MS);
    if (words.length > 0 && words.length <= 128) {
      const r = shim.ipcl_futex_waitv(BigUint64Array.from(words, (w) => BigInt(w.address)), Uint32Array.from(words, (w) => w.value), words.length, wait);
      if (r >= 0 || r === -C.EAGAIN || r === -C.ETIMEDOUT || r === -C.EINTR) return;
      // ENOSYS (Linux < 5.16) or another refusal: sleep the slice below instead
    }
    const slice = Math.min(wait, SLICE_MS);
    const sliceFds = fds.filter((fd) => fd >= 0);
    if (sliceFds.length > 0) shim.ipcl_poll_many(Int32Array.from(sliceFds), sliceFds.length, slice, new Int32Array(sliceFds.length));
    else shim.ipcl_poll_many(new Int32Array(1), 0, slice, new Int32Array(1)); // nothing to poll: a plain sleep of one slice
  } finally {
    for (const c of armed) BaseChannel.disarmOf(c);
  }
}

/**
 * Wait (blocking) for the first channel with a message and take it. ETIMEDOUT after `timeout` ms.
 *
 * @example
 * ```ts
 * const { channel, message } = select([queue, ring], { timeout: 5000 });
 * ```
 */
export function select<Ch extends Channel>(channels: readonly Ch[], opts: SelectOptions = {}): Selected<Ch> {
  const chans = asBase(channels);
  const t = opts.timeout ?? -1;
  const deadline = deadlineIn(t);
  for (;;) {
    const got = trySelect(channels);
    if (got) return got;
    const left = remaining(deadline);
    if (left === 0) throw timedOut("select", t, channels.length);
    throwIfStopped("select");
    sleepOnSet(chans, left);
  }
}

/**
 * select() without blocking the event loop: one off-thread wait per channel, the first to end wins.
 *
 * @example
 * ```ts
 * const { channel, message } = await selectAsync([queue, ring], { timeout: 5000 });
 * ```
 */
export async function selectAsync<Ch extends Channel>(channels: readonly Ch[], opts: SelectOptions = {}): Promise<Selected<Ch>> {
  const chans = asBase(channels);
  const t = opts.timeout ?? -1;
  const deadline = deadlineIn(t);
  for (;;) {
    const got = trySelect(channels);
    if (got) return got;
    const left = remaining(deadline);
    if (left === 0) throw timedOut("selectAsync", t, channels.length);
    const waits = chans.map((c) => BaseChannel.readableWait(c, left));
    try {
      await Promise.race(waits.map((w) => w.result));
    } finally {
      // end the others, and let them finish: a select that returned leaves no wait behind
      for (const w of waits) w.cancel();
      await Promise.all(waits.map((w) => w.result.catch(() => 0)));
    }
  }
}
