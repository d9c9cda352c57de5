/**
 * The two small headers conversations put on the wire (docs/wire-formats.md, "Conversations"),
 * so that a C or Python program can take part:
 *
 * - the **link header** (12 bytes) on a queue-like object many clients share (POSIX mq,
 *   System V queue, FIFO, unix datagram socket): who a frame is from or for, since one
 *   object carries every client's messages;
 * - the **request header** (8 bytes) that serve() and request() put on each request and
 *   reply, on every mechanism: which request a reply answers, and whether the handler failed.
 *
 * All fields little-endian.
 */

/** Kinds of link frame (u8 at offset 0). */
export const Link = {
  /** client → server: a new client; payload = where replies go (UTF-8), mechanism-specific */
  HELLO: 1,
  /** either way: one message of the conversation; payload = the message */
  DATA: 2,
  /** client → server: the client closed */
  BYE: 3,
  /** server → client: HELLO accepted; the header's pid is the server's */
  WELCOME: 4,
  /** server → client: the server closed this client's end */
  CLOSE: 5,
} as const;

/** Bytes of the link header: u8 kind, u8[3] zero, u32 pid, u32 serial. */
export const LINK_HEADER = 12;

/** A parsed link header. */
export interface LinkHeader {
  kind: number;
  /** client → server: the client's pid; server → client: the server's */
  pid: number;
  /** the client's number within its process (a process may have many clients) */
  serial: number;
}

/** Write a link header into the first LINK_HEADER bytes of `frame`. */
export function putLink(frame: Uint8Array, kind: number, pid: number, serial: number): void {
  const v = new DataView(frame.buffer, frame.byteOffset, LINK_HEADER);
  v.setUint32(0, kind, true); // kind in the low byte, three zero bytes
  v.setUint32(4, pid, true);
  v.setUint32(8, serial, true);
}

/** A new frame: link header plus `payload`. */
export function linkFrame(kind: number, pid: number, serial: number, payload?: Uint8Array): Uint8Array {
  const frame = new Uint8Array(LINK_HEADER + (payload?.byteLength ?? 0));
  putLink(frame, kind, pid, serial);
  if (payload) frame.set(payload, LINK_HEADER);
  return frame;
}

/** Read the link header of `frame`; undefined when it is too short or not a known kind. */
export function readLink(frame: Uint8Array): LinkHeader | undefined {
  if (frame.byteLength < LINK_HEADER) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, LINK_HEADER);
  const kind = v.getUint8(0);
  if (kind < Link.HELLO || kind > Link.CLOSE) return undefined;
  return { kind, pid: v.getUint32(4, true), serial: v.getUint32(8, true) };
}

/** Kinds of request frame (u8 at offset 0 of the request header). */
export const Turn = {
  /** client → server: a request; payload = the request */
  REQUEST: 1,
  /** server → client: the handler's answer; payload = the reply */
  REPLY: 2,
  /** server → client: the handler threw; payload = its message (UTF-8) */
  FAILED: 3,
  /** transport → client: nobody serves the address (NATS "no responders"); payload = why (UTF-8) */
  UNANSWERED: 4,
} as const;

/** Bytes of the request header: u8 kind, u8[3] zero, u32 request number. */
export const TURN_HEADER = 8;

/** A new request frame: request header plus `payload`. */
export function turnFrame(kind: number, id: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(TURN_HEADER + payload.byteLength);
  const v = new DataView(frame.buffer, 0, TURN_HEADER);
  v.setUint32(0, kind, true);
  v.setUint32(4, id >>> 0, true);
  frame.set(payload, TURN_HEADER);
  return frame;
}

/** Read a request frame; undefined when it is not one. */
export function readTurn(frame: Uint8Array): { kind: number; id: number; payload: Uint8Array } | undefined {
  if (frame.byteLength < TURN_HEADER) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, TURN_HEADER);
  const kind = v.getUint8(0);
  if (kind < Turn.REQUEST || kind > Turn.UNANSWERED) return undefined;
  return { kind, id: v.getUint32(4, true), payload: frame.subarray(TURN_HEADER) };
}
