/**
 * A channel of values: `open<Job>(address, { codec: "json" })` gives send(job: Job) and
 * recv(): Job over any mechanism; one value is one message (codec.ts says what goes on the wire).
 */
import type { Channel, ChannelCaps, RecvOptions, SendOptions } from "../channel.ts";
import { type Codec, codecOf, type CodecOption } from "./codec.ts";

/** A Channel that carries values of type T, one message each. */
export class ValueChannel<T = unknown> implements Disposable, AsyncIterable<T> {
  /** the channel of bytes underneath */
  readonly channel: Channel;
  /** how values become messages */
  readonly codec: Codec<T>;

  constructor(channel: Channel, codec: CodecOption<T>) {
    this.channel = channel;
    this.codec = codecOf(codec);
  }

  /** the address this channel was opened with */
  get address(): string {
    return this.channel.address;
  }
  /** what the mechanism underneath can do (maxMessageSize is of the encoded value) */
  get caps(): ChannelCaps {
    return this.channel.caps;
  }
  /** true once close() has been called */
  get closed(): boolean {
    return this.channel.closed;
  }
  /** Send one value, waiting for room (ECODEC if the codec cannot encode it: the message says where and why). */
  send(value: T, opts?: SendOptions): void {
    this.channel.send(this.codec.encode(value), opts);
  }
  /** Send one value if there is room now; false when full. */
  trySend(value: T, opts?: Omit<SendOptions, "timeout">): boolean {
    return this.channel.trySend(this.codec.encode(value), opts);
  }
  /** send() without blocking the event loop. */
  sendAsync(value: T, opts?: SendOptions): Promise<void> {
    return this.channel.sendAsync(this.codec.encode(value), opts);
  }
  /** Receive one value (ETIMEDOUT, EOF as Channel.recv; ECODEC for a message the codec cannot decode). */
  recv(opts?: RecvOptions): T {
    return this.codec.decode(this.channel.recv(opts));
  }
  /** Receive one value if one is waiting; undefined when empty. */
  tryRecv(): T | undefined {
    const m = this.channel.tryRecv();
    return m === undefined ? undefined : this.codec.decode(m);
  }
  /** recv() without blocking the event loop. */
  async recvAsync(opts?: RecvOptions): Promise<T> {
    return this.codec.decode(await this.channel.recvAsync(opts));
  }
  /** Values until the other side closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const m of this.channel) yield this.codec.decode(m);
  }
  /** Close the channel underneath (idempotent). */
  close(): void {
    this.channel.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
