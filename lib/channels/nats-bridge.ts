/**
 * What a nats channel (lib/channels/nats.ts, on the caller's thread) and the NATS thread
 * (lib/channels/nats-thread.ts, a Worker holding the official client) share besides their
 * ring: the open request posted to the thread, and a small control block of i32 words in a
 * SharedArrayBuffer that either side can wait on while the other's event loop is busy or
 * the caller's thread is blocked in a synchronous call.
 */

import type { ChannelCaps } from "../channel.ts";

/** A nats channel's caps, either kind (the NATS thread's or the event loop's). */
export function natsCaps(maxMessageSize: number, reliable: boolean): ChannelCaps {
  return {
    mechanism: "nats",
    maxMessageSize,
    duplex: true,
    boundaries: "framed",
    capacity: Infinity,
    capacityUnit: "bytes",
    crossesHosts: true,
    detectsPeerExit: false,
    reliable,
  };
}

/** How a channel uses its subject. */
export type NatsRole =
  /** publish and/or subscribe (plain, queue group, durable queue) */
  | "channel"
  /** serve: requests arrive with a turn header (lib/link/wire.ts) the thread adds; replies go to each request's inbox */
  | "listen"
  /** request: turn frames out become NATS requests to the subject; replies come back as turn frames */
  | "connect";

/** The open request posted to the NATS thread. */
export interface NatsOpen {
  readonly ring: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly server: string;
  readonly subject: string;
  readonly queue?: string;
  readonly durable?: string;
  readonly role: NatsRole;
  /** subscribe (a reader, or no role) */
  readonly subscribes: boolean;
  /** a durable queue's ack wait: an unacknowledged message is delivered again after this (ms) */
  readonly ackWaitMs: number;
  /** ms to wait for the server at open */
  readonly connectTimeoutMs: number;
  /** a name for the connection, seen by the server's monitoring (e.g. `nats-server --connz`) */
  readonly name: string;
}

/** Words of the control block (Int32Array). */
export const Ctl = {
  /** State: PENDING → OPEN or FAILED (the thread); CLOSED once the thread has flushed and let go. */
  state: 0,
  /** messages the caller has taken from the ring (a durable queue acknowledges up to here) */
  taken: 1,
  /** the server's max_payload */
  maxPayload: 2,
  /** bytes of UTF-8 text at TEXT_AT: a failure's JSON {code, message} */
  textLength: 3,
  /** reconnects so far (the thread counts them) */
  reconnects: 4,
  /** 1 once a publish failed after send() had returned (said at the next call) */
  lateError: 5,
} as const;

export const State = { PENDING: 0, OPEN: 1, FAILED: 2, CLOSED: 3 } as const;

/** Where a failure's text starts in the control block, and its room. */
const TEXT_AT = 64;
const TEXT_ROOM = 4096;
export const CONTROL_SIZE = TEXT_AT + TEXT_ROOM;

/** Put a failure's code and message in the control block (the thread). */
export function putText(control: SharedArrayBuffer, value: { code: string; message: string }): void {
  const bytes = new TextEncoder().encode(JSON.stringify(value)).subarray(0, TEXT_ROOM);
  new Uint8Array(control, TEXT_AT, TEXT_ROOM).set(bytes);
  Atomics.store(new Int32Array(control), Ctl.textLength, bytes.byteLength);
}

/** The failure the thread put there (the caller). */
export function takeText(control: SharedArrayBuffer): { code: string; message: string } {
  const n = Atomics.load(new Int32Array(control), Ctl.textLength);
  try {
    return JSON.parse(new TextDecoder().decode(new Uint8Array(control, TEXT_AT, n).slice()));
  } catch {
    return { code: "EPROTO", message: "the NATS thread failed and said nothing readable" };
  }
}

/** Set the state word and wake whoever waits on it. */
export function setState(control: SharedArrayBuffer, state: number): void {
  const w = new Int32Array(control);
  Atomics.store(w, Ctl.state, state);
  Atomics.notify(w, Ctl.state);
}
