/**
 * The NATS thread's side of one channel's ring (lib/channels/nats-thread.ts): what the
 * thread hands to the caller goes in order — into the ring at once when it has room, else
 * into a backlog drained as the caller reads — and what the caller sends comes out in
 * batches until the caller closes its end.
 */
import { IpcError } from "../errors.ts";
import { RingChannel } from "../ring/channel.ts";
import { readRingHeader } from "../ring/layout.ts";
import type { NatsOpen } from "./nats-bridge.ts";

/** The caller's ring, from this side; messages the ring cannot take now wait in order here. */
export class Outbox {
  readonly ring: RingChannel;
  readonly #backlog: Uint8Array[] = [];
  #head = 0;
  #draining = false;
  #gone = false;

  constructor(o: NatsOpen) {
    const g = readRingHeader(o.ring, o.ring.byteLength);
    if (typeof g === "string") throw new Error(`nats thread: not a ring: ${g}`);
    // spin 0: this thread parks at once; the caller's side spins as it sees fit
    this.ring = new RingChannel(
      `nats-thread:${o.subject}`,
      "nats",
      { base: o.ring, size: o.ring.byteLength, release: () => {}, peerExitVisible: false },
      1,
      g,
      {
        spin: 0,
      },
    );
  }

  /** Hand `data` to the caller, in order; false once the caller has closed. */
  deliver(data: Uint8Array): boolean {
    if (this.#gone) return false;
    try {
      if (this.#head === this.#backlog.length && this.ring.trySend(data)) return true;
    } catch {
      this.#gone = true; // the caller closed its end
      return false;
    }
    this.#backlog.push(data);
    if (!this.#draining) void this.#drain();
    return true;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#head < this.#backlog.length) {
        await this.ring.sendAsync(this.#backlog[this.#head]!);
        this.#backlog[this.#head++] = undefined as unknown as Uint8Array;
        if (this.#head > 1024 && this.#head * 2 > this.#backlog.length) {
          this.#backlog.splice(0, this.#head);
          this.#head = 0;
        }
      }
    } catch {
      this.#gone = true;
    } finally {
      this.#draining = false;
    }
  }

  /** Each batch the caller sends, until it closes its end (EOF) — then resolve. */
  async pump(each: (m: Uint8Array) => void | Promise<void>): Promise<void> {
    for (;;) {
      let batch: Uint8Array[];
      try {
        batch = await this.ring.recvManyAsync(1024);
      } catch (e) {
        if (e instanceof IpcError && (e.code === "EOF" || e.code === "ECLOSED")) return;
        throw e;
      }
      for (const m of batch) {
        const waits = each(m);
        if (waits) await waits; // only a durable publish that must wait for room awaits: no microtask per message
      }
    }
  }
}
