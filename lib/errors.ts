/**
 * IpcError: the one error type ipc-lab throws. It carries the errno name (`code`), the
 * number, the failing call, the channel address, and a message that says what to do.
 */
import { fact } from "../ffi/facts.ts";
import { libc, readCString } from "../ffi/runtime.ts";

const EINTR = fact("EINTR");
const EMSGSIZE = fact("EMSGSIZE");
const ETIMEDOUT = fact("ETIMEDOUT");

/**
 * The codes ipc-lab raises on purpose (docs/channel.md, "Errors", says when each comes),
 * plus any other errno name it passes through from the kernel (`string & {}` keeps the
 * named ones visible to editors while allowing the rest). EOF, ETRUNC, ECLOSED and EADDRESS
 * are ipc-lab's own; the others are errno names.
 */
export type IpcErrorCode =
  | "EOF" // the peer closed between messages: no more will come
  | "ETRUNC" // the peer vanished in the middle of a message
  | "ECLOSED" // this channel (or primitive) was closed
  | "EADDRESS" // the address is malformed or names an unknown scheme
  | "EINTR" // a stop signal came and the program has its own handler (see "Stopping")
  | "ETIMEDOUT" // nothing in time: the message says how long it waited
  | "EINVAL" // an option or argument out of range, or not understood by the scheme
  | "EMSGSIZE" // a message above the maximum, or larger than the buffer given (it is kept)
  | "EPIPE" // nobody will read: the peer closed or died
  | "EBUSY" // the object is taken (a ring's peer slot, a signal already received here)
  | "EPROTO" // shared memory or a stream that is not what ipc-lab wrote
  | "ENOENT" // nothing at this address (yet)
  | "EEXIST" // exclusive creation of something that exists
  | "EACCES" // not this user's to open
  | "ENOSPC" // no room: /dev/shm, memory, or a system limit
  | "ENOBUFS" // a signal was dropped because the receiver's pipe was full
  | "ECONNREFUSED" // nobody listens at a socket address
  | "EREMOTE" // serve(): the server's handler failed on this request (its message says why)
  | "ECODEC" // a value the channel's codec cannot encode, or bytes it cannot decode
  | (string & {});

/** Details for constructing an IpcError. */
export interface IpcErrorInit {
  /** errno name such as "EAGAIN", or one of EOF / ETRUNC / ECLOSED / EADDRESS. */
  code: IpcErrorCode;
  /** the errno number (0 when the condition is not an errno). */
  errno?: number;
  /** the C call or library operation that failed, e.g. "mq_open". */
  syscall: string;
  /** the channel address involved, e.g. "mq:/jobs". */
  address?: string;
  /** what happened and what to do, in a sentence or two. */
  message: string;
}

/**
 * An error from an IPC operation. `code` is stable; `message` is for people.
 *
 * @example
 * ```ts
 * try { open("mq:/nope"); } catch (e) { if (e instanceof IpcError && e.code === "ENOENT") console.log(e.message); }
 * ```
 */
export class IpcError extends Error {
  /** errno name ("EAGAIN") or an ipc-lab condition ("EOF", "ETRUNC", "ECLOSED", "EADDRESS"). */
  readonly code: IpcErrorCode;
  /** errno number, 0 when not an errno. */
  readonly errno: number;
  /** the failing call, e.g. "mq_open". */
  readonly syscall: string;
  /** the address of the channel, when there is one. */
  readonly address: string | undefined;

  constructor(init: IpcErrorInit) {
    super(init.message);
    this.name = "IpcError";
    this.code = init.code;
    this.errno = init.errno ?? 0;
    this.syscall = init.syscall;
    this.address = init.address;
  }
}

/** The symbolic name of an errno value ("EAGAIN"), from the C library itself. */
export function errnoName(n: number): string {
  const p = libc.strerrorname_np(n);
  return p ? readCString(p) : `E${n}`;
}

/** The C library's description of an errno value ("Resource temporarily unavailable"). */
function errnoText(n: number): string {
  const p = libc.strerror(n);
  return p ? readCString(p) : `errno ${n}`;
}

/** Default advice per errno name, used when the caller gives none. */
const advice: Record<string, string> = {
  ENOENT: "nothing exists at this address yet: create it (create: true) or start the side that creates it first",
  EEXIST: "an object with this name already exists: open it without create, or remove a leftover with `ipc-lab gc`",
  EACCES: "permission denied: check the object's owner and mode (ipc-lab creates objects with mode 0600)",
  EPERM: "operation not permitted for this user",
  EMFILE: "this process has too many open files: close channels you no longer use or raise `ulimit -n`",
  ENFILE: "the system has too many open files",
  ENOSPC: "a system limit was reached (queues, memory or names): see `ipc-lab info` for the limits",
  ENOMEM: "out of memory for this object: ask for a smaller capacity",
  EPIPE: "the peer has closed its end: no one will read this message",
  EBADF: "the descriptor is not open (was the channel closed, or the fd not passed to this process?)",
  ENAMETOOLONG: "the name is too long",
};

/** What a blocking call's EINTR means: set by lib/os/stop.ts (a stop signal is pending). */
let interruptHandler: ((syscall: string, address: string | undefined) => IpcError) | undefined;

/**
 * Route EINTR from a blocking call to `handler`. The shim retries every other EINTR, so
 * one that reaches TypeScript means a stop signal (SIGINT, SIGTERM, SIGHUP) is pending.
 */
export function onInterrupt(handler: (syscall: string, address: string | undefined) => IpcError): void {
  interruptHandler = handler;
}

/** An IpcError for errno value `n` from `syscall`, with advice unless `hint` overrides it. */
export function errnoError(n: number, syscall: string, address?: string, hint?: string): IpcError {
  if (n === EINTR && interruptHandler) return interruptHandler(syscall, address);
  const code = errnoName(n);
  const what = hint ?? advice[code];
  const where = address ? ` on ${address}` : "";
  return new IpcError({
    code,
    errno: n,
    syscall,
    address,
    message: `${syscall}${where} failed: ${code} (${errnoText(n)})${what ? `; ${what}` : ""}`,
  });
}

/** For shim calls that return -errno: throw when r < 0, else return r. */
export function checkNeg(r: number, syscall: string, address?: string, hint?: string): number {
  if (r < 0) throw errnoError(-r, syscall, address, hint);
  return r;
}

/** An IpcError that is not an errno condition. */
export function ipcError(code: IpcErrorCode, syscall: string, address: string | undefined, message: string): IpcError {
  return new IpcError({ code, syscall, address, message });
}

/**
 * EMSGSIZE for a message larger than the caller's buffer: it is not lost — the next
 * receive gets it — and the error says so, with its size and how to take it.
 */
export function tooBigKept(size: number, bufBytes: number, syscall: string, address: string, what = "message"): IpcError {
  return errnoError(
    EMSGSIZE,
    syscall,
    address,
    `the next ${what} has ${size} bytes and does not fit a ${bufBytes}-byte buffer; it is kept: receive it with a larger buffer or recv()`,
  );
}

/** EMSGSIZE for a message larger than a channel takes (`noun`: whose maximum, e.g. "this queue's"). */
export function messageTooLarge(size: number, max: number, noun: string, op: string, address: string): IpcError {
  const message = `message of ${size} bytes exceeds ${noun} maximum of ${max} bytes; split it, or open with a larger maxMessageSize where the mechanism allows`;
  return new IpcError({ code: "EMSGSIZE", errno: EMSGSIZE, syscall: op, address, message });
}

/** ETIMEDOUT for a send or receive that waited its whole timeout. */
export function timedOut(op: string, address: string, ms: number): IpcError {
  const why = op.startsWith("send") ? " (the receiver is not keeping up)" : " (no message arrived)";
  return new IpcError({ code: "ETIMEDOUT", errno: ETIMEDOUT, syscall: op, address, message: `${op} on ${address} timed out after ${ms} ms${why}` });
}
