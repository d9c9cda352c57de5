/**
 * serve() and request(): request/response the same way on every mechanism that can carry a
 * conversation. serve() listens (listen(), listener.ts), and answers each client's requests
 * in order, many clients at once; a Client connects (connect()) and asks. Each request and
 * reply carries the request header of wire.ts (its number; whether the handler failed), so
 * a reply always reaches the client that asked, for the request it answers.
 */
import type { Channel, Payload } from "../channel.ts";
import { IpcError, ipcError } from "../errors.ts";
import { connect, listen, type OpenOptions } from "../open.ts";
import { type Codec, codecOf, type CodecOption } from "../values/codec.ts";
import type { Listener } from "../link/listener.ts";
import { readTurn, Turn, TURN_HEADER, turnFrame } from "../link/wire.ts";
import { deadlineIn } from "../os/wait.ts";

/** What a handler learns about the request besides its content. */
export interface RequestInfo {
  /** the server's channel to the client that asked */
  readonly peer: Channel;
}

/** Answers one request: the reply (a value with a codec; bytes or a string without; nothing is an empty reply). */
export type Handler<Req, Rep> = (request: Req, info: RequestInfo) => Rep | Promise<Rep>;

/** Options for serve(): the address's own options (e.g. capacity), and these. */
export type ServeOptions = OpenOptions & {
  /** values instead of bytes: requests are decoded before the handler sees them, replies encoded */
  codec?: CodecOption;
  /** ms a reply may wait for room at a client that does not read (default 10 000); then that client is dropped */
  replyTimeout?: number;
  /** told of errors that end one client's conversation or the accept loop (default: console.error) */
  onError?: (error: unknown) => void;
};

/** Options for a Client and request(): the address's own options, and these. */
export type ClientOptions = OpenOptions & {
  /** values instead of bytes, as the server's codec */
  codec?: CodecOption;
};

/** Options for one request. */
export interface RequestOptions {
  /** ms to wait for the reply (default: as long as it takes); ETIMEDOUT after */
  timeout?: number;
}

const utf8 = new TextEncoder();
/** What #answer gives for a reply to an earlier request, one that timed out. */
const STALE: unique symbol = Symbol("stale reply");

function toBytes(reply: unknown): Uint8Array {
  if (reply === undefined || reply === null) return new Uint8Array(0);
  if (reply instanceof Uint8Array) return reply;
  if (typeof reply === "string") return utf8.encode(reply);
  throw ipcError(
    "EINVAL",
    "serve",
    undefined,
    `a handler without a codec must return a Uint8Array, a string or nothing (got ${typeof reply}); serve with { codec: "json" } to return values`,
  );
}

/** Codes that mean "this conversation is over", not "something is wrong". */
const ENDED = new Set(["EOF", "ECLOSED", "ETRUNC", "EPIPE", "ECONNRESET"]);
const ended = (e: unknown) => e instanceof IpcError && ENDED.has(e.code);
/** Codes that mean "this client sent malformed input": a frame larger than allowed, or not a frame. */
const malformed = (e: unknown) => e instanceof IpcError && (e.code === "EMSGSIZE" || e.code === "EPROTO");

/** A running serve(): stop it with close() (or `using`); `done` settles once every conversation has ended. */
export class Server implements Disposable {
  /** the address clients reach (a tcp: address carries the real port) */
  readonly address: string;
  /** settles when the server has stopped and its last conversation ended */
  readonly done: Promise<void>;
  /**
   * Resolves once clients can reach the server: at once where listen() made the address
   * (a queue, a socket); on NATS once the subscription is at the server.
   */
  readonly ready: Promise<void>;
  readonly #listener: Listener;
  readonly #handler: Handler<unknown, unknown>;
  readonly #codec: Codec | undefined;
  readonly #replyTimeout: number;
  readonly #onError: (e: unknown) => void;
  readonly #peers = new Set<Channel>();
  readonly #conversations = new Set<Promise<void>>();
  #closed = false;
  #answered = 0;

  constructor(listener: Listener, handler: Handler<unknown, unknown>, opts: ServeOptions) {
    this.address = listener.address;
    this.#listener = listener;
    this.#handler = handler;
    this.#codec = opts.codec === undefined ? undefined : codecOf(opts.codec);
    this.#replyTimeout = opts.replyTimeout ?? 10_000;
    this.#onError = opts.onError ?? ((e) => console.error(`ipc-lab serve ${this.address}:`, e instanceof Error ? e.message : e));
    this.ready = (listener as Listener & { ready?: Promise<void> }).ready ?? Promise.resolve();
    this.done = this.#acceptLoop();
  }

  /** clients connected now */
  get clients(): number {
    return this.#peers.size;
  }

  /** requests answered so far (replies and failures) */
  get answered(): number {
    return this.#answered;
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const peer of this.#listener) {
        if (this.#closed) {
          peer.close();
          break;
        }
        this.#peers.add(peer);
        const c = this.#converse(peer);
        this.#conversations.add(c);
        void c.finally(() => this.#conversations.delete(c));
      }
    } catch (e) {
      if (!this.#closed && !ended(e)) this.#onError(e);
    }
    while (this.#conversations.size > 0) await Promise.all([...this.#conversations]);
    this.#listener.close();
  }

  /** One client: its requests in order, each answered before the next is read. */
  async #converse(peer: Channel): Promise<void> {
    try {
      for (;;) {
        const frame = await peer.recvAsync();
        const turn = readTurn(frame);
        if (!turn || turn.kind !== Turn.REQUEST) continue; // not a request: nothing to answer
        let kind: number = Turn.REPLY;
        let reply: Uint8Array;
        try {
          const request = this.#codec ? this.#codec.decode(turn.payload) : turn.payload.slice();
          const out = await this.#handler(request, { peer });
          reply = this.#codec ? this.#codec.encode(out) : toBytes(out);
        } catch (e) {
          kind = Turn.FAILED;
          reply = utf8.encode(e instanceof Error ? e.message : String(e));
        }
        try {
          await this.#reply(peer, turnFrame(kind, turn.id, reply));
        } catch (e) {
          if (!(e instanceof IpcError && e.code === "EMSGSIZE")) throw e;
          // a reply the mechanism cannot carry fails that request, not the conversation
          const why = `the reply is ${reply.byteLength} bytes, more than ${peer.address} carries (${peer.caps.maxMessageSize - TURN_HEADER} B per reply)`;
          await this.#reply(peer, turnFrame(Turn.FAILED, turn.id, utf8.encode(why)));
        }
      }
    } catch (e) {
      if (malformed(e)) this.#malformed(e as IpcError);
      else if (!ended(e) && !this.#closed && !(e instanceof IpcError && e.code === "ETIMEDOUT")) this.#onError(e);
    } finally {
      this.#peers.delete(peer);
      peer.close();
    }
  }

  /**
   * Hand a reply to the client and count it, in the same turn of the event loop: sendAsync
   * may give timers and I/O a turn after a send that fit at once, and a client in this
   * process could then see its reply while `answered` did not yet count it.
   */
  async #reply(peer: Channel, frame: Uint8Array): Promise<void> {
    if (!peer.trySend(frame)) await peer.sendAsync(frame, { timeout: this.#replyTimeout });
    this.#answered++;
  }

  /** A client sent what no client of ours writes: its conversation ends; say so once, not once per such client. */
  #malformed(e: IpcError): void {
    if (this.#saidMalformed) return;
    this.#saidMalformed = true;
    this.#onError(
      new IpcError({
        code: e.code,
        errno: e.errno,
        syscall: e.syscall,
        address: e.address,
        message: `${e.message} — that client's connection was closed, the server goes on (said once)`,
      }),
    );
  }
  #saidMalformed = false;

  /** Stop: no new clients, every client's channel closed (their waits end with EOF), the address's names removed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const peer of this.#peers) peer.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Serve requests at `address`: each request is answered with `handler`'s (sync or async)
 * return value, in order per client, many clients at once. The address is created (a queue,
 * a socket, a rendezvous…) and removed again by close(), by Ctrl-C, or when the program ends.
 *
 * @example
 * ```ts
 * serve("mq:/jobs", (req: Uint8Array) => new TextDecoder().decode(req).toUpperCase());
 * ```
 */
export function serve<Req = Uint8Array, Rep = Payload | void>(address: string, handler: Handler<Req, Rep>, options: ServeOptions = {}): Server {
  const { codec: _codec, replyTimeout: _replyTimeout, onError: _onError, ...open } = options;
  return new Server(listen(address, open), handler as Handler<unknown, unknown>, options);
}

/**
 * Repeated requests over one connection to a server; one at a time (concurrent calls queue up).
 *
 * @example
 * ```ts
 * using client = new Client("mq:/jobs");
 * const reply = await client.request("brave", { timeout: 5000 });
 * ```
 */
export class Client<Req = Payload, Rep = Uint8Array> implements Disposable {
  /** the channel to the server */
  readonly channel: Channel;
  readonly #codec: Codec | undefined;
  #next = 1;
  #queue: Promise<unknown> = Promise.resolve();

  /** Connect to the server at `address`: it must be listening (ENOENT / ECONNREFUSED otherwise), or appear within the `timeout` option (ms). */
  constructor(address: string, options: ClientOptions = {}) {
    const { codec, ...open } = options;
    this.#codec = codec === undefined ? undefined : codecOf(codec);
    this.channel = connect(address, open);
  }

  /** the server's address */
  get address(): string {
    return this.channel.address;
  }

  #frame(msg: Req): { id: number; frame: Uint8Array } {
    const id = this.#next;
    this.#next = (this.#next % 0xffffffff) + 1;
    const body = this.#codec ? this.#codec.encode(msg) : typeof msg === "string" ? utf8.encode(msg) : msg;
    if (!(body instanceof Uint8Array)) {
      throw ipcError(
        "EINVAL",
        "request",
        this.address,
        `a request without a codec must be a Uint8Array or a string (got ${typeof msg}); use { codec: "json" } for values`,
      );
    }
    return { id, frame: turnFrame(Turn.REQUEST, id, body) };
  }

  /** The reply to request `id` in `frame`, or STALE for a late reply to an earlier request (dropped). */
  #answer(id: number, frame: Uint8Array): Rep | typeof STALE {
    const turn = readTurn(frame);
    if (!turn || turn.id !== id) return STALE;
    if (turn.kind === Turn.UNANSWERED) throw ipcError("ECONNREFUSED", "request", this.address, new TextDecoder().decode(turn.payload));
    if (turn.kind === Turn.FAILED) {
      throw ipcError("EREMOTE", "request", this.address, `the server's handler failed: ${new TextDecoder().decode(turn.payload)}`);
    }
    return (this.#codec ? this.#codec.decode(turn.payload) : turn.payload.slice()) as Rep;
  }

  #timedOut(ms: number): IpcError {
    return ipcError(
      "ETIMEDOUT",
      "request",
      this.address,
      `no reply within ${Math.round(ms)} ms (the server is busy, or stuck in its handler); raise timeout, or look at the server`,
    );
  }

  /** Ask and wait for the reply without blocking the event loop. EREMOTE when the handler threw; EOF when the server has gone. */
  request(msg: Req, opts: RequestOptions = {}): Promise<Rep> {
    const run = this.#queue.then(() => this.#ask(msg, opts));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #ask(msg: Req, opts: RequestOptions): Promise<Rep> {
    const { id, frame } = this.#frame(msg);
    const t = opts.timeout ?? -1;
    const deadline = deadlineIn(t, Infinity);
    await this.channel.sendAsync(frame, { timeout: t < 0 ? undefined : t });
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw this.#timedOut(t);
      let m: Uint8Array;
      try {
        m = await this.channel.recvAsync({ timeout: left === Infinity ? undefined : left });
      } catch (e) {
        if (e instanceof IpcError && e.code === "ETIMEDOUT") throw this.#timedOut(t);
        throw e;
      }
      const answer = this.#answer(id, m);
      if (answer !== STALE) return answer;
    }
  }

  /** request() that blocks: for scripts and sync code. */
  requestSync(msg: Req, opts: RequestOptions = {}): Rep {
    const { id, frame } = this.#frame(msg);
    const t = opts.timeout ?? -1;
    const deadline = deadlineIn(t, Infinity);
    this.channel.send(frame, { timeout: t < 0 ? undefined : t });
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw this.#timedOut(t);
      let m: Uint8Array;
      try {
        m = this.channel.recv({ timeout: left === Infinity ? undefined : left });
      } catch (e) {
        if (e instanceof IpcError && e.code === "ETIMEDOUT") throw this.#timedOut(t);
        throw e;
      }
      const answer = this.#answer(id, m);
      if (answer !== STALE) return answer;
    }
  }

  /** Close the connection (idempotent): the server's side of it ends. */
  close(): void {
    this.channel.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * One request to the server at `address`: connect, ask, wait for the reply, close. `timeout`
 * covers it all — waiting for the server to be there (a queue to exist, a socket to listen)
 * and for the reply.
 *
 * @example
 * ```ts
 * const reply = await request("mq:/jobs", "hello", { timeout: 5000 });
 * ```
 */
export async function request<Req = Payload, Rep = Uint8Array>(address: string, msg: Req, options: ClientOptions & RequestOptions = {}): Promise<Rep> {
  const t = options.timeout;
  const deadline = t === undefined || t < 0 ? undefined : performance.now() + t;
  using client = new Client<Req, Rep>(address, options);
  return await client.request(msg, { timeout: deadline === undefined ? t : Math.max(0, deadline - performance.now()) });
}
