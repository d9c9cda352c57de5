/**
 * A nats channel whose client runs on the caller's own event loop: no NATS thread, no
 * hand-off between threads per message — what serve() and request() use (they only make
 * async calls), and what `open(address, { thread: false })` gives. The price: a call that
 * would block this thread (a sync recv with a timeout, requestSync) cannot wait for the
 * client it would be blocking, and is refused with ENOTSUP saying which call to use. Sends
 * never block (a publish is buffered and flushed when the event loop runs); tryRecv,
 * recvAsync, for await, selectAsync and sendAsync work as everywhere.
 */
import type { MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { PendingWait } from "../../ffi/waiter.ts";
import { parseAddress } from "../address.ts";
import type { ChannelCaps, SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { IpcError, ipcError, tooBigKept } from "../errors.ts";
import { TURN_HEADER } from "../link/wire.ts";
import { natsCaps, type NatsRole } from "./nats-bridge.ts";
import { answerRequests, type Deliver, sendRequests } from "./nats-conversation.ts";
import type { NatsAddress } from "./nats-address.ts";
import { connectStream } from "./socket.ts";

type Client = typeof import("@nats-io/transport-node");
let client: Promise<Client> | undefined;

/**
 * Conversations share one connection per server on this thread (as the official client's
 * own requests share one): one socket, the writes of many Clients flushed together. Counted,
 * and closed (flushed first) when its last channel closes. Plain channels have their own
 * (no_echo is a connection's: a channel must not hear itself).
 */
const shared = new Map<string, { nc: Promise<NatsConnection>; users: number }>();

function sharedConnection(server: string, connect: () => Promise<NatsConnection>): Promise<NatsConnection> {
  let s = shared.get(server);
  if (!s) {
    s = { nc: connect(), users: 0 };
    shared.set(server, s);
    s.nc.catch(() => shared.delete(server));
  }
  s.users++;
  return s.nc;
}

function letGo(server: string, nc: NatsConnection): void {
  const s = shared.get(server);
  if (!s || --s.users > 0) return;
  shared.delete(server);
  void nc.flush().catch(() => {}).finally(() => void nc.close().catch(() => {}));
}

/** The most a channel takes before the server's max_payload is known (NATS's default). */
const DEFAULT_MAX_PAYLOAD = 1 << 20;

/**
 * Is anything listening at the server's address? A blocking TCP connect, so that open()
 * says ECONNREFUSED at once, as the threaded channel does (its connect happens on the NATS
 * thread). Host names the tcp: scheme cannot take are not probed: their failure comes at
 * the first call.
 */
function probe(a: NatsAddress, address: string, timeout: number): void {
  const hostPort = a.server.slice("nats://".length);
  let addr;
  try {
    addr = parseAddress(`tcp:${hostPort}`);
    connectStream(addr, { timeout: Math.min(timeout, 1000) }).close();
  } catch (e) {
    if (!(e instanceof IpcError) || e.code === "EADDRESS") return;
    throw ipcError(
      "ECONNREFUSED",
      "open",
      address,
      `no NATS server answers at ${a.server} (${e.code}): start one with 'nats-server -js' (Debian: apt-get install nats-server), or point NATS_URL or the address at yours`,
    );
  }
}

/** One nats channel on this thread's event loop. */
export class NatsLoopChannel extends BaseChannel implements Deliver {
  /** the parsed address: server, subject, queue group */
  readonly nats: NatsAddress;
  readonly #inbox: Uint8Array[] = [];
  #head = 0;
  #nc: NatsConnection | undefined;
  #pump: ((m: Uint8Array) => void) | undefined;
  #queued: Uint8Array[] = [];
  #failure: IpcError | undefined;
  /** async waits to end when a message (or a failure) comes */
  readonly #wakers = new Set<() => void>();
  #caps: ChannelCaps;
  readonly #header: number;
  /** on a connection shared with this thread's other conversations */
  #shares = false;
  /** this channel's subscriptions (a shared connection outlives them) */
  readonly #subs: Subscription[] = [];

  constructor(address: string, a: NatsAddress, role: NatsRole, subscribes: boolean, timeout: number) {
    super(address);
    this.nats = a;
    probe(a, address, timeout);
    const header = (this.#header = role === "channel" ? 0 : TURN_HEADER);
    this.#caps = natsCaps(DEFAULT_MAX_PAYLOAD + header, role !== "channel");
    this.ready = this.#start(role, subscribes, timeout);
  }

  /**
   * Resolves once the connection is up and the subscription is at the server (a message
   * published after that reaches this channel; a request finds this server). Never rejects:
   * a failure to connect is thrown by the next call.
   */
  readonly ready: Promise<void>;

  /** @inheritdoc (maxMessageSize: the server's max_payload once connected, 1 MiB before) */
  get caps(): ChannelCaps {
    return this.#caps;
  }

  /** Resolves once the server has everything sent so far (a round trip to it). */
  async flush(): Promise<void> {
    await this.ready;
    this.#failed();
    await this.#nc?.flush();
  }

  #wake(): void {
    for (const w of this.#wakers) w(); // each deletes itself: a Set's iteration allows it
  }

  async #start(role: NatsRole, subscribes: boolean, timeout: number): Promise<void> {
    const a = this.nats;
    try {
      const nats = await (client ??= import("@nats-io/transport-node"));
      const connect = () =>
        nats.connect({
          servers: a.server,
          noEcho: role === "channel",
          timeout,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          name: `ipc-lab ${process.pid} ${role}`,
        });
      this.#shares = role !== "channel";
      const nc = await (this.#shares ? sharedConnection(a.server, connect) : connect());
      this.#nc = nc;
      if (this.closed) return this.#letGo();
      if (role === "listen" || role === "connect") {
        const c = role === "listen"
          ? answerRequests(nc, { ...a, queue: a.queue ?? "ipc-lab" }, this, nats.headers as (code?: number, d?: string) => MsgHdrs)
          : sendRequests(nc, a, this, nats.createInbox());
        this.#pump = c.pump;
        this.#subs.push(c.subscription);
      } else {
        if (subscribes) this.#subs.push(nc.subscribe(a.subject, { queue: a.queue, callback: (_e, m) => void this.deliver(m.data) }));
        this.#pump = (m) => nc.publish(a.subject, m);
      }
      this.#caps = { ...this.#caps, maxMessageSize: (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) + this.#header };
      for (const m of this.#queued.splice(0)) this.#pump(m);
      await nc.flush(); // the server has the subscription
    } catch (e) {
      this.#failure = ipcError(
        "ECONNREFUSED",
        "open",
        this.address,
        `no NATS server answers at ${a.server} (${(e as Error).message}): start one with 'nats-server -js', or point NATS_URL or the address at yours`,
      );
    }
    this.#wake();
  }

  /** A message for the caller (from the subscription, or a conversation's frame). */
  deliver(data: Uint8Array): boolean {
    if (this.closed) return false;
    this.#inbox.push(data);
    if (this.#wakers.size !== 0) this.#wake();
    return true;
  }

  #failed(): void {
    if (this.#failure) throw this.#failure;
  }

  protected override sendImpl(msg: Uint8Array, _timeout: number, _opts: SendOptions | undefined): boolean {
    this.#failed();
    if (this.nats.wildcard) throw ipcError("EINVAL", "send", this.address, `'${this.nats.subject}' has wildcards: it can be subscribed to, not published on`);
    const copy = msg.slice(); // the client keeps it until the event loop flushes
    if (this.#pump) this.#pump(copy);
    else this.#queued.push(copy);
    return true;
  }

  /** The next message, if one is here. */
  #take(): Uint8Array | undefined {
    if (this.#head === this.#inbox.length) return undefined;
    const m = this.#inbox[this.#head]!;
    this.#inbox[this.#head] = undefined as unknown as Uint8Array;
    this.#advance(this.#head + 1);
    return m;
  }

  /** Taken up to `end`: empty the inbox when all is taken, drop the taken part when it is most of it. */
  #advance(end: number): void {
    if (end === this.#inbox.length) this.#inbox.length = this.#head = 0;
    else if (end > 4096 && end * 2 > this.#inbox.length) {
      this.#inbox.splice(0, end);
      this.#head = 0;
    } else this.#head = end;
  }

  #wouldBlock(op: string): never {
    throw ipcError(
      "ENOTSUP",
      op,
      this.address,
      `${this.address} runs its NATS client on this thread's event loop, which a blocking ${op} would stop: use the async call (recvAsync, for await, await client.request()), a timeout of 0, or open the address without { thread: false } for blocking calls`,
    );
  }

  protected override recvMessage(timeout: number): Uint8Array | undefined {
    this.#failed();
    const m = this.#take();
    if (m === undefined && timeout !== 0) this.#wouldBlock("recv");
    return m;
  }

  /** Batches: what is here, up to `max`, in one slice of the inbox. */
  protected override tryRecvBatch(max: number): Uint8Array[] {
    this.#failed();
    const end = Math.min(this.#inbox.length, this.#head + max);
    const out = this.#inbox.slice(this.#head, end);
    this.#advance(end);
    return out;
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    this.#failed();
    if (this.#head === this.#inbox.length) {
      if (timeout !== 0) this.#wouldBlock("recvInto");
      return -1;
    }
    const m = this.#inbox[this.#head]!;
    if (m.byteLength > buf.byteLength) throw tooBigKept(m.byteLength, buf.byteLength, "recvInto", this.address);
    buf.set(m);
    this.#take();
    return m.byteLength;
  }

  protected override readableSoon(): boolean {
    return this.#head !== this.#inbox.length || this.#failure !== undefined;
  }

  protected override waitReadable(timeout: number): PendingWait {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done!: (r: number) => void;
    const result = new Promise<number>((resolve) => (done = resolve));
    const finish = () => {
      clearTimeout(timer);
      this.#wakers.delete(finish);
      done(0);
    };
    this.#wakers.add(finish);
    if (timeout >= 0) timer = setTimeout(finish, timeout);
    return { result, cancel: finish };
  }

  protected override closeImpl(): void {
    this.#wake();
    this.#letGo();
  }

  /** Unsubscribe, and let go of the connection: what was published reaches the server first (the event loop runs this). */
  #letGo(): void {
    const nc = this.#nc;
    if (!nc) return;
    for (const sub of this.#subs) sub.unsubscribe();
    if (this.#shares) letGo(this.nats.server, nc);
    else void nc.flush().catch(() => {}).finally(() => void nc.close().catch(() => {}));
  }
}
