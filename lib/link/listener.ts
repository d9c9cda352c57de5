/**
 * A Listener: the server's side of listen(address), a source of one duplex Channel per
 * client. Stream sockets accept(2); shared-memory rings give each client its own ring; queues
 * share one object and tell clients apart by a header (lib/link/demux.ts).
 */
import type { Channel } from "../channel.ts";

/** Options for accept()/acceptAsync(). */
export interface AcceptOptions {
  /** milliseconds to wait for a client; omitted or -1: as long as it takes, 0: only one already waiting */
  timeout?: number;
}

/** The server's side of listen(address): one Channel per client that connects. */
export interface Listener extends Disposable, AsyncIterable<Channel> {
  /** the address clients connect to (a tcp: address carries the real port when 0 was asked for) */
  readonly address: string;
  /** true once close() has been called */
  readonly closed: boolean;
  /** The next client's channel, waiting at most `timeout` ms; undefined when none came in time. */
  accept(opts?: AcceptOptions): Channel | undefined;
  /** accept() without blocking the event loop; undefined when none came in time or the listener closed meanwhile. */
  acceptAsync(opts?: AcceptOptions): Promise<Channel | undefined>;
  /**
   * Stop listening and remove the address's name (idempotent). Accepted channels that have
   * an object of their own (a socket connection, a client's ring) stay open; those of a shared
   * queue (mq:, sysv-mq:, fifo:, unix-dgram:) read through the listener and end with it: their
   * clients get EOF.
   */
  close(): void;
}

/** `for await (const peer of listener)`: accept until the listener closes. */
export async function* acceptEach(listener: Listener): AsyncGenerator<Channel> {
  while (!listener.closed) {
    const peer = await listener.acceptAsync();
    if (peer) yield peer;
  }
}

/**
 * A Listener with exactly one client: the channel it was made with (an inherited `fd:`
 * pair, a `spawn:` child). accept() gives that channel once; then the listener is done.
 */
export class OnePeerListener implements Listener {
  readonly address: string;
  #peer: Channel | undefined;
  #closed = false;

  constructor(peer: Channel) {
    this.address = peer.address;
    this.#peer = peer;
  }

  get closed(): boolean {
    return this.#closed;
  }

  accept(_opts?: AcceptOptions): Channel | undefined {
    const peer = this.#peer;
    this.#peer = undefined;
    if (!peer) this.#closed = true; // its one client was taken: nothing more will come
    return peer;
  }

  acceptAsync(opts?: AcceptOptions): Promise<Channel | undefined> {
    return Promise.resolve(this.accept(opts));
  }

  [Symbol.asyncIterator](): AsyncIterator<Channel> {
    return acceptEach(this);
  }

  /** Stop; a channel not yet accepted is closed. */
  close(): void {
    this.#closed = true;
    this.#peer?.close();
    this.#peer = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
