/**
 * `nats://HOST:PORT/SUBJECT` (and `nats:SUBJECT` on NATS_URL): the Channel contract, serve
 * and request across hosts on a NATS server. Subjects are topics (every subscriber gets every
 * message published after it subscribed), `?queue=GROUP` a queue group (each message to one
 * member), `?durable=NAME` a JetStream work queue (kept while no consumer runs, acknowledged
 * once recv hands it over). docs/nats.md says what each promises.
 *
 * The official client lives on one Worker of this process (nats-thread.ts), loaded only
 * when a nats address is first opened. Each channel is a SharedArrayBuffer ring to it: a
 * synchronous recv blocks on the ring (the client's event loop runs on its own thread),
 * async calls park off the JS thread as on every ring. Conversations keep ipc-lab's turn
 * header inside the process: the wire carries plain NATS requests and replies.
 */
import { readdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { siblingModule } from "../../ffi/paths.ts";
import type { Address } from "../address.ts";
import type { ChannelCaps, SendOptions } from "../channel.ts";
import { ipcError } from "../errors.ts";
import { OnePeerListener } from "../link/listener.ts";
import { TURN_HEADER } from "../link/wire.ts";
import { mechanism } from "../mechanism.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { optionNames } from "../options.ts";
import { throwIfStopped } from "../os/stop.ts";
import { deadlineIn } from "../os/wait.ts";
import { RingChannel } from "../ring/channel.ts";
import { initRingHeader, type RingGeometry, ringGeometry, ringObjectSize } from "../ring/layout.ts";
import { CONTROL_SIZE, Ctl, natsCaps, type NatsOpen, type NatsRole, State, takeText } from "./nats-bridge.ts";
import { type NatsAddress, parseNatsAddress } from "./nats-address.ts";
import { NatsLoopChannel } from "./nats-loop.ts";

/** Options of nats addresses. */
export interface NatsOptions {
  /** bytes per direction of the ring between the caller and the NATS thread, a power of two (default 2 MiB; the largest message is the smaller of half of it and the server's max_payload) */
  capacity?: number;
  /** ?durable= queues: ms a message may stay unacknowledged (its consumer died, or never took it) before the server delivers it again (default 30 000) */
  ackWaitMs?: number;
  /** ms close() waits for what was sent to reach the server (default 5000) */
  lingerMs?: number;
  /**
   * false: run the client on this thread's event loop — no hand-off between threads per
   * message, but calls that would block (a sync recv with a timeout) are ENOTSUP. serve()
   * and request() always do (they only make async calls). Default true: the NATS thread.
   */
  thread?: boolean;
}

/** How long open() waits for the server when no timeout is given. */
const CONNECT_MS = 5000;
/** The slice a blocked open() or close() waits in, looking for a stop signal between slices. */
const SLICE_MS = 100;

let thread: Worker | undefined;
let threadFds: number[] = [];

/** This process's open descriptor numbers. */
function fds(): number[] {
  return readdirSync("/proc/self/fd").map(Number);
}

/**
 * The NATS thread of this process, started on the first nats open and kept for the
 * process's life (it never keeps the process alive). The start waits until the thread's
 * module has run, so the descriptors its runtime opened for it are known (natsThreadFds).
 */
function natsThread(): Worker {
  if (thread) return thread;
  const before = new Set(fds());
  const hello = new SharedArrayBuffer(4);
  thread = new Worker(siblingModule(import.meta.url, "nats-thread"), { workerData: { hello } });
  thread.unref();
  thread.on("error", (e) => console.error("ipc-lab: the NATS thread failed:", e));
  Atomics.wait(new Int32Array(hello), 0, 0, 10_000);
  threadFds = fds().filter((fd) => !before.has(fd));
  return thread;
}

/** Descriptors the runtime opened for the NATS thread (kept while it lives, as a thread pool's): for leak checks. */
export function natsThreadFds(): readonly number[] {
  return threadFds;
}

/** Wait (blocking, in slices that look for stop signals) until the control state leaves `from`; false on timeout. */
function waitState(control: Int32Array, from: number, ms: number, op: string, address: string): boolean {
  const deadline = deadlineIn(ms, Infinity);
  while (Atomics.load(control, Ctl.state) === from) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(control, Ctl.state, from, Math.min(left, SLICE_MS));
    throwIfStopped(op, address);
  }
  return true;
}

/** One nats channel: a ring to the NATS thread, which publishes and subscribes for it. */
export class NatsChannel extends RingChannel {
  /** @inheritdoc */
  override readonly caps: ChannelCaps;
  /** the parsed address: server, subject, queue group or durable name */
  readonly nats: NatsAddress;
  readonly #control: Int32Array;
  readonly #controlBuffer: SharedArrayBuffer;
  readonly #counts: boolean;
  readonly #lingerMs: number;

  constructor(address: string, a: NatsAddress, ring: SharedArrayBuffer, g: RingGeometry, control: SharedArrayBuffer, role: NatsRole, lingerMs: number) {
    super(address, "nats", { base: ring, size: ring.byteLength, release: () => {}, peerExitVisible: false }, 0, g);
    this.nats = a;
    this.#controlBuffer = control;
    this.#control = new Int32Array(control);
    this.#counts = a.durable !== undefined;
    this.#lingerMs = lingerMs;
    // the peer is a thread of this process: spinning before a sleep pays unless we may use one CPU only (PeerSpin)
    this.expectPeer(process.pid);
    const header = role === "channel" ? 0 : TURN_HEADER;
    this.caps = natsCaps(Math.min(g.maxMessage, Atomics.load(this.#control, Ctl.maxPayload) + header), a.durable !== undefined || role !== "channel");
  }

  /** Times the client has reconnected to the server since open. */
  get reconnects(): number {
    return Atomics.load(this.#control, Ctl.reconnects);
  }

  /** A publish that failed after send() returned (a durable queue's stream refused it): said once, here. */
  #lateError(op: string): void {
    if (Atomics.exchange(this.#control, Ctl.lateError, 0) === 0) return;
    const t = takeText(this.#controlBuffer);
    throw ipcError(t.code, op, this.address, t.message);
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, opts: SendOptions | undefined): boolean {
    this.#lateError("send");
    if (this.nats.wildcard) {
      throw ipcError(
        "EINVAL",
        "send",
        this.address,
        `'${this.nats.subject}' has wildcards: it can be subscribed to, not published on; send on a subject without '*' or '>'`,
      );
    }
    return super.sendImpl(msg, timeout, opts);
  }

  protected override trySendBatch(msgs: readonly Uint8Array[], from: number): number {
    this.#lateError("sendMany");
    return super.trySendBatch(msgs, from);
  }

  /** A durable queue acknowledges what the caller has taken: count it, and wake the thread. */
  #took(n: number): void {
    if (!this.#counts || n <= 0) return;
    Atomics.add(this.#control, Ctl.taken, n);
    Atomics.notify(this.#control, Ctl.taken);
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    const n = super.recvImpl(buf, timeout);
    if (n >= 0) this.#took(1);
    return n;
  }

  protected override recvMessage(timeout: number): Uint8Array | undefined {
    const m = super.recvMessage(timeout);
    if (m) this.#took(1);
    return m;
  }

  protected override tryRecvBatch(max: number): Uint8Array[] {
    const out = super.tryRecvBatch(max);
    this.#took(out.length);
    return out;
  }

  protected override tryRecvBatchInto(buf: Uint8Array, lengths: Uint32Array): number {
    const n = super.tryRecvBatchInto(buf, lengths);
    this.#took(n);
    return n;
  }

  /** Close the ring; the thread publishes what is left, flushes to the server, and lets go (waited for up to lingerMs). */
  protected override closeImpl(): void {
    super.closeImpl();
    forgetAtExit(this);
    waitState(this.#control, State.OPEN, this.#lingerMs, "close", this.address);
  }
}

/** Open a nats channel in `role`: post it to the NATS thread, wait until it is subscribed (or failed). */
export function openNats(
  addr: Address,
  o: NatsOptions & { timeout?: number; role?: "reader" | "writer" },
  role: NatsRole = "channel",
): NatsChannel | NatsLoopChannel {
  const a = parseNatsAddress(addr);
  if (a.wildcard && (role !== "channel" || o.role === "writer")) {
    throw ipcError(
      "EADDRESS",
      "open",
      addr.text,
      `'${a.subject}' has wildcards: only a subscriber may use it (role "reader"); serve, request and publishers name one subject`,
    );
  }
  if (o.thread === false) {
    if (a.durable !== undefined) {
      throw ipcError("EINVAL", "open", addr.text, "a durable queue (?durable=) needs the NATS thread: open it without { thread: false }");
    }
    const subscribes = role === "channel" ? o.role !== "writer" : role !== "connect";
    return new NatsLoopChannel(addr.text, a, role, subscribes, o.timeout !== undefined && o.timeout >= 0 ? Math.max(1, o.timeout) : CONNECT_MS);
  }
  const ackWaitMs = o.ackWaitMs ?? 30_000;
  const lingerMs = o.lingerMs ?? 5000;
  for (const [k, v] of [["ackWaitMs", ackWaitMs], ["lingerMs", lingerMs]] as const) {
    if (!(v >= 1 && v <= 2 ** 31 - 1)) throw ipcError("EINVAL", "open", addr.text, `${k} must be from 1 to 2^31-1 ms (got ${v})`);
  }
  const g = ringGeometry(o.capacity, undefined, addr.text);
  const ring = new SharedArrayBuffer(ringObjectSize(g));
  initRingHeader(ring, g);
  const control = new SharedArrayBuffer(CONTROL_SIZE);
  const connectTimeoutMs = o.timeout !== undefined && o.timeout >= 0 ? Math.max(1, o.timeout) : CONNECT_MS;
  const request: NatsOpen = {
    ring,
    control,
    server: a.server,
    subject: a.subject,
    queue: a.queue ?? (role === "listen" ? "ipc-lab" : undefined),
    durable: a.durable,
    role,
    subscribes: role === "channel" ? o.role !== "writer" : role !== "connect",
    ackWaitMs,
    connectTimeoutMs,
    name: `ipc-lab ${process.pid} ${role} ${a.subject}`,
  };
  natsThread().postMessage(request);
  const words = new Int32Array(control);
  // the connection, then (durable) the stream and consumer: a few round trips past the connect timeout
  if (!waitState(words, State.PENDING, connectTimeoutMs + 5000, "open", addr.text)) {
    throw ipcError(
      "ETIMEDOUT",
      "open",
      addr.text,
      `the NATS thread did not open ${addr.text} within ${connectTimeoutMs + 5000} ms: is the server at ${a.server} overloaded?`,
    );
  }
  if (Atomics.load(words, Ctl.state) === State.FAILED) {
    const t = takeText(control);
    throw ipcError(t.code, "open", addr.text, t.message);
  }
  const ch = new NatsChannel(addr.text, a, ring, g, control, role, lingerMs);
  closeAtExit(ch); // what was sent reaches the server before the process ends
  return ch;
}

/** The `nats:` mechanism. */
export const nats = mechanism<NatsOptions>()({
  scheme: "nats",
  describe: "nats://host:port/subject (or nats:subject on NATS_URL) — a NATS subject: pub/sub, ?queue=group, ?durable=name (JetStream)",
  options: optionNames<NatsOptions>()("capacity", "ackWaitMs", "lingerMs", "thread"),
  open: (a, o) => openNats(a, o),
  sample: (u) => `nats:${u.tag}`,
  traits: {
    boundaries: "framed",
    duplex: true,
    detectsPeerExit: false,
    bounded: false,
    pollable: false,
    maxMessageSize: 1 << 20,
    reliable: false,
    needs: "a NATS server at NATS_URL",
    unreliableWhy:
      "core NATS is at most once: a message in flight when a connection drops, or past a slow subscriber's limits, is lost (?durable= is at least once)",
  },
  converse: {
    pattern: "NATS request/reply: serve subscribes in queue group 'ipc-lab' (or ?queue=), each request carries its reply subject",
    // serve and request make async calls only: their client runs on the caller's event loop
    listen: (a, o) => {
      const ch = openNats(a, { ...o, thread: false }, "listen") as NatsLoopChannel;
      return Object.assign(new OnePeerListener(ch), { ready: ch.ready });
    },
    connect: (a, o) => openNats(a, { thread: false, ...o }, "connect"),
  },
});
