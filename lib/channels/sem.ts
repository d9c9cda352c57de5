/**
 * A POSIX named semaphore as a token channel: `sem:/name`. send posts one unit, recv takes
 * one; messages carry no bytes (caps.maxMessageSize 0, boundaries "token"), and every send
 * is exactly one recv. The plain primitive is Semaphore (lib/primitives/semaphore.ts).
 */
import type { PendingWait } from "../../ffi/waiter.ts";
import type { Address } from "../address.ts";
import { type ChannelCaps, type RecvOptions, type SendOptions, timeoutMs } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { type IpcError, ipcError } from "../errors.ts";
import { SEM_VALUE_MAX, Semaphore, type SemaphoreOptions } from "../primitives/semaphore.ts";
import { PeerWatch } from "../names/peer-watch.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { semNames } from "../names/kinds.ts";
import { deadlineIn } from "../os/wait.ts";

const empty = new Uint8Array(0);

/** A semaphore carrying tokens. */
export class SemChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps = {
    mechanism: "sem",
    maxMessageSize: 0,
    duplex: false,
    boundaries: "token",
    capacity: SEM_VALUE_MAX,
    capacityUnit: "messages",
    crossesHosts: false,
    detectsPeerExit: false,
  };
  /** the semaphore underneath */
  readonly semaphore: Semaphore;
  /** the other side (an opener's creator, a creator's openers), whose death ends waits nothing else would end */
  readonly #peer: PeerWatch;

  constructor(addr: Address, opts: SemaphoreOptions) {
    super(addr.text);
    this.semaphore = new Semaphore(addr.text, opts);
    this.#peer = this.semaphore.owner ? PeerWatch.onOpeners(this.address) : PeerWatch.onCreator(this.address);
  }

  #peerGone(op: string): IpcError {
    return ipcError("EOF", op, this.address, this.#peer.recvMessage());
  }

  protected override sendImpl(_msg: Uint8Array, _timeout: number, _opts: SendOptions | undefined): boolean {
    if (this.semaphore.value >= SEM_VALUE_MAX) return false; // full: sem_post would fail with EOVERFLOW
    this.semaphore.post();
    return true;
  }

  protected override recvImpl(_buf: Uint8Array, timeout: number): number {
    let r: number | "gone" = this.semaphore.wait({ timeout: this.#peer.slice(timeout) }) ? 0 : -1;
    if (r < 0) r = this.#peer.afterIdle(r, timeout, (x) => x < 0, (ms) => (this.semaphore.wait({ timeout: ms }) ? 0 : -1));
    if (r === "gone") throw this.#peerGone("sem_wait");
    return r;
  }

  protected override recvMessage(timeout: number): Uint8Array | undefined {
    return this.recvImpl(empty, timeout) < 0 ? undefined : new Uint8Array(0);
  }

  /** The waiter thread takes the unit itself, so the base "wait, then try" path would lose it. */
  override async recvAsync(opts?: RecvOptions): Promise<Uint8Array> {
    this.beginReceive("recvAsync");
    const t = timeoutMs(opts, "recvAsync", this.address);
    const deadline = deadlineIn(t, Infinity);
    for (;;) {
      const left = deadline === Infinity ? -1 : Math.max(0, deadline - performance.now());
      const slice = this.#peer.slice(left);
      if (await this.semaphore.waitAsync({ timeout: slice < 0 ? undefined : slice })) return new Uint8Array(0);
      // its last tokens may have come after our wait ended: one is taken before EOF is said (PeerWatch.gone)
      let took = false;
      if (this.#peer.gone(() => (took = this.semaphore.tryWait()))) throw this.#peerGone("sem_wait");
      if (took) return new Uint8Array(0);
      if (performance.now() >= deadline) break;
    }
    throw ipcError("ETIMEDOUT", "recvAsync", this.address, `recvAsync on ${this.address} timed out after ${t} ms (no token was posted)`);
  }

  protected override waitReadable(_timeout: number): PendingWait {
    throw new Error("unreachable: SemChannel overrides recvAsync");
  }

  protected override closeImpl(): void {
    this.#peer.close();
    this.semaphore.close();
  }
}

/** The `sem:` mechanism. */
export const sem = mechanism<SemaphoreOptions>()({
  scheme: "sem",
  describe: "sem:/name — a POSIX named semaphore carrying tokens",
  options: optionNames<SemaphoreOptions>()("create", "exclusive", "value", "mode", "timeout"),
  open: (a, o) => new SemChannel(a, o),
  traits: { ...usualTraits, boundaries: "token", duplex: false, pollable: false, maxMessageSize: 0 },
  names: semNames,
  sample: (u) => `sem:/${u.tag}`,
});
