/**
 * Conversations over one object that many clients share — a POSIX or System V message
 * queue, a FIFO, a unix datagram socket: each frame carries a link header (wire.ts) saying
 * which client it is from, and each mechanism has its classic way back to a client (a reply
 * queue per client, replies typed with the client's number, a reply FIFO, the client's
 * socket address). listen() on such an address gives a DemuxListener whose accepted peers
 * are full Channels; connect() gives a DemuxClient (demux-client.ts). docs/wire-formats.md,
 * "Conversations".
 *
 * Liveness: the kernel tells neither side when the other dies here, so each side learns the
 * other's pid (HELLO, WELCOME) and a waiting side looks at it every LOOK_MS: a dead client's
 * peer ends with EOF (its reply object is removed), a dead server ends a client's wait with EOF.
 */
import type { PendingWait } from "../../ffi/waiter.ts";
import { type ChannelCaps } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { IpcError, ipcError } from "../errors.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { processAlive } from "../names/peer-watch.ts";
import { deadlineIn, remaining } from "../os/wait.ts";
import { acceptEach, type AcceptOptions, type Listener } from "./listener.ts";
import { Link, LINK_HEADER, linkFrame, type LinkHeader, putLink, readLink } from "./wire.ts";

/** How often a waiting side looks whether the other side's process still exists (ms). */
export const LOOK_MS = 250;

/** The way from the server to one client. */
export interface ReplyPath {
  /** send one frame, waiting at most `timeout` ms for room (-1 forever); false when there was none in time */
  send(frame: Uint8Array, timeout: number): boolean;
  /** let go of the way back; `clientGone`: the client died, so remove what it left (its reply queue) */
  close(clientGone: boolean): void;
}

/** A client's ends: frames go `out` to the server's shared object and come back `in` (may be the same channel). */
export interface ClientEnds {
  out: BaseChannel;
  in: BaseChannel;
  /** the HELLO payload: where the server sends replies (a queue name, a FIFO path, …) */
  where: string;
  /** send on `out` (System V: typed 1, the server's type) */
  send(frame: Uint8Array, timeout: number): boolean;
  close(): void;
}

/** The ends of a client that writes the server's object and reads a reply object of its own (mq, fifo); closing closes both. */
export function separateEnds(out: BaseChannel, back: BaseChannel, where: string): ClientEnds {
  return {
    out,
    in: back,
    where,
    send: (frame, timeout) => BaseChannel.rawSend(out, frame, timeout),
    close: () => {
      back.close();
      out.close();
    },
  };
}

/** What a queue-like mechanism supplies to converse. */
export interface DemuxParts {
  /** server: create the shared object clients write to */
  openShared(): BaseChannel;
  /** server: the way back to a client, from its HELLO */
  replyTo(shared: BaseChannel, hello: LinkHeader, where: string): ReplyPath;
  /** client: open its ends; `serial` tells this process's clients apart */
  openClient(serial: number): ClientEnds;
  /**
   * server, for a shared byte stream (fifo), after malformed input (EMSGSIZE, EPROTO): drop
   * it so the next frame is read in step; the bytes dropped. Message mechanisms keep
   * boundaries and need none.
   */
  resync?(shared: BaseChannel): number;
  /** the largest frame a client writes to the shared object, where less than the object carries (fifo: PIPE_BUF − 4) */
  readonly clientFrameMax?: number;
  /**
   * server: remove the reply object a client named in its HELLO (fifo: PATH.rPID-N) once
   * that client's process has gone and no peer of ours is left to do it (DemuxListener.orphan)
   */
  removeReply?(where: string): void;
}

let nextSerial = 1;
/** A number for a new client of this process (the link header's serial). */
export function clientSerial(): number {
  const s = nextSerial;
  nextSerial = (nextSerial % 511) + 1; // 1..511: 9 bits, as System V reply types hold pid and serial
  return s;
}

/** A PendingWait that ends when `wake` is called, after `timeout` ms, or when `inner` ends. */
export function wakeable(timeout: number, inner?: PendingWait): PendingWait & { wake(): void } {
  let wake!: () => void;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = new Promise<number>((resolve) => {
    wake = () => resolve(1);
    if (timeout >= 0) timer = setTimeout(() => resolve(0), timeout);
    inner?.result.then(resolve, () => resolve(0));
  }).finally(() => {
    clearTimeout(timer);
    inner?.cancel();
  });
  return { result, cancel: wake, wake };
}

/** Channel capabilities of one link over `shared`: its limits, less the header, both ways. */
export function linkCaps(shared: ChannelCaps): ChannelCaps {
  return { ...shared, maxMessageSize: Math.max(0, shared.maxMessageSize - LINK_HEADER), duplex: true, detectsPeerExit: true };
}

/** The server's side of a queue-like mechanism: reads the shared object, hands each client's frames to its peer. */
export class DemuxListener implements Listener {
  readonly address: string;
  readonly #parts: DemuxParts;
  readonly #shared: BaseChannel;
  readonly #rx: Uint8Array;
  readonly #peers = new Map<string, DemuxPeer>();
  readonly #arrivals: DemuxPeer[] = [];
  /** waits for a client (acceptAsync) */
  readonly #acceptWaits = new Set<{ wake(): void }>();
  #closed = false;
  #lastSweep = 0;

  constructor(address: string, parts: DemuxParts) {
    this.address = address;
    this.#parts = parts;
    this.#shared = parts.openShared();
    this.#rx = new Uint8Array(Math.min(parts.clientFrameMax ?? Infinity, this.#shared.caps.maxMessageSize));
    closeAtExit(this);
  }

  /** @inheritdoc */
  get closed(): boolean {
    return this.#closed;
  }

  /** the capabilities of each accepted peer */
  get peerCaps(): ChannelCaps {
    return linkCaps(this.#shared.caps);
  }

  /**
   * Take the frames waiting on the shared object (waiting at most `timeout` ms for the first)
   * and hand each to its peer. False when nothing came.
   */
  pump(timeout: number): boolean {
    if (this.#closed) return false;
    let got = false;
    for (let t = timeout;; t = 0) {
      let n: number;
      try {
        n = BaseChannel.rawRecv(this.#shared, this.#rx, t);
      } catch (e) {
        // EOF: every client that opened the shared object has exited; a server goes on
        if (e instanceof IpcError && e.code === "EOF") {
          this.sweep(true);
          return got;
        }
        // a frame longer than any client writes, or one no client wrote whole: garbage on a
        // shared stream, never the end of the server
        if (e instanceof IpcError && (e.code === "EMSGSIZE" || e.code === "EPROTO") && this.#resync()) continue;
        throw e;
      }
      if (n < 0) break;
      got = true;
      this.#dispatch(this.#rx.subarray(0, n));
    }
    this.sweep();
    return got;
  }

  /** Drop malformed input on a shared stream (saying so once); true when anything was dropped. */
  #resync(): boolean {
    const dropped = this.#parts.resync?.(this.#shared) ?? 0;
    if (dropped > 0 && !this.#warned) {
      this.#warned = true;
      console.error(
        `ipc-lab: ${this.address}: dropped ${dropped} bytes of malformed input (a writer that does not frame its messages as ipc-lab's clients do); reading on in step, and saying this once`,
      );
    }
    return dropped > 0;
  }
  #warned = false;

  #dispatch(frame: Uint8Array): void {
    const h = readLink(frame);
    if (!h) return; // not ours: a stray writer; drop it rather than stop every client
    const key = `${h.pid}:${h.serial}`;
    const peer = this.#peers.get(key);
    if (h.kind === Link.HELLO) {
      if (peer) peer.end(false); // the same pid and serial again: a new process reusing a dead one's pid
      const where = new TextDecoder().decode(frame.subarray(LINK_HEADER));
      let path: ReplyPath;
      try {
        path = this.#parts.replyTo(this.#shared, h, where);
      } catch {
        this.orphan(h.pid, where); // the client died before we got here
        return;
      }
      const fresh = new DemuxPeer(this, h, path, where);
      this.#peers.set(key, fresh);
      if (!path.send(linkFrame(Link.WELCOME, process.pid, h.serial), 0)) {
        this.#peers.delete(key);
        return void path.close(true);
      }
      this.#arrivals.push(fresh);
      for (const w of this.#acceptWaits) w.wake();
    } else if (peer && h.kind === Link.DATA) {
      peer.deliver(frame.slice(LINK_HEADER));
    } else if (peer && h.kind === Link.BYE) {
      peer.end(false);
    }
  }

  /** Look (at most every LOOK_MS, or now with `now`) whether each client's process still exists; end the dead ones' peers. */
  sweep(now = false): void {
    const t = performance.now();
    if (!now && t - this.#lastSweep < LOOK_MS) return;
    this.#lastSweep = t;
    for (const peer of this.#peers.values()) if (!processAlive(peer.clientPid)) peer.end(true);
    this.#orphans = this.#orphans.filter((o) => {
      if (processAlive(o.pid)) return true; // still exiting: next time
      this.#parts.removeReply!(o.where);
      return false;
    });
  }
  /** reply objects whose clients we can no longer reach, removed once their process is gone (sweep) */
  #orphans: { pid: number; where: string }[] = [];

  /**
   * Remove client `pid`'s reply object once that process has gone: it died before its HELLO
   * was read, or it stopped reading its replies (EPIPE) while still running — a client killed
   * later could not remove it, and no peer of ours would be left to notice.
   */
  orphan(pid: number, where: string): void {
    if (this.#parts.removeReply) this.#orphans.push({ pid, where });
  }

  /** A peer ended: forget it. */
  forget(peer: DemuxPeer): void {
    this.#peers.delete(`${peer.clientPid}:${peer.serial}`);
  }

  /** The shared object's second look on the JS thread: true when a frame may be there now. */
  lookShared(): boolean {
    return BaseChannel.lookAgain(this.#shared);
  }

  /**
   * A wait for the shared object to have a frame (or `wake`); sliced so liveness is looked
   * at. Every waiting peer and acceptor shares one off-thread wait: one thread wakes per
   * frame, not one per client.
   */
  waitShared(timeout: number): PendingWait & { wake(): void } {
    const slice = timeout < 0 ? LOOK_MS : Math.min(timeout, LOOK_MS);
    let w = this.#sharedWait;
    if (!w) {
      const pending = BaseChannel.readableWait(this.#shared, LOOK_MS);
      const fresh = { pending, users: 0 };
      w = this.#sharedWait = fresh;
      void pending.result.finally(() => {
        if (this.#sharedWait === fresh) this.#sharedWait = undefined;
      });
    }
    const shared = w;
    shared.users++;
    return wakeable(slice, {
      result: shared.pending.result,
      cancel: () => {
        if (--shared.users === 0) shared.pending.cancel(); // the last one out ends it
      },
    });
  }
  #sharedWait: { pending: PendingWait; users: number } | undefined;

  /** @inheritdoc */
  accept(opts: AcceptOptions = {}): DemuxPeer | undefined {
    this.#assertOpen("accept");
    const deadline = deadlineIn(opts.timeout);
    for (;;) {
      const peer = this.#arrivals.shift();
      if (peer) return peer;
      const left = remaining(deadline);
      if (left === 0 && deadline >= 0) return undefined;
      this.pump(left < 0 ? LOOK_MS : Math.min(left, LOOK_MS));
      if (deadline >= 0 && remaining(deadline) === 0 && this.#arrivals.length === 0) return undefined;
    }
  }

  /** @inheritdoc */
  async acceptAsync(opts: AcceptOptions = {}): Promise<DemuxPeer | undefined> {
    const deadline = deadlineIn(opts.timeout);
    for (;;) {
      if (this.#closed) return undefined;
      this.pump(0);
      const peer = this.#arrivals.shift();
      if (peer) return peer;
      const left = remaining(deadline);
      if (left === 0) return undefined;
      const w = this.waitShared(left);
      this.#acceptWaits.add(w);
      await w.result;
      this.#acceptWaits.delete(w);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<DemuxPeer> {
    return acceptEach(this) as AsyncGenerator<DemuxPeer>;
  }

  #assertOpen(op: string): void {
    if (this.#closed) throw ipcError("ECLOSED", op, this.address, "this listener was closed");
  }

  /** Stop: every peer's client gets CLOSE (EOF), the shared object and its name go. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    forgetAtExit(this);
    for (const w of this.#acceptWaits) w.wake();
    for (const peer of [...this.#peers.values()]) peer.close();
    for (const peer of this.#arrivals) peer.close();
    this.sweep(true); // what clients that died before their HELLO was read left behind
    this.#shared.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The server's channel to one client of a DemuxListener. */
class DemuxPeer extends BaseChannel {
  readonly caps: ChannelCaps;
  /** the client's process */
  readonly clientPid: number;
  /** the client's number within its process */
  readonly serial: number;
  readonly #listener: DemuxListener;
  readonly #path: ReplyPath;
  readonly #inbox: Uint8Array[] = [];
  #ended: "no" | "bye" | "died" = "no";
  #wait: { wake(): void } | undefined;
  #tx = new Uint8Array(0);

  /** where the client said its replies go (its HELLO) */
  readonly #where: string;

  constructor(listener: DemuxListener, hello: LinkHeader, path: ReplyPath, where: string) {
    super(`${listener.address}#${hello.pid}.${hello.serial}`);
    this.caps = listener.peerCaps;
    this.clientPid = hello.pid;
    this.serial = hello.serial;
    this.#listener = listener;
    this.#path = path;
    this.#where = where;
  }

  /** A message from the client (the listener's pump). */
  deliver(payload: Uint8Array): void {
    this.#inbox.push(payload);
    this.#wait?.wake();
  }

  /** The client said BYE, or died: once its messages are taken, receives end with EOF. */
  end(died: boolean): void {
    if (this.#ended !== "no") return;
    this.#ended = died ? "died" : "bye";
    this.#listener.forget(this);
    if (died) this.#path.close(true);
    this.#wait?.wake();
  }

  protected sendImpl(msg: Uint8Array, timeout: number): boolean {
    if (this.#ended !== "no") {
      throw ipcError(
        "EPIPE",
        "send",
        this.address,
        `the client (pid ${this.clientPid}) ${this.#ended === "died" ? "has exited" : "has closed its end"}: no one will read this`,
      );
    }
    const need = LINK_HEADER + msg.byteLength;
    if (this.#tx.byteLength < need) this.#tx = new Uint8Array(Math.max(need, 256));
    const frame = this.#tx.subarray(0, need);
    putLink(frame, Link.DATA, process.pid, this.serial);
    frame.set(msg, LINK_HEADER);
    const deadline = deadlineIn(timeout);
    for (;;) {
      const left = remaining(deadline);
      if (this.#path.send(frame, left < 0 ? LOOK_MS : Math.min(left, LOOK_MS))) return true;
      if (!processAlive(this.clientPid)) {
        this.end(true);
        return this.sendImpl(msg, 0); // throws EPIPE
      }
      if (deadline >= 0 && remaining(deadline) === 0) return false;
    }
  }

  protected recvImpl(buf: Uint8Array, timeout: number): number {
    const deadline = deadlineIn(timeout);
    for (;;) {
      const m = this.#inbox[0];
      if (m) {
        if (m.byteLength > buf.byteLength) {
          throw ipcError("EMSGSIZE", "recv", this.address, `the message is ${m.byteLength} bytes, the buffer ${buf.byteLength}: it is kept`);
        }
        this.#inbox.shift();
        buf.set(m);
        return m.byteLength;
      }
      if (this.#ended !== "no") {
        throw ipcError(
          "EOF",
          "recv",
          this.address,
          `the client (pid ${this.clientPid}) ${this.#ended === "died" ? "has exited" : "has closed its end"}: no more messages will come`,
        );
      }
      const left = remaining(deadline);
      if (left === 0 && deadline >= 0) {
        if (timeout === 0 && this.#listener.pump(0)) continue;
        return -1;
      }
      this.#listener.pump(left < 0 ? LOOK_MS : Math.min(left, LOOK_MS));
    }
  }

  protected override readableSoon(): boolean {
    if (this.#inbox.length > 0 || this.#ended !== "no") return true;
    // the shared object's own second look (a short spin before a thread handoff), then take what came
    return this.#listener.lookShared() && this.#listener.pump(0) && (this.#inbox.length > 0 || this.#ended !== "no");
  }

  protected waitReadable(timeout: number): PendingWait {
    if (this.#inbox.length > 0 || this.#ended !== "no") return { result: Promise.resolve(1), cancel: () => {} };
    const w = this.#listener.waitShared(timeout);
    this.#wait = w;
    w.result.finally(() => {
      if (this.#wait === w) this.#wait = undefined;
    });
    return w;
  }

  protected closeImpl(): void {
    if (this.#ended === "died") return; // end(true) let go of the way back already
    // a client that died unseen (say, while its reply was being written: EPIPE) leaves its
    // reply queue or FIFO for us to remove, whoever closes the peer
    const gone = !processAlive(this.clientPid);
    if (this.#ended === "no") {
      try {
        if (!gone) this.#path.send(linkFrame(Link.CLOSE, process.pid, this.serial), 0);
      } catch {
        // it went meanwhile: nobody to tell
      }
      this.#ended = gone ? "died" : "bye";
      this.#listener.forget(this);
      if (!gone) this.#listener.orphan(this.clientPid, this.#where); // it said no BYE: it may die holding its reply object
    }
    this.#path.close(gone);
  }
}
