/**
 * eventfd counters: `eventfd:N` (one counter, inherited as fd N) or `eventfd:R,W` (read
 * counter R, write counter W: a duplex pair, as spawnWithEventfd makes). A message is an
 * 8-byte unsigned little-endian value: send adds it to the counter; recv takes the whole
 * counter (values merge: caps.boundaries "counter"), or in semaphore mode takes 1.
 */
import type { ChildProcess } from "../../ffi/process.ts";
import { readFileSync } from "node:fs";
import { C, fact } from "../../ffi/facts.ts";
import { libc, shim, sys } from "../../ffi/runtime.ts";
import { type PendingWait, pollAsync } from "../../ffi/waiter.ts";
import { type Address, parseFds } from "../address.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { checkNeg, errnoError, ipcError } from "../errors.ts";
import { type SpawnOptions, spawnWith } from "../os/inherit.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";

/** Options for eventfd counters. */
export interface EventfdOptions {
  /** EFD_SEMAPHORE: each recv takes 1 instead of the whole count */
  semaphore?: boolean;
}

/** The largest value an eventfd holds (2^64 - 2). */
export const EVENTFD_MAX = 0xfffffffffffffffen;
const EFD_CLOEXEC = fact("EFD_CLOEXEC");
const EFD_SEMAPHORE = fact("EFD_SEMAPHORE");

/**
 * A new counter, its description blocking: a receive that waits is then one read(2), as in C
 * (an O_NONBLOCK one takes read, poll, read); try-calls and timeouts read with RWF_NOWAIT and
 * poll before a write (ffi/shim/eventfd.c).
 */
function newEventfd(semaphore: boolean): number {
  return checkNeg(sys.eventfd(0, EFD_CLOEXEC | (semaphore ? EFD_SEMAPHORE : 0)), "eventfd");
}

/** ipcl_eventfd_rw's op: bit 0 writes, bit 1 says the description is O_NONBLOCK. */
const WRITE = 1, NONBLOCKING = 2;

/** Whether descriptor fd's open file description is O_NONBLOCK (one made elsewhere may be). */
function nonblocking(fd: number): boolean {
  return (checkNeg(sys.fcntl(fd, C.F_GETFL, 0), "fcntl") & C.O_NONBLOCK) !== 0;
}

/** An 8-byte little-endian message carrying `value`. */
export function counterValue(value: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(value), true);
  return b;
}

/** The value of an 8-byte counter message. */
export function readCounter(msg: Uint8Array): bigint {
  return new DataView(msg.buffer, msg.byteOffset, 8).getBigUint64(0, true);
}

/**
 * Whether 8 bytes hold a value an eventfd accepts, 1 to 2^64-2, read without allocating (no
 * DataView, no BigInt: this is every send's check): not all zero, not all 0xff.
 */
function validCounter(msg: Uint8Array): boolean {
  let any = 0, all = 0xff;
  for (let i = 0; i < 8; i++) {
    any |= msg[i]!;
    all &= msg[i]!;
  }
  return any !== 0 && all !== 0xff;
}

/** One or two eventfd counters. */
export class EventfdChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  #rfd: number;
  #wfd: number;
  /** ipcl_eventfd_rw's op for a read and for a write (the descriptions' O_NONBLOCK, read once) */
  readonly #readOp: number;
  readonly #writeOp: number;

  constructor(address: string, rfd: number, wfd: number, semaphore: boolean) {
    super(address);
    this.#rfd = rfd;
    this.#wfd = wfd;
    this.#readOp = nonblocking(rfd) ? NONBLOCKING : 0;
    this.#writeOp = WRITE | (nonblocking(wfd) ? NONBLOCKING : 0);
    this.caps = {
      mechanism: "eventfd",
      maxMessageSize: 8,
      duplex: rfd !== wfd,
      boundaries: semaphore ? "token" : "counter",
      capacity: Number(EVENTFD_MAX),
      capacityUnit: "messages",
      crossesHosts: false,
      detectsPeerExit: false,
    };
  }

  /** Add n (1 .. 2^64-2) to the counter, waiting while it would overflow. */
  add(n: number | bigint, opts?: SendOptions): void {
    this.send(counterValue(n), opts);
  }

  /** Take the counter (or 1 in semaphore mode), waiting while it is 0. */
  take(opts?: { timeout?: number }): bigint {
    return readCounter(this.recv(opts));
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, _opts: SendOptions | undefined): boolean {
    if (msg.byteLength !== 8 || !validCounter(msg)) {
      throw ipcError("EINVAL", "write", this.address, "an eventfd message is an 8-byte little-endian value from 1 to 2^64-2 (use add(n))");
    }
    const r = shim.ipcl_eventfd_rw(this.#wfd, msg, this.#writeOp, timeout);
    if (r === 0) return true;
    if (r === -C.EAGAIN || r === -C.ETIMEDOUT) return false;
    throw errnoError(-r, "write", this.address);
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    if (buf.byteLength < 8) {
      throw errnoError(
        C.EMSGSIZE,
        "recvInto",
        this.address,
        `an eventfd value has 8 bytes and does not fit a ${buf.byteLength}-byte buffer; nothing was taken`,
      );
    }
    const r = shim.ipcl_eventfd_rw(this.#rfd, buf, this.#readOp, timeout);
    if (r === 0) return 8;
    if (r === -C.EAGAIN || r === -C.ETIMEDOUT) return -1;
    throw errnoError(-r, "read", this.address);
  }

  protected override waitReadable(timeout: number): PendingWait {
    return pollAsync(this.#rfd, C.POLLIN, timeout);
  }

  protected override waitWritable(timeout: number): PendingWait {
    return pollAsync(this.#wfd, C.POLLOUT, timeout);
  }

  protected override readinessFd(): number {
    return this.#rfd;
  }

  protected override closeImpl(): void {
    libc.close(this.#rfd);
    if (this.#wfd !== this.#rfd) libc.close(this.#wfd);
    this.#rfd = this.#wfd = -1;
  }
}

/**
 * Whether an inherited eventfd was made with EFD_SEMAPHORE: the mode belongs to the object,
 * and Linux (>= 6.4) shows it in /proc/self/fdinfo. undefined when it does not say.
 */
function semaphoreMode(fd: number): boolean | undefined {
  try {
    const m = /^eventfd-semaphore:\s*(\d)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
    return m ? m[1] === "1" : undefined;
  } catch {
    return undefined;
  }
}

/** Open `eventfd:N` or `eventfd:R,W` on inherited descriptors. */
function openEventfd(addr: Address, opts: EventfdOptions): EventfdChannel {
  const fds = parseFds(addr);
  for (const fd of fds) checkNeg(sys.fcntl(fd, C.F_GETFL, 0), "fcntl", addr.text, `descriptor ${fd} is not open in this process`);
  const [r, w = r] = fds as [number, number?];
  const mode = semaphoreMode(r);
  if (mode !== undefined && opts.semaphore !== undefined && mode !== opts.semaphore) {
    throw ipcError(
      "EINVAL",
      "open",
      addr.text,
      `descriptor ${r} is ${mode ? "" : "not "}a semaphore-mode eventfd, but semaphore: ${opts.semaphore} was asked for`,
    );
  }
  return new EventfdChannel(addr.text, r, w!, mode ?? opts.semaphore ?? false);
}

/** A counter in this process (hand its fd to a child through spawnWith). */
export function createEventfd(opts: EventfdOptions = {}): EventfdChannel {
  const fd = newEventfd(opts.semaphore ?? false);
  return new EventfdChannel(`eventfd:${fd}`, fd, fd, opts.semaphore ?? false);
}

/**
 * Spawn cmd with two counters, one per direction: the child opens IPC_LAB_CHANNEL =
 * "eventfd:3,4" (reads 3, writes 4), so both sides can send and receive.
 */
export function spawnWithEventfd(cmd: string[], opts: EventfdOptions & SpawnOptions = {}): { channel: EventfdChannel; child: ChildProcess } {
  const semaphore = opts.semaphore ?? false;
  const toChild = newEventfd(semaphore);
  const toParent = newEventfd(semaphore);
  // the child gets its own copies; ours stay open for our side
  const childRead = checkNeg(libc.fcntl(toChild, fact("F_DUPFD_CLOEXEC"), 10), "fcntl(F_DUPFD_CLOEXEC)");
  const childWrite = checkNeg(libc.fcntl(toParent, fact("F_DUPFD_CLOEXEC"), 10), "fcntl(F_DUPFD_CLOEXEC)");
  const channel = new EventfdChannel(`eventfd:${toParent},${toChild}`, toParent, toChild, semaphore);
  try {
    return { channel, child: spawnWith(cmd, { fds: [childRead, childWrite], address: `eventfd:3,4` }, opts) };
  } catch (e) {
    channel.close();
    throw e;
  }
}

/** The `eventfd:` mechanism. */
export const eventfd = mechanism<EventfdOptions>()({
  scheme: "eventfd",
  describe: "eventfd:N or eventfd:R,W — inherited eventfd counters",
  options: optionNames<EventfdOptions>()("semaphore"),
  open: (a, o) => openEventfd(a, o),
  traits: { ...usualTraits, boundaries: "counter", duplex: true, pollable: true, maxMessageSize: 8 },
  inherit: (cmd, opts) => spawnWithEventfd(cmd, opts),
});
