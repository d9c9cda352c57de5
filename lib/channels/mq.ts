/**
 * POSIX message queues: `mq:/name`. One message is one kernel message (no header), so a
 * C program using mq_send/mq_receive on the same name speaks the same wire format. A
 * queue is shared: any process may send and any may receive (caps.duplex is false: use
 * two queues for request/response).
 */
import { C } from "../../ffi/facts.ts";
import { cstr, libc, shim } from "../../ffi/runtime.ts";
import { type PendingWait, pollAsync } from "../../ffi/waiter.ts";
import { type Address, checkPosixName } from "../address.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { checkNeg, errnoError, errnoName, ipcError, tooBigKept } from "../errors.ts";
import { mqLimits } from "../os/limits.ts";
import { createOrOpen, PeerSpin } from "../os/wait.ts";
import { PeerWatch } from "../names/peer-watch.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { mqNames } from "../names/kinds.ts";
import { unregister } from "../names/registry.ts";
import { parseAddress } from "../address.ts";
import { DemuxListener, type DemuxParts, separateEnds } from "../link/demux.ts";
import { DemuxClient } from "../link/demux-client.ts";

/** Options for POSIX queues. */
export interface MqOptions {
  /** create the queue if missing; the creator unlinks it on close */
  create?: boolean;
  /** with create: fail with EEXIST if it exists already */
  exclusive?: boolean;
  /** permission bits for a new queue (default 0o600) */
  mode?: number;
  /** messages the queue holds (mq_maxmsg; default min(10, msg_max)) */
  capacity?: number;
  /** largest message in bytes (mq_msgsize; default min(8192, msgsize_max)) */
  maxMessageSize?: number;
  /** milliseconds to wait for a queue that does not exist yet (default 0) */
  timeout?: number;
}

/** Highest priority Linux accepts (MQ_PRIO_MAX - 1). */
export const MQ_PRIO_MAX = 32767;

function limitError(addr: Address, what: string, asked: number, max: number, file: string): never {
  throw ipcError(
    "EINVAL",
    "mq_open",
    addr.text,
    `${what} ${asked} exceeds this system's ${file.split("/").pop()} of ${max} (${file}); ask for at most ${max}, or raise it as root: sysctl fs.mqueue.${
      file.split("/").pop()
    }=${asked}`,
  );
}

/** A POSIX message queue. */
export class MqChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  readonly #name: string;
  readonly #owner: boolean;
  /** the other side (an opener's creator, a creator's openers), whose death ends waits nothing else would end */
  readonly #peer: PeerWatch;
  #q: number;
  #priority = 0;
  /** a received message that did not fit the caller's buffer, kept for the next receive */
  #stash: Uint8Array | undefined;
  readonly #prioOut = new Uint32Array(1);

  constructor(addr: Address, opts: MqOptions) {
    const name = checkPosixName(addr);
    const limits = mqLimits();
    const capacity = opts.capacity ?? Math.min(10, limits.msgMax);
    const msgsize = opts.maxMessageSize ?? Math.min(8192, limits.msgsizeMax);
    if (opts.create) {
      if (!Number.isInteger(capacity) || capacity < 1) {
        throw ipcError("EINVAL", "mq_open", addr.text, `capacity must be a whole number of messages >= 1 (got ${capacity})`);
      }
      if (!Number.isInteger(msgsize) || msgsize < 1) {
        throw ipcError("EINVAL", "mq_open", addr.text, `maxMessageSize must be a whole number of bytes >= 1 (got ${msgsize})`);
      }
      if (capacity > limits.msgMax) limitError(addr, "capacity", capacity, limits.msgMax, "/proc/sys/fs/mqueue/msg_max");
      if (msgsize > limits.msgsizeMax) limitError(addr, "maxMessageSize", msgsize, limits.msgsizeMax, "/proc/sys/fs/mqueue/msgsize_max");
    }
    const cname = cstr(name);
    const flags = C.O_RDWR | C.O_CLOEXEC;
    const { fd: q, owner } = createOrOpen(
      opts,
      () => shim.ipcl_mq_open(cname, flags | C.O_CREAT | C.O_EXCL, opts.mode ?? 0o600, capacity, msgsize),
      () => shim.ipcl_mq_open(cname, flags, 0, 0, 0),
      "mq_open",
      addr.text,
      `no queue ${name}`,
      mqHint,
    );
    super(addr.text);
    this.#q = q;
    this.#name = name;
    this.#owner = owner;
    this.#peer = owner ? PeerWatch.onOpeners(this.address) : PeerWatch.onCreator(this.address);
    const attr = new Float64Array(4);
    checkNeg(shim.ipcl_mq_getattr(q, attr), "mq_getattr", addr.text);
    this.caps = {
      mechanism: "mq",
      maxMessageSize: attr[2]!,
      duplex: false,
      boundaries: "kernel",
      capacity: attr[1]!,
      capacityUnit: "messages",
      crossesHosts: false,
      detectsPeerExit: false,
    };
    if (owner) closeAtExit(this, this.address);
  }

  /** true when this end created the queue (and will unlink it). */
  get owner(): boolean {
    return this.#owner;
  }

  /** Priority of the last message received. */
  get lastPriority(): number {
    return this.#priority;
  }

  /** Messages in the queue right now. */
  get depth(): number {
    const attr = new Float64Array(4);
    checkNeg(shim.ipcl_mq_getattr(this.#q, attr), "mq_getattr", this.address);
    return attr[3]!;
  }

  protected override get sizeNoun(): string {
    return "this queue's";
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, opts: SendOptions | undefined): boolean {
    const prio = opts?.priority ?? 0;
    if (!Number.isInteger(prio) || prio < 0 || prio > MQ_PRIO_MAX) {
      throw ipcError("EINVAL", "mq_send", this.address, `priority must be a whole number from 0 to ${MQ_PRIO_MAX} (got ${prio})`);
    }
    let r: number | "gone" = shim.ipcl_mq_send(this.#q, msg, msg.byteLength, prio, this.#peer.slice(timeout));
    if (idle(r)) r = this.#peer.afterIdle(r, timeout, idle, (ms) => shim.ipcl_mq_send(this.#q, msg, msg.byteLength, prio, ms));
    if (r === "gone") throw ipcError("EPIPE", "mq_send", this.address, this.#peer.sendMessage());
    if (r === 0) return true;
    if (r === -C.ETIMEDOUT || r === -C.EAGAIN) return false;
    throw errnoError(-r, "mq_send", this.address);
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    const max = this.caps.maxMessageSize;
    if (this.#stash) {
      const m = this.#stash;
      if (m.byteLength > buf.byteLength) throw this.#tooBig(m.byteLength, buf.byteLength);
      buf.set(m);
      this.#stash = undefined;
      return m.byteLength;
    }
    // mq_receive needs a buffer of mq_msgsize bytes even for a short message
    const target = buf.byteLength >= max ? buf : this.rxBuffer();
    const first = this.#lookFirst();
    let r: number | "gone" = shim.ipcl_mq_receive(this.#q, target, max, this.#prioOut, this.#peer.slice(timeout), first);
    if (idle(r)) r = this.#peer.afterIdle(r, timeout, idle, (ms) => shim.ipcl_mq_receive(this.#q, target, max, this.#prioOut, ms, first));
    if (r === "gone") throw ipcError("EOF", "mq_receive", this.address, this.#peer.recvMessage());
    if (idle(r)) return -1;
    checkNeg(r, "mq_receive", this.address);
    this.#priority = this.#prioOut[0]!;
    if (target === buf) return r;
    if (r > buf.byteLength) {
      this.#stash = target.slice(0, r);
      throw this.#tooBig(r, buf.byteLength);
    }
    buf.set(target.subarray(0, r));
    return r;
  }

  /**
   * Whether a receive that may wait first tries without waiting (1) or waits at once (0).
   * At once when the other side can run only on our one CPU: it cannot have sent anything
   * since our last look, and the try is a system call the wait makes anyway — one of three
   * per message of a ping-pong on one CPU (~1 µs each on a VM with costly system calls).
   * Otherwise the try stays: across CPUs it is a short spin that can spare a sleep.
   */
  #lookFirst(): number {
    return this.#cpus.pays(this.#peer.pid()) === false ? 0 : 1;
  }
  readonly #cpus = new PeerSpin();

  #tooBig(n: number, cap: number) {
    return tooBigKept(n, cap, "recvInto", this.address);
  }

  protected override waitReadable(timeout: number): PendingWait {
    // on Linux a message queue descriptor is a pollable file descriptor
    return pollAsync(this.#q, C.POLLIN, this.#peer.slice(timeout));
  }

  protected override waitWritable(timeout: number): PendingWait {
    return pollAsync(this.#q, C.POLLOUT, this.#peer.slice(timeout));
  }

  protected override readinessFd(): number {
    return this.#q;
  }

  protected override closeImpl(): void {
    this.#peer.close();
    libc.mq_close(this.#q);
    this.#q = -1;
    if (this.#owner) {
      libc.mq_unlink(cstr(this.#name));
      forgetAtExit(this, this.address);
    }
  }
}

/** A queue call that found nothing to do (empty, full, or out of time). */
const idle = (r: number) => r === -C.ETIMEDOUT || r === -C.EAGAIN;

const mqHints: Record<string, string> = {
  EINVAL: "the name or the attributes are invalid (see `ipc-lab info` for this system's mqueue limits)",
  EMFILE: "RLIMIT_MSGQUEUE (bytes of queues per user) or the open-file limit is exhausted: close queues, or raise `ulimit -q` / `ulimit -n`",
  ENOSPC: "the system-wide number of queues (/proc/sys/fs/mqueue/queues_max) is reached: remove stale queues (`ipc-lab gc`)",
};

function mqHint(errno: number): string | undefined {
  return mqHints[errnoName(errno)];
}

/** Messages a client's reply queue holds unless `capacity` says otherwise. */
const REPLY_QUEUE_MESSAGES = 4;

/** Remove a queue whatever made it (a dead client's reply queue). */
function removeQueue(address: string): void {
  unregister(address);
  mqNames.remove(parseAddress(address));
}

/**
 * Conversations the POSIX way: the address is the server's request queue, which every
 * client writes; each client makes its own reply queue, NAME.rPID-N, named in its HELLO.
 */
function mqParts(addr: Address, opts: MqOptions): DemuxParts {
  return {
    openShared: () => new MqChannel(addr, { ...opts, create: true, exclusive: true }),
    replyTo: (_shared, _hello, where) => {
      const back = new MqChannel(parseAddress(`mq:${where}`), {});
      return {
        send: (frame, timeout) => BaseChannel.rawSend(back, frame, timeout),
        close: (clientGone) => {
          back.close();
          if (clientGone) removeQueue(`mq:${where}`);
        },
      };
    },
    openClient: (serial) => {
      const out = new MqChannel(addr, { timeout: opts.timeout });
      const where = `${checkPosixName(addr)}.r${process.pid}-${serial}`;
      // a client waits for its replies one at a time: a small queue (RLIMIT_MSGQUEUE counts every queue's bytes per user)
      const replies = { create: true, exclusive: true, maxMessageSize: out.caps.maxMessageSize, capacity: opts.capacity ?? REPLY_QUEUE_MESSAGES };
      let back: MqChannel;
      try {
        back = new MqChannel(parseAddress(`mq:${where}`), replies);
      } catch (e) {
        if (!(e instanceof Error && "code" in e && e.code === "EEXIST")) throw e;
        removeQueue(`mq:${where}`); // left by a dead process that had our pid
        back = new MqChannel(parseAddress(`mq:${where}`), replies);
      }
      return separateEnds(out, back, where);
    },
  };
}

/** The `mq:` mechanism. */
export const mq = mechanism<MqOptions>()({
  scheme: "mq",
  describe: "mq:/name — a POSIX message queue",
  options: optionNames<MqOptions>()("create", "exclusive", "mode", "capacity", "maxMessageSize", "timeout"),
  open: (a, o) => new MqChannel(a, o),
  traits: { ...usualTraits, boundaries: "kernel", duplex: false, detectsPeerExit: false, pollable: true, maxMessageSize: 8192 },
  names: mqNames,
  sample: (u) => `mq:/${u.tag}`,
  converse: {
    pattern: "a request queue (the address) that every client writes, plus a reply queue per client (NAME.rPID-N)",
    listen: (a, o) => new DemuxListener(a.text, mqParts(a, o)),
    connect: (a, o) => new DemuxClient(a.text, mqParts(a, o), a.text),
  },
});
