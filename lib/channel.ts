/**
 * The Channel contract shared by every mechanism: what a channel can do (ChannelCaps), the
 * options of its calls, and the Channel interface. BaseChannel (base-channel.ts) implements
 * the parts that do not depend on the mechanism.
 */
import { ipcError } from "./errors.ts";

/** What a mechanism can do. Every channel states it honestly. */
export interface ChannelCaps {
  /** mechanism name, e.g. "mq", "shm", "pipe", "fifo" */
  readonly mechanism: string;
  /** largest message `send` accepts, in bytes */
  readonly maxMessageSize: number;
  /**
   * true: both ends can send and each receives only what the other sent (a conversation).
   * false: one direction (pipe end, FIFO) or one shared queue (mq: a process may receive
   * its own message) — use two objects for request/response.
   */
  readonly duplex: boolean;
  /**
   * What a message is: "kernel" (one kernel message each), "framed" (u32 LE length prefix on
   * a byte stream), "counter" (8-byte values that add up: one recv may return several sends'
   * sum), or "token" (no payload: each send is one recv).
   */
  readonly boundaries: "kernel" | "framed" | "counter" | "token";
  /** how much can be queued before `send` blocks, in `capacityUnit`s */
  readonly capacity: number;
  /** unit of `capacity` */
  readonly capacityUnit: "messages" | "bytes";
  /** whether the mechanism can reach another host */
  readonly crossesHosts: boolean;
  /** whether the kernel (or the channel's protocol) tells this end when the peer has gone */
  readonly detectsPeerExit: boolean;
  /** false when messages may be lost under load (UDP); omitted means true */
  readonly reliable?: boolean;
}

/** Options for send/trySend. */
export interface SendOptions {
  /** milliseconds to wait for room (send only); omitted or Infinity: wait as long as it takes */
  timeout?: number;
  /** message priority where the mechanism has one (mq: 0..32767, higher first) */
  priority?: number;
  /**
   * System V message type (> 0) for this message (sysv-mq; default: the channel's sendType).
   * Named apart from popen's `type` ("r" | "w"), which is a direction.
   */
  messageType?: number;
}

/** Options for recv/recvInto/recvAsync. */
export interface RecvOptions {
  /** milliseconds to wait for a message; omitted or Infinity: wait as long as it takes */
  timeout?: number;
}

/** A message payload: bytes, or a string sent as UTF-8. */
export type Payload = Uint8Array | string;

/**
 * One end of an IPC mechanism, with message semantics: one send is one recv, whole and
 * in order. Sync calls block like the C call would (with an optional timeout); try*
 * calls never block; async calls never block the event loop.
 */
export interface Channel extends AsyncIterable<Uint8Array>, Disposable {
  /** the address this channel was opened with, e.g. "mq:/jobs" */
  readonly address: string;
  /** what this mechanism can do */
  readonly caps: ChannelCaps;
  /** true once close() has been called */
  readonly closed: boolean;
  /** Send one message, waiting for room. Throws IpcError ETIMEDOUT after `timeout` ms. */
  send(msg: Payload, opts?: SendOptions): void;
  /** Send one message if there is room now; false when full. Never blocks. */
  trySend(msg: Payload, opts?: Omit<SendOptions, "timeout">): boolean;
  /** Receive one message (a new array). Throws IpcError ETIMEDOUT after `timeout` ms, EOF if the peer closed. */
  recv(opts?: RecvOptions): Uint8Array;
  /** Receive one message if one is waiting; undefined when empty. Never blocks. */
  tryRecv(): Uint8Array | undefined;
  /**
   * Receive one message into `buf` and return its length: no allocation. A message larger
   * than `buf` is not lost: IpcError EMSGSIZE says its size, and the next receive gets it.
   */
  recvInto(buf: Uint8Array, opts?: RecvOptions): number;
  /** recvInto that never blocks: undefined when empty. */
  tryRecvInto(buf: Uint8Array): number | undefined;
  /** Receive without blocking the event loop. Rejects with ETIMEDOUT, EOF, or ECLOSED if closed meanwhile. */
  recvAsync(opts?: RecvOptions): Promise<Uint8Array>;
  /**
   * Send without blocking the event loop: resolves once the message is in, waiting for
   * room (a full ring or queue) off the JS thread. Rejects with ETIMEDOUT, EPIPE, or
   * ECLOSED if closed meanwhile.
   */
  sendAsync(msg: Payload, opts?: SendOptions): Promise<void>;
  /**
   * Send every message of `msgs`, in order, waiting for room as send() does (`timeout`
   * covers the whole batch). Rings publish a run of messages at once and wake at most once.
   */
  sendMany(msgs: readonly Payload[], opts?: SendOptions): void;
  /** Send as many of `msgs` as fit now, in order; returns how many. Never blocks. */
  trySendMany(msgs: readonly Payload[], opts?: Omit<SendOptions, "timeout">): number;
  /** Wait for a message as recv() does, then take up to `max` that are there: one or more, in order. */
  recvMany(max: number, opts?: RecvOptions): Uint8Array[];
  /** Take up to `max` messages that are there now; an empty array when none is. Never blocks. */
  tryRecvMany(max: number): Uint8Array[];
  /**
   * No allocation: take the messages that are there now, one after another into `buf`,
   * message k's length into `lengths[k]`, until either is full; returns how many (0 when
   * none is there). A message larger than the room left stays for the next call; one
   * larger than all of `buf` is EMSGSIZE, kept. Never blocks.
   */
  tryRecvManyInto(buf: Uint8Array, lengths: Uint32Array): number;
  /** sendMany without blocking the event loop. */
  sendManyAsync(msgs: readonly Payload[], opts?: SendOptions): Promise<void>;
  /** recvMany without blocking the event loop. */
  recvManyAsync(max: number, opts?: RecvOptions): Promise<Uint8Array[]>;
  /**
   * Borrow the room for the next message: a writable view of `size` bytes, waiting for room
   * as send() does. Fill it, then commit() (or abandonLoan()). On shared-memory rings and
   * topics the view is the ring itself (zero-copy: nothing is copied at commit); elsewhere
   * it is a buffer that commit() sends. One loan at a time; no send while it is out (EBUSY).
   */
  loan(size: number, opts?: RecvOptions): Uint8Array;
  /** loan() that never blocks: undefined when there is no room now. */
  tryLoan(size: number): Uint8Array | undefined;
  /** loan() without blocking the event loop. */
  loanAsync(size: number, opts?: RecvOptions): Promise<Uint8Array>;
  /**
   * Send the loaned view's first `length` bytes (default: all it has) as one message. The
   * view is detached: its length becomes 0 and writing through it throws or does nothing,
   * never reaching the ring. On rings commit() never waits (the room was taken at loan());
   * elsewhere it sends as send() does, with `opts.timeout`.
   */
  commit(length?: number, opts?: SendOptions): void;
  /** Give back the loan without sending anything; its view is detached. No-op without a loan. */
  abandonLoan(): void;
  /**
   * Receive the next message as a read-only view, valid until release() or the next
   * receive (whichever comes first); then it is detached (length 0; set/subarray/decoding
   * it throw a TypeError) and its room goes back to the sender. On shared-memory rings (and
   * topics with policy "block") the view is the message in place (zero-copy); elsewhere a
   * received copy.
   */
  recvView(opts?: RecvOptions): Uint8Array;
  /** recvView() that never blocks: undefined when empty. */
  tryRecvView(): Uint8Array | undefined;
  /** recvView() without blocking the event loop. */
  recvViewAsync(opts?: RecvOptions): Promise<Uint8Array>;
  /** Let go of the view recvView() returned (detach it, free its room). No-op without one. */
  release(): void;
  /** Close this end (idempotent). The creator of a named object also removes the name. */
  close(): void;
}

/** Milliseconds from an options object: -1 means forever. Rejects negative and NaN. */
export function timeoutMs(opts: { timeout?: number } | undefined, op: string, address: string): number {
  const t = opts?.timeout;
  if (t === undefined || t === Infinity) return -1;
  if (typeof t !== "number" || Number.isNaN(t) || t < 0) {
    throw ipcError("EINVAL", op, address, `timeout must be a number of milliseconds >= 0, or omitted to wait forever (got ${t})`);
  }
  return t;
}
