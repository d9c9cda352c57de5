/**
 * BaseChannel: the parts of the Channel contract that do not depend on the mechanism
 * (argument checks, timeouts, recv() on top of recvInto(), async receive and iteration,
 * batches, loans, views, close/dispose), on top of a handful of primitives each mechanism
 * implements (sendImpl, recvImpl, waitReadable, closeImpl, …).
 */
import { C } from "../ffi/facts.ts";
import type { PendingWait } from "../ffi/waiter.ts";
import { Backoff, deadlineIn, loopTurn, remaining, SecondLook } from "./os/wait.ts";
import { shim } from "../ffi/runtime.ts";
import { watchStopSignals } from "./os/stop.ts";
import { IpcError, ipcError, messageTooLarge, timedOut } from "./errors.ts";
import { type Channel, type ChannelCaps, type Payload, type RecvOptions, type SendOptions, timeoutMs } from "./channel.ts";
import { OwnedArrays, transferred } from "./owned-arrays.ts";

const encoder = new TextEncoder();

/**
 * Detach the ArrayBuffer behind a loaned or viewed array, so that a use after commit(),
 * release() or close() can never touch the ring. Every such array owns its whole buffer
 * (loanImpl and viewImpl return arrays of their own, or views made for this one message).
 * One that `owned` lent goes back to it (detached all the same).
 */
function detach(view: Uint8Array, owned: OwnedArrays): void {
  const buf = view.buffer as ArrayBuffer & { detached?: boolean };
  if (owned.giveBack(buf)) return; // our own memory: detached, and kept for the next one
  if (!(buf instanceof ArrayBuffer) || buf.detached || buf.byteLength === 0) return;
  transferred(buf, 0);
}

/**
 * Base of every channel. Subclasses implement the four primitives; everything else
 * (checks, timeouts, allocation, async, iteration, dispose) is shared here.
 */
export abstract class BaseChannel implements Channel {
  /** @inheritdoc */
  readonly address: string;
  /** @inheritdoc */
  abstract readonly caps: ChannelCaps;
  #closed = false;
  #rx: Uint8Array | undefined;
  #waits = new Set<PendingWait>();
  /** the view loan() returned, until commit()/abandonLoan() */
  #loaned: Uint8Array | undefined;
  /** the view recvView() returned, until release() or the next receive */
  #viewed: Uint8Array | undefined;
  /** the memory lent for loans and views that are not the shared memory itself (./owned-arrays.ts) */
  readonly #ownedLoans = new OwnedArrays();
  readonly #ownedViews = new OwnedArrays();

  protected constructor(address: string) {
    this.address = address;
    watchStopSignals();
  }

  /**
   * Send `msg` waiting at most `timeout` ms (-1 forever, 0 try). Return false when there
   * was no room in time; throw IpcError on failure.
   */
  protected abstract sendImpl(msg: Uint8Array, timeout: number, opts: SendOptions | undefined): boolean;
  /**
   * Receive into `buf` waiting at most `timeout` ms; return the length, or -1 when nothing
   * arrived in time. A message larger than buf must stay receivable (throw EMSGSIZE).
   */
  protected abstract recvImpl(buf: Uint8Array, timeout: number): number;
  /** Start an off-thread wait that ends when a receive may succeed (or after `timeout`). */
  protected abstract waitReadable(timeout: number): PendingWait;
  /**
   * Start a wait that ends when a send of `size` bytes may succeed (or after `timeout`).
   * The default re-checks on a timer with a doubling back-off (50 µs to 2 ms), for
   * mechanisms with nothing to wait on; those with a descriptor or a futex override it.
   */
  protected waitWritable(timeout: number, _size: number): PendingWait {
    return (this.#sendBackoff ??= new Backoff()).wait(timeout);
  }
  #sendBackoff: Backoff | undefined;
  /**
   * Before an async wait goes off-thread: look again for a short while on the JS thread,
   * where an answer that is about to arrive costs no thread handoff. True when a receive
   * may now succeed. Default: poll the readiness descriptor, if there is one (SecondLook).
   */
  protected readableSoon(): boolean {
    const fd = this.readinessFd();
    if (fd < 0) return false;
    return (this.#look ??= new SecondLook()).look(() => shim.ipcl_poll1(fd, C.POLLIN, 0, -1) > 0);
  }
  #look: SecondLook | undefined;
  /** A descriptor that polls readable when a receive may succeed, or -1 when there is none. */
  protected readinessFd(): number {
    return -1;
  }
  /** Release resources; called once. */
  protected abstract closeImpl(): void;
  /** For a channel built on another (a conversation's link): that channel's raw receive (-1: nothing in time). */
  static rawRecv(ch: BaseChannel, buf: Uint8Array, timeout: number): number {
    return ch.recvImpl(buf, timeout);
  }
  /** For a channel built on another: that channel's raw send (false: no room in time). */
  static rawSend(ch: BaseChannel, msg: Uint8Array, timeout: number, opts?: SendOptions): boolean {
    return ch.sendImpl(msg, timeout, opts);
  }
  /**
   * For select() on channels without a descriptor: raise this end's "a receiver sleeps"
   * flag and return the shared 32-bit word to sleep on while it holds `value` (a ring's
   * head), "ready" when a message is there already, or undefined when there is no such word.
   * selectDisarm() lowers the flag again.
   */
  protected selectArm(): { address: number; value: number } | "ready" | undefined {
    return undefined;
  }
  /** Undo selectArm(). */
  protected selectDisarm(): void {}
  /** For select(): `ch`'s selectArm(). */
  static armOf(ch: BaseChannel): { address: number; value: number } | "ready" | undefined {
    return ch.selectArm();
  }
  /** For select(): `ch`'s selectDisarm(). */
  static disarmOf(ch: BaseChannel): void {
    ch.selectDisarm();
  }
  /** For a channel built on another: `ch`'s second look on the JS thread before an off-thread wait (true: a receive may succeed now). */
  static lookAgain(ch: BaseChannel): boolean {
    return ch.readableSoon();
  }
  /** For select(): a descriptor that polls readable when `ch` may have a message, or -1. */
  static readinessOf(ch: BaseChannel): number {
    return ch.readinessFd();
  }
  /** For a channel built on another, and select(): `ch`'s off-thread wait for something to receive. */
  static readableWait(ch: BaseChannel, timeout: number): PendingWait {
    return ch.waitReadable(timeout);
  }
  /**
   * A writable view for the next message of `size` bytes, waiting at most `timeout` ms for
   * room (-1 forever, 0 try); undefined when there was none in time. Default: a buffer of
   * its own, which commitImpl sends. Rings override it to hand out the room in the ring.
   */
  protected loanImpl(size: number, _timeout: number): Uint8Array | undefined {
    return this.#ownedLoans.take(size);
  }
  /** Publish the loan's first `length` bytes; false when there was no room within `timeout`. */
  protected commitImpl(view: Uint8Array, length: number, timeout: number, opts: SendOptions | undefined): boolean {
    return this.sendImpl(view.subarray(0, length), timeout, opts);
  }
  /** Forget the loan (nothing is published). */
  protected abandonImpl(): void {}
  /**
   * The next message to read in place until releaseImpl(), waiting at most `timeout` ms;
   * undefined when none arrived. Default: a received copy (an array of its own).
   */
  protected viewImpl(timeout: number): Uint8Array | undefined {
    return this.recvMessage(timeout);
  }
  /** Give the viewed message's room back to the sender. */
  protected releaseImpl(): void {}
  /**
   * An array of `size` bytes for a view that is a copy (viewImpl), over the memory of the
   * last such view when it fits: taken back at release(), so a loop of views allocates once.
   */
  protected viewCopy(size: number): Uint8Array {
    return this.#ownedViews.take(size);
  }

  /** @inheritdoc */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throw ECLOSED if this channel was closed. */
  protected assertOpen(op: string): void {
    if (this.#closed) throw ipcError("ECLOSED", op, this.address, `${op} on ${this.address} after close(): open the channel again`);
  }

  /** assertOpen for sends: also EBUSY while a loan is out (its message goes first). */
  #txOpen(op: string): void {
    if (!this.#closed && this.#loaned === undefined) return; // the hot path: one test
    this.assertOpen(op);
    if (this.#loaned !== undefined) {
      throw ipcError("EBUSY", op, this.address, `${op} while a loan is out: commit() or abandonLoan() it first (its message comes before this one)`);
    }
  }

  /** assertOpen for receives: also lets go of the view recvView() returned ("until the next receive"). */
  protected beginReceive(op: string): void {
    this.#rxOpen(op);
  }

  #rxOpen(op: string): void {
    if (!this.#closed && this.#viewed === undefined) return; // the hot path: one test
    this.assertOpen(op);
    if (this.#viewed !== undefined) this.release();
  }

  /** Words used in size errors, e.g. "this queue's": override for a precise noun. */
  protected get sizeNoun(): string {
    return `${this.caps.mechanism} channel ${this.address}'s`;
  }

  #bytes(msg: Payload, op: string): Uint8Array {
    const bytes = typeof msg === "string" ? encoder.encode(msg) : msg;
    if (!(bytes instanceof Uint8Array)) {
      throw ipcError("EINVAL", op, this.address, `a message must be a Uint8Array or a string (got ${typeof msg})`);
    }
    if (bytes.byteLength > this.caps.maxMessageSize) throw messageTooLarge(bytes.byteLength, this.caps.maxMessageSize, this.sizeNoun, op, this.address);
    return bytes;
  }

  #timedOut(op: string, ms: number): IpcError {
    return timedOut(op, this.address, ms);
  }

  /** @inheritdoc */
  send(msg: Payload, opts?: SendOptions): void {
    this.#txOpen("send");
    const t = timeoutMs(opts, "send", this.address);
    if (!this.sendImpl(this.#bytes(msg, "send"), t, opts)) throw this.#timedOut("send", t);
  }

  /** @inheritdoc */
  trySend(msg: Payload, opts?: Omit<SendOptions, "timeout">): boolean {
    this.#txOpen("trySend");
    return this.sendImpl(this.#bytes(msg, "trySend"), 0, opts);
  }

  /** A receive buffer of maxMessageSize bytes, kept for recv()/tryRecv(). */
  protected rxBuffer(): Uint8Array {
    return (this.#rx ??= new Uint8Array(this.caps.maxMessageSize));
  }

  /**
   * Receive one message as a new array (-1 forever, 0 try); undefined when none arrived
   * in time. Override when the mechanism knows the length before copying.
   */
  protected recvMessage(timeout: number): Uint8Array | undefined {
    const buf = this.rxBuffer();
    const n = this.recvImpl(buf, timeout);
    return n < 0 ? undefined : buf.slice(0, n);
  }

  /** @inheritdoc */
  recv(opts?: RecvOptions): Uint8Array {
    this.#rxOpen("recv");
    const t = timeoutMs(opts, "recv", this.address);
    const m = this.recvMessage(t);
    if (m === undefined) throw this.#timedOut("recv", t);
    return m;
  }

  /** @inheritdoc */
  tryRecv(): Uint8Array | undefined {
    this.#rxOpen("tryRecv");
    return this.recvMessage(0);
  }

  /** @inheritdoc */
  recvInto(buf: Uint8Array, opts?: RecvOptions): number {
    this.#rxOpen("recvInto");
    const t = timeoutMs(opts, "recvInto", this.address);
    const n = this.recvImpl(buf, t);
    if (n < 0) throw this.#timedOut("recvInto", t);
    return n;
  }

  /** @inheritdoc */
  tryRecvInto(buf: Uint8Array): number | undefined {
    this.#rxOpen("tryRecvInto");
    const n = this.recvImpl(buf, 0);
    return n < 0 ? undefined : n;
  }

  /** @inheritdoc */
  recvAsync(opts?: RecvOptions): Promise<Uint8Array> {
    try {
      this.#rxOpen("recvAsync");
    } catch (e) {
      return Promise.reject(e); // misuse rejects as it does in every async call (not async itself: one promise less per message)
    }
    return this.#whenReadable("recvAsync", opts, this.#takeMessage);
  }
  /** made once: a closure per call is garbage per message, and collections delay timers */
  readonly #takeMessage = () => this.recvMessage(0);
  readonly #takeView = () => this.viewImpl(0);

  /**
   * The async receive loop: `take` (never blocking) until it gives something; between
   * tries, look again on the JS thread (readableSoon), then wait off-thread.
   */
  async #whenReadable<T>(op: string, opts: RecvOptions | undefined, take: () => T | undefined): Promise<T> {
    const t = timeoutMs(opts, op, this.address);
    const deadline = deadlineIn(t);
    for (;;) {
      const m = take();
      if (m !== undefined) {
        await loopTurn(); // found at once: let timers and I/O have their turn now and then
        return m;
      }
      if (this.readableSoon()) continue;
      const left = remaining(deadline);
      if (left === 0) throw this.#timedOut(op, t);
      await this.#pending(this.waitReadable(left));
      this.assertOpen(op);
    }
  }

  /** @inheritdoc */
  async sendAsync(msg: Payload, opts?: SendOptions): Promise<void> {
    this.#txOpen("sendAsync");
    const t = timeoutMs(opts, "sendAsync", this.address);
    const bytes = this.#bytes(msg, "sendAsync");
    if (this.sendImpl(bytes, 0, opts)) return loopTurn();
    const deadline = deadlineIn(t);
    for (;;) {
      const left = remaining(deadline);
      if (left === 0) throw this.#timedOut("sendAsync", t);
      await this.#pending(this.waitWritable(left, bytes.byteLength));
      this.#txOpen("sendAsync");
      if (this.sendImpl(bytes, 0, opts)) {
        this.#sendBackoff?.reset();
        return;
      }
    }
  }

  // ---- batches ------------------------------------------------------------------------

  /**
   * Send as many of `msgs` (from index `from` on) as fit now, in order; how many. Default:
   * one sendImpl each. Rings override it to publish once and wake at most once per batch.
   */
  protected trySendBatch(msgs: readonly Uint8Array[], from: number, opts?: SendOptions): number {
    let i = from;
    while (i < msgs.length && this.sendImpl(msgs[i]!, 0, opts)) i++;
    return i - from;
  }

  /**
   * Up to `max` messages that are there now. Default: one receive each; an EOF after some
   * messages ends the batch (the next receive reports it). Rings override it.
   */
  protected tryRecvBatch(max: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < max) {
      let m: Uint8Array | undefined;
      try {
        m = this.recvMessage(0);
      } catch (e) {
        if (out.length > 0 && e instanceof IpcError && e.code === "EOF") break;
        throw e;
      }
      if (m === undefined) break;
      out.push(m);
    }
    return out;
  }

  /**
   * Messages that are there now, packed into `buf`, lengths into `lengths`; how many.
   * Default: one recvImpl each. Rings override it to release their space once.
   */
  protected tryRecvBatchInto(buf: Uint8Array, lengths: Uint32Array): number {
    let n = 0;
    let at = 0;
    while (n < lengths.length) {
      let len: number;
      try {
        len = this.recvImpl(buf.subarray(at), 0);
      } catch (e) {
        // the next one does not fit the room left, or the peer has gone: it waits for the next call
        if (n > 0 && e instanceof IpcError && (e.code === "EMSGSIZE" || e.code === "EOF")) break;
        throw e;
      }
      if (len < 0) break;
      lengths[n++] = len;
      at += len;
    }
    return n;
  }

  /** @inheritdoc */
  tryRecvManyInto(buf: Uint8Array, lengths: Uint32Array): number {
    this.#rxOpen("tryRecvManyInto");
    if (!(buf instanceof Uint8Array) || !(lengths instanceof Uint32Array)) {
      throw ipcError("EINVAL", "tryRecvManyInto", this.address, "tryRecvManyInto takes a Uint8Array for the messages and a Uint32Array for their lengths");
    }
    return lengths.length === 0 ? 0 : this.tryRecvBatchInto(buf, lengths);
  }

  #batch(msgs: readonly Payload[], op: string): Uint8Array[] {
    if (!Array.isArray(msgs)) throw ipcError("EINVAL", op, this.address, `${op} takes an array of messages (got ${typeof msgs})`);
    return msgs.map((m) => this.#bytes(m, op));
  }

  #checkMax(max: number, op: string): void {
    if (!Number.isInteger(max) || max < 1) throw ipcError("EINVAL", op, this.address, `max must be a whole number of messages >= 1 (got ${max})`);
  }

  /** @inheritdoc */
  sendMany(msgs: readonly Payload[], opts?: SendOptions): void {
    this.#txOpen("sendMany");
    const t = timeoutMs(opts, "sendMany", this.address);
    const bytes = this.#batch(msgs, "sendMany");
    if (bytes.length === 0) return;
    const deadline = deadlineIn(t);
    let i = this.trySendBatch(bytes, 0, opts);
    while (i < bytes.length) {
      // the next one waits for room as send() would; then the rest go in as a batch again
      if (!this.sendImpl(bytes[i]!, remaining(deadline), opts)) throw this.#timedOut("sendMany", t);
      i++;
      if (i < bytes.length) i += this.trySendBatch(bytes, i, opts);
    }
  }

  /** @inheritdoc */
  trySendMany(msgs: readonly Payload[], opts?: Omit<SendOptions, "timeout">): number {
    this.#txOpen("trySendMany");
    const bytes = this.#batch(msgs, "trySendMany");
    return bytes.length === 0 ? 0 : this.trySendBatch(bytes, 0, opts); // nothing to send: nothing to check either
  }

  /** @inheritdoc */
  recvMany(max: number, opts?: RecvOptions): Uint8Array[] {
    this.#rxOpen("recvMany");
    this.#checkMax(max, "recvMany");
    const t = timeoutMs(opts, "recvMany", this.address);
    const now = this.tryRecvBatch(max);
    if (now.length > 0) return now;
    const first = this.recvMessage(t);
    if (first === undefined) throw this.#timedOut("recvMany", t);
    return this.#withMore(first, max);
  }

  /** `first` and up to max - 1 more that are there now (an EOF right after `first` waits for the next call). */
  #withMore(first: Uint8Array, max: number): Uint8Array[] {
    if (max === 1) return [first];
    try {
      return [first, ...this.tryRecvBatch(max - 1)];
    } catch (e) {
      if (e instanceof IpcError && e.code === "EOF") return [first];
      throw e;
    }
  }

  /** @inheritdoc */
  tryRecvMany(max: number): Uint8Array[] {
    this.#rxOpen("tryRecvMany");
    this.#checkMax(max, "tryRecvMany");
    return this.tryRecvBatch(max);
  }

  /** @inheritdoc */
  async sendManyAsync(msgs: readonly Payload[], opts?: SendOptions): Promise<void> {
    this.#txOpen("sendManyAsync");
    const t = timeoutMs(opts, "sendManyAsync", this.address);
    const bytes = this.#batch(msgs, "sendManyAsync");
    if (bytes.length === 0) return;
    const deadline = deadlineIn(t);
    let i = this.trySendBatch(bytes, 0, opts);
    while (i < bytes.length) {
      const left = remaining(deadline);
      if (left === 0) throw this.#timedOut("sendManyAsync", t);
      await this.#pending(this.waitWritable(left, bytes[i]!.byteLength));
      this.#txOpen("sendManyAsync");
      i += this.trySendBatch(bytes, i, opts);
    }
    return loopTurn();
  }

  /** @inheritdoc */
  async recvManyAsync(max: number, opts?: RecvOptions): Promise<Uint8Array[]> {
    this.#checkMax(max, "recvManyAsync");
    return this.#withMore(await this.recvAsync(opts), max);
  }

  // ---- loans and views (zero-copy on rings) ------------------------------------------

  #loanSize(size: number, op: string): number {
    this.#txOpen(op);
    if (!Number.isInteger(size) || size < 0) throw ipcError("EINVAL", op, this.address, `size must be a whole number of bytes >= 0 (got ${size})`);
    if (size > this.caps.maxMessageSize) {
      throw ipcError("EMSGSIZE", op, this.address, `a loan of ${size} bytes exceeds ${this.sizeNoun} maximum of ${this.caps.maxMessageSize} bytes`);
    }
    return size;
  }

  /** @inheritdoc */
  loan(size: number, opts?: RecvOptions): Uint8Array {
    const t = timeoutMs(opts, "loan", this.address);
    const view = this.loanImpl(this.#loanSize(size, "loan"), t);
    if (view === undefined) throw this.#timedOut("loan", t);
    return (this.#loaned = view);
  }

  /** @inheritdoc */
  tryLoan(size: number): Uint8Array | undefined {
    return (this.#loaned = this.loanImpl(this.#loanSize(size, "tryLoan"), 0));
  }

  /** @inheritdoc */
  async loanAsync(size: number, opts?: RecvOptions): Promise<Uint8Array> {
    const t = timeoutMs(opts, "loanAsync", this.address);
    this.#loanSize(size, "loanAsync");
    const deadline = deadlineIn(t);
    for (;;) {
      const view = this.loanImpl(size, 0);
      if (view !== undefined) return (this.#loaned = view);
      const left = remaining(deadline);
      if (left === 0) throw this.#timedOut("loanAsync", t);
      await this.#pending(this.waitWritable(left, size));
      this.#loanSize(size, "loanAsync"); // closed, or another loan taken, meanwhile
    }
  }

  /** @inheritdoc */
  commit(length?: number, opts?: SendOptions): void {
    this.assertOpen("commit");
    const view = this.#loaned;
    if (view === undefined) {
      throw ipcError("EINVAL", "commit", this.address, "commit() without a loan: call loan(size) first, fill the view it returns, then commit()");
    }
    const n = length ?? view.byteLength;
    if (!Number.isInteger(n) || n < 0 || n > view.byteLength) {
      throw ipcError("EINVAL", "commit", this.address, `commit length must be from 0 to the ${view.byteLength} bytes loaned (got ${length})`);
    }
    const t = timeoutMs(opts, "commit", this.address);
    if (!this.commitImpl(view, n, t, opts)) throw this.#timedOut("commit", t); // the loan stays: commit again, or abandonLoan()
    this.#loaned = undefined;
    detach(view, this.#ownedLoans);
  }

  /** @inheritdoc */
  abandonLoan(): void {
    const view = this.#loaned;
    if (view === undefined) return;
    this.#loaned = undefined;
    this.abandonImpl();
    detach(view, this.#ownedLoans);
  }

  /** @inheritdoc */
  recvView(opts?: RecvOptions): Uint8Array {
    this.#rxOpen("recvView");
    const t = timeoutMs(opts, "recvView", this.address);
    const view = this.viewImpl(t);
    if (view === undefined) throw this.#timedOut("recvView", t);
    return (this.#viewed = view);
  }

  /** @inheritdoc */
  tryRecvView(): Uint8Array | undefined {
    this.#rxOpen("tryRecvView");
    return (this.#viewed = this.viewImpl(0));
  }

  /** @inheritdoc */
  async recvViewAsync(opts?: RecvOptions): Promise<Uint8Array> {
    this.#rxOpen("recvViewAsync");
    // a view that is a copy is a received message: recvAsync (which a mechanism may override) gives it
    const inPlace = this.viewImpl !== BaseChannel.prototype.viewImpl;
    const view = inPlace ? await this.#whenReadable("recvViewAsync", opts, this.#takeView) : await this.recvAsync(opts);
    return (this.#viewed = view);
  }

  /** @inheritdoc */
  release(): void {
    const view = this.#viewed;
    if (view === undefined) return;
    this.#viewed = undefined;
    detach(view, this.#ownedViews); // first: nothing can read the room once the sender may reuse it
    if (!this.#closed) this.releaseImpl();
  }

  /** Await an off-thread wait, which close() cancels. */
  async #pending(wait: PendingWait): Promise<void> {
    this.#waits.add(wait);
    try {
      await wait.result;
    } finally {
      this.#waits.delete(wait);
    }
  }

  /** Messages until the peer closes (EOF) or this channel is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      try {
        yield await this.recvAsync();
      } catch (e) {
        if (e instanceof IpcError && (e.code === "EOF" || e.code === "ECLOSED")) return;
        throw e;
      }
    }
  }

  /** @inheritdoc */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waits) w.cancel();
    // a view into a ring must not outlive its mapping: detach before the memory goes
    if (this.#loaned) detach(this.#loaned, this.#ownedLoans);
    if (this.#viewed) detach(this.#viewed, this.#ownedViews);
    this.#loaned = this.#viewed = undefined;
    this.#ownedLoans.clear();
    this.#ownedViews.clear();
    this.closeImpl();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
