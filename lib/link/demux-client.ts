/**
 * The client's side of a conversation over a shared queue (demux.ts): frames go to the
 * server's shared object with a link header; replies come back the mechanism's way (its
 * reply queue, its message type, its FIFO, its socket). The server's pid — the shared
 * object's owner until WELCOME says — is looked at every LOOK_MS while waiting, so a dead
 * server ends a wait with EOF.
 */
import type { PendingWait } from "../../ffi/waiter.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { IpcError, ipcError } from "../errors.ts";
import { ownerOf } from "../names/registry.ts";
import { processAlive } from "../names/peer-watch.ts";
import { deadlineIn, remaining } from "../os/wait.ts";
import { type ClientEnds, clientSerial, type DemuxParts, linkCaps, LOOK_MS, wakeable } from "./demux.ts";
import { Link, LINK_HEADER, linkFrame, putLink, readLink } from "./wire.ts";

/** The client's channel to a DemuxListener. */
export class DemuxClient extends BaseChannel {
  readonly caps: ChannelCaps;
  readonly #ends: ClientEnds;
  readonly #serial: number;
  readonly #rx: Uint8Array;
  #tx = new Uint8Array(0);
  /** the server's pid: the shared object's owner until WELCOME says */
  #serverPid: number;
  #closedByServer = false;
  #lastLook = 0;
  /** a reply too large for the caller's buffer, kept for the next receive */
  #kept: Uint8Array | undefined;

  constructor(address: string, parts: DemuxParts, sharedAddress: string) {
    super(address);
    this.#serial = clientSerial();
    this.#ends = parts.openClient(this.#serial);
    this.caps = linkCaps(this.#ends.out.caps);
    this.#rx = new Uint8Array(this.#ends.in.caps.maxMessageSize);
    this.#serverPid = ownerOf(sharedAddress) ?? 0;
    try {
      const hello = linkFrame(Link.HELLO, process.pid, this.#serial, new TextEncoder().encode(this.#ends.where));
      if (!this.#ends.send(hello, 5000)) {
        throw ipcError("ETIMEDOUT", "connect", address, "the server's queue stayed full for 5 s: the server is not taking requests");
      }
    } catch (e) {
      this.#ends.close();
      throw e;
    }
  }

  #serverGone(): IpcError {
    return ipcError(
      "EOF",
      "recv",
      this.address,
      this.#closedByServer
        ? "the server closed this conversation: no more replies will come"
        : `the server (pid ${this.#serverPid}) has exited: no more replies will come`,
    );
  }

  /** Whether the server's process has gone, looking at most every LOOK_MS. */
  #lookDead(): boolean {
    const t = performance.now();
    if (t - this.#lastLook < LOOK_MS) return false;
    this.#lastLook = t;
    return this.#serverPid > 0 && !processAlive(this.#serverPid);
  }

  protected sendImpl(msg: Uint8Array, timeout: number, _opts?: SendOptions): boolean {
    if (this.#closedByServer) throw ipcError("EPIPE", "send", this.address, "the server closed this conversation: no one will read this");
    const need = LINK_HEADER + msg.byteLength;
    if (this.#tx.byteLength < need) this.#tx = new Uint8Array(Math.max(need, 256));
    const frame = this.#tx.subarray(0, need);
    putLink(frame, Link.DATA, process.pid, this.#serial);
    frame.set(msg, LINK_HEADER);
    const deadline = deadlineIn(timeout);
    for (;;) {
      const left = remaining(deadline);
      if (this.#ends.send(frame, left < 0 ? LOOK_MS : Math.min(left, LOOK_MS))) return true;
      if (this.#lookDead()) throw ipcError("EPIPE", "send", this.address, `the server (pid ${this.#serverPid}) has exited: no one will read this`);
      if (deadline >= 0 && remaining(deadline) === 0) return false;
    }
  }

  protected recvImpl(buf: Uint8Array, timeout: number): number {
    if (this.#kept) return this.#give(this.#kept, buf);
    if (this.#closedByServer) throw this.#serverGone();
    const deadline = deadlineIn(timeout);
    for (;;) {
      const left = remaining(deadline);
      const n = BaseChannel.rawRecv(this.#ends.in, this.#rx, left < 0 ? LOOK_MS : Math.min(left, LOOK_MS));
      if (n >= 0) {
        const h = readLink(this.#rx.subarray(0, n));
        if (!h) continue;
        if (h.kind === Link.WELCOME) {
          this.#serverPid = h.pid;
          continue;
        }
        if (h.kind === Link.CLOSE) {
          this.#closedByServer = true;
          throw this.#serverGone();
        }
        if (h.kind !== Link.DATA) continue;
        return this.#give(this.#rx.subarray(LINK_HEADER, n), buf);
      }
      if (this.#lookDead()) throw this.#serverGone();
      if (deadline >= 0 && remaining(deadline) === 0) return -1;
    }
  }

  /** Copy a message into the caller's buffer; one too large for it is kept (EMSGSIZE), as every channel does. */
  #give(m: Uint8Array, buf: Uint8Array): number {
    if (m.byteLength > buf.byteLength) {
      this.#kept ??= m.slice();
      throw ipcError(
        "EMSGSIZE",
        "recv",
        this.address,
        `the message is ${m.byteLength} bytes, the buffer ${buf.byteLength}: it is kept; use a buffer of caps.maxMessageSize`,
      );
    }
    buf.set(m);
    this.#kept = undefined;
    return m.byteLength;
  }

  protected override readableSoon(): boolean {
    return this.#kept !== undefined || BaseChannel.lookAgain(this.#ends.in);
  }

  protected waitReadable(timeout: number): PendingWait {
    const slice = timeout < 0 ? LOOK_MS : Math.min(timeout, LOOK_MS);
    return wakeable(slice, BaseChannel.readableWait(this.#ends.in, slice));
  }

  protected closeImpl(): void {
    if (!this.#closedByServer) {
      try {
        this.#ends.send(linkFrame(Link.BYE, process.pid, this.#serial), 0);
      } catch {
        // the server is gone: nothing to tell
      }
    }
    this.#ends.close();
  }
}
