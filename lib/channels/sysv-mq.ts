/**
 * System V message queues: `sysv-mq:KEY` or `sysv-mq:/path` (ftok(path, 'I')). One message
 * is one kernel message whose mtext is the payload; its mtype (send option `type`, default
 * the channel's sendType, 1) can select
 * what a receiver takes: type 0 the first message, N > 0 the first of type N, N < 0 the
 * first of the lowest type <= |N|. The creator removes the queue (IPC_RMID) on close.
 */
import { C } from "../../ffi/facts.ts";
import { shim } from "../../ffi/runtime.ts";
import { msgWaitAsync, type PendingWait } from "../../ffi/waiter.ts";
import type { Address } from "../address.ts";
import { type ChannelCaps, type RecvOptions, type SendOptions, timeoutMs } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { checkNeg, errnoError, ipcError, tooBigKept } from "../errors.ts";
import { sysvMsgLimits } from "../os/limits.ts";
import { sysvKey } from "../os/sysv-key.ts";
import { Backoff, createOrOpen, SecondLook } from "../os/wait.ts";
import { PeerWatch } from "../names/peer-watch.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { sysvNames } from "../names/kinds.ts";
import { DemuxListener, type DemuxParts } from "../link/demux.ts";
import { DemuxClient } from "../link/demux-client.ts";
import type { LinkHeader } from "../link/wire.ts";

/** Options for System V queues. */
export interface SysvMqOptions {
  /** create the queue if missing; the creator removes it on close */
  create?: boolean;
  /** with create: fail with EEXIST if it exists */
  exclusive?: boolean;
  /** permission bits for a new queue (default 0o600) */
  mode?: number;
  /** largest message (default and limit: /proc/sys/kernel/msgmax) */
  maxMessageSize?: number;
  /** milliseconds to wait for a queue that does not exist yet (default 0) */
  timeout?: number;
  /** mtype this end sends with (default 1) */
  sendType?: number;
  /** which messages this end receives: 0 any (default), N > 0 type N, N < 0 lowest type <= |N| */
  receiveType?: number;
}

/** A receive that found nothing (empty, or out of time). */
const idle = (x: number) => x === -C.ENOMSG || x === -C.ETIMEDOUT;
/** A send that found no room (full, or out of time). */
const full = (x: number) => x === -C.EAGAIN || x === -C.ETIMEDOUT;

function checkType(t: number, what: string, address: string, allowZero: boolean): number {
  if (!Number.isInteger(t) || (allowZero ? false : t <= 0) || Math.abs(t) > 0x7fffffff) {
    throw ipcError(
      "EINVAL",
      "msgsnd",
      address,
      `${what} must be a whole number ${allowZero ? "(0 any, N that type, -N lowest type <= N)" : "> 0"} within 32 bits (got ${t})`,
    );
  }
  return t;
}

/** A System V message queue. */
export class SysvMqChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  readonly #id: number;
  readonly #owner: boolean;
  /** the other side (an opener's creator, a creator's openers), whose death ends waits nothing else would end */
  readonly #peer: PeerWatch;
  readonly #sendType: number;
  readonly #receiveType: number;
  readonly #typeOut = new Float64Array(1);
  #lastType = 0;
  #stash: { data: Uint8Array; type: number } | undefined;

  constructor(addr: Address, opts: SysvMqOptions) {
    const key = sysvKey(addr);
    const limits = sysvMsgLimits();
    const max = opts.maxMessageSize ?? limits.msgmax;
    if (!Number.isInteger(max) || max < 0 || max > limits.msgmax) {
      throw ipcError(
        "EINVAL",
        "msgget",
        addr.text,
        `maxMessageSize ${max} exceeds this system's msgmax of ${limits.msgmax} (/proc/sys/kernel/msgmax); ask for at most ${limits.msgmax}, or raise it as root: sysctl kernel.msgmax=${max}`,
      );
    }
    const { fd: id, owner } = createOrOpen(
      opts,
      () => shim.ipcl_msgget(key, C.IPC_CREAT | C.IPC_EXCL | (opts.mode ?? 0o600)),
      () => shim.ipcl_msgget(key, 0),
      "msgget",
      addr.text,
      `no queue with key ${addr.name}`,
    );
    super(addr.text);
    this.#id = id;
    this.#owner = owner;
    this.#peer = owner ? PeerWatch.onOpeners(this.address) : PeerWatch.onCreator(this.address);
    this.#sendType = checkType(opts.sendType ?? 1, "sendType", addr.text, false);
    this.#receiveType = checkType(opts.receiveType ?? 0, "receiveType", addr.text, true);
    const stat = new Float64Array(4);
    checkNeg(shim.ipcl_msg_stat(id, stat), "msgctl", addr.text);
    this.caps = {
      mechanism: "sysv-mq",
      maxMessageSize: max,
      duplex: false,
      boundaries: "kernel",
      capacity: stat[1]!,
      capacityUnit: "bytes",
      crossesHosts: false,
      detectsPeerExit: false,
    };
    if (owner) closeAtExit(this, this.address);
  }

  /** The queue id (msqid). */
  get id(): number {
    return this.#id;
  }

  /** mtype of the last message received. */
  get lastType(): number {
    return this.#lastType;
  }

  /** Messages queued now (msg_qnum). */
  get depth(): number {
    const stat = new Float64Array(4);
    checkNeg(shim.ipcl_msg_stat(this.#id, stat), "msgctl", this.address);
    return stat[0]!;
  }

  protected override get sizeNoun(): string {
    return "this queue's";
  }

  /** Receive the first message matching `type` (0 any, N that type, -N lowest <= N). */
  recvTyped(type: number, opts?: RecvOptions): Uint8Array {
    this.assertOpen("recv");
    checkType(type, "type", this.address, true);
    const t = timeoutMs(opts, "recv", this.address);
    const buf = this.rxBuffer();
    const n = this.#receive(buf, t, type);
    if (n < 0) throw errnoError(C.ETIMEDOUT, "msgrcv", this.address, `no message of type ${type} within ${t} ms`);
    return buf.slice(0, n);
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, opts: SendOptions | undefined): boolean {
    const type = opts?.messageType === undefined ? this.#sendType : checkType(opts.messageType, "messageType", this.address, false);
    let r: number | "gone" = shim.ipcl_msgsnd(this.#id, type, msg, msg.byteLength, this.#slice(timeout));
    if (timeout >= 0 && full(r)) r = this.#peer.afterIdle(r, timeout, full, (ms) => shim.ipcl_msgsnd(this.#id, type, msg, msg.byteLength, ms));
    if (r === "gone") throw ipcError("EPIPE", "msgsnd", this.address, this.#peer.sendMessage());
    if (r === 0) return true;
    if (full(r)) return false;
    if (r === -C.EIDRM || r === -C.EINVAL) throw errnoError(-r, "msgsnd", this.address, "the queue was removed (its creator closed it)");
    throw errnoError(-r, "msgsnd", this.address);
  }

  #receive(buf: Uint8Array, timeout: number, type: number): number {
    const max = this.caps.maxMessageSize;
    if (this.#stash && (type === 0 || type === this.#stash.type || (type < 0 && this.#stash.type <= -type))) {
      const { data, type: t } = this.#stash;
      if (data.byteLength > buf.byteLength) throw this.#tooBig(data.byteLength, buf.byteLength);
      buf.set(data);
      this.#stash = undefined;
      this.#lastType = t;
      return data.byteLength;
    }
    const target = buf.byteLength >= max ? buf : this.rxBuffer();
    let r: number | "gone" = shim.ipcl_msgrcv(this.#id, target, max, type, this.#typeOut, this.#slice(timeout), null);
    if (timeout >= 0 && idle(r)) r = this.#peer.afterIdle(r, timeout, idle, (ms) => shim.ipcl_msgrcv(this.#id, target, max, type, this.#typeOut, ms, null));
    if (r === "gone") throw ipcError("EOF", "msgrcv", this.address, this.#peer.recvMessage());
    this.#judgeCountWait(!idle(r));
    if (idle(r)) return -1;
    if (r === -C.EIDRM) throw errnoError(C.EIDRM, "msgrcv", this.address, "the queue was removed (its creator closed it)");
    checkNeg(r, "msgrcv", this.address);
    this.#backoff.reset();
    if (target !== buf && r > buf.byteLength) {
      this.#stash = { data: target.slice(0, r), type: this.#typeOut[0]! };
      throw this.#tooBig(r, buf.byteLength);
    }
    if (target !== buf) buf.set(target.subarray(0, r));
    this.#lastType = this.#typeOut[0]!;
    return r;
  }

  /**
   * How long one call waits. System V calls cannot wait in the kernel for a limited time:
   * a wait without a limit blocks in msgrcv/msgsnd (woken at once by the peer) and cannot
   * look at the peers; a limited one polls with growing naps, in slices that can.
   */
  #slice(timeout: number): number {
    return timeout < 0 ? -1 : this.#peer.slice(timeout);
  }

  #tooBig(n: number, cap: number) {
    return tooBigKept(n, cap, "recvInto", this.address);
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    return this.#receive(buf, timeout, this.#receiveType);
  }

  protected override waitReadable(timeout: number): PendingWait {
    // no descriptor to poll: a waiter thread looks at the message count (20 µs .. 1 ms apart).
    // With a receiveType the count includes messages not for us (a server's unread replies,
    // other clients'): after a wake that brought nothing of our type, one wait on a timer
    // back-off instead, so such messages cannot keep us spinning.
    if (this.#receiveType !== 0) {
      if (this.#countMisled) {
        this.#countMisled = false;
        return this.#backoff.wait(timeout);
      }
      this.#countWaited = true;
    }
    return msgWaitAsync(this.#id, this.#peer.slice(timeout));
  }
  readonly #backoff = new Backoff();
  /** the last wait was on the message count (typed receive) */
  #countWaited = false;
  /** ... and the receive after it found nothing of our type */
  #countMisled = false;

  /** After a receive: whether a count wait before it misled us (see waitReadable). */
  #judgeCountWait(got: boolean): void {
    if (!this.#countWaited) return;
    this.#countWaited = false;
    this.#countMisled = !got;
  }

  /**
   * Before the wait: look again for a while (SecondLook) — at the message count, or, with a
   * receiveType (the count includes messages of other types), by taking a message of our
   * type without waiting; it is kept for the receive that follows.
   */
  protected override readableSoon(): boolean {
    if (this.#stash) return true;
    if (this.#receiveType !== 0) return this.#look.look(() => this.#takeTyped());
    return this.#look.look(() => shim.ipcl_msg_stat(this.#id, this.#stat) === 0 && this.#stat[0]! > 0);
  }

  /** Take a message of our receiveType if one is there (IPC_NOWAIT) into the stash; true if one was. */
  #takeTyped(): boolean {
    const buf = this.rxBuffer();
    const r = shim.ipcl_msgrcv(this.#id, buf, buf.byteLength, this.#receiveType, this.#typeOut, 0, null);
    if (r < 0) return false;
    this.#stash = { data: buf.slice(0, r), type: this.#typeOut[0]! };
    this.#backoff.reset();
    return true;
  }
  readonly #look = new SecondLook();
  readonly #stat = new Float64Array(4);

  protected override closeImpl(): void {
    this.#peer.close();
    if (this.#owner) {
      shim.ipcl_msg_remove(this.#id);
      forgetAtExit(this, this.address);
    }
  }
}

/** Requests go to the server typed 1. */
const REQUEST_TYPE = 1;
/** The mtype of a client's replies: its pid plus its serial above bit 22 (pid_max is at most 2^22), so never 1. */
const replyType = (pid: number, serial: number) => serial * 0x400000 + pid;

/**
 * Conversations the System V way (the textbook use of message types): one queue; requests
 * are typed 1, and each client's replies are typed with its pid (plus its serial), which
 * it alone receives.
 */
function sysvParts(addr: Address, opts: SysvMqOptions): DemuxParts {
  return {
    openShared: () => new SysvMqChannel(addr, { ...opts, create: true, exclusive: true, receiveType: REQUEST_TYPE }),
    replyTo: (shared, hello: LinkHeader) => {
      const type = replyType(hello.pid, hello.serial);
      return {
        send: (frame, timeout) => BaseChannel.rawSend(shared, frame, timeout, { messageType: type }),
        close: (clientGone) => {
          if (!clientGone) return;
          // replies no one will take would fill the queue for everyone: drop them
          try {
            for (let i = 0; i < 10_000; i++) (shared as SysvMqChannel).recvTyped(type, { timeout: 0 });
          } catch {
            // ETIMEDOUT: none left
          }
        },
      };
    },
    openClient: (serial) => {
      const type = replyType(process.pid, serial);
      const ch = new SysvMqChannel(addr, { timeout: opts.timeout, sendType: REQUEST_TYPE, receiveType: type });
      return { out: ch, in: ch, where: String(type), send: (frame, timeout) => BaseChannel.rawSend(ch, frame, timeout), close: () => ch.close() };
    },
  };
}

/** The `sysv-mq:` mechanism. */
export const sysvMq = mechanism<SysvMqOptions>()({
  scheme: "sysv-mq",
  describe: "sysv-mq:KEY or sysv-mq:/path — a System V message queue",
  options: optionNames<SysvMqOptions>()("create", "exclusive", "mode", "maxMessageSize", "timeout", "sendType", "receiveType"),
  open: (a, o) => new SysvMqChannel(a, o),
  traits: { ...usualTraits, boundaries: "kernel", duplex: false, detectsPeerExit: false, pollable: false, maxMessageSize: 8192 },
  names: sysvNames("msg"),
  sample: (u) => `sysv-mq:${u.key}`,
  converse: {
    pattern: "one queue: requests typed 1, each client's replies typed with its pid (plus serial × 2^22)",
    listen: (a, o) => new DemuxListener(a.text, sysvParts(a, o)),
    connect: (a, o) => new DemuxClient(a.text, sysvParts(a, o), a.text),
  },
});
