/**
 * `topic:/name` — publish-subscribe over shared memory: any number of publishers, up to
 * `maxSubscribers` subscribers, every subscriber receiving every message published after
 * it subscribed (and up to `history` earlier ones), each publisher's messages in order.
 *
 * One object, /dev/shm/topic.NAME (docs/wire-formats.md has every byte): a control area,
 * a history index, a participants table, a subscriber table and one data ring of records
 * [u32 length][u32 sequence][payload] padded to 8, never straddling the end (a length of
 * 0xFFFFFFFF pads to it). Publishers take turns under a publisher word (their pid; a dead
 * holder's is taken over, and its half-written record, never published, is written over).
 * A publisher may overwrite only what every live subscriber has read ("block") or
 * anything ("drop-oldest"); before it overwrites, it moves `oldest` past the records it
 * will destroy, and a subscriber keeps a copy only if `oldest` has not passed it meanwhile
 * — so a lapped subscriber skips ahead and counts what it lost (`missed`), never reading a
 * torn message. A publisher that finds no room looks at the slowest subscribers: a dead one
 * loses its slot at once.
 *
 * Opening is open-or-create (either side may be first) under flock(2) on the object, which
 * also serialises leaving: the last participant to close removes the name; `ipc-lab gc`
 * removes what crashes leave.
 */
import { C } from "../../ffi/facts.ts";
import { libc, nativeView, nativeViewsDetach, shim } from "../../ffi/runtime.ts";
import { futexWaitAsync, type PendingWait } from "../../ffi/waiter.ts";
import type { Address } from "../address.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { errnoError, ipcError, tooBigKept } from "../errors.ts";
import { mechanism } from "../mechanism.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { regionNames, regionObjectName } from "../names/kinds.ts";
import { processAlive } from "../names/peer-watch.ts";
import { register } from "../names/registry.ts";
import { optionNames } from "../options.ts";
import { racePoints } from "../os/race-points.ts";
import { deadlineIn, HeldDuringWaits, lookAgain, PeerSpin, SpinPolicy, yieldBriefly } from "../os/wait.ts";
import { attach, ECANCELED, leave, LINE, type Mapped, PAD, recordSize, S, SPIN, type TopicOptions, W } from "./topic-layout.ts";
import { TopicPublisher, TopicRegion } from "./topic-publisher.ts";

export type { TopicOptions } from "./topic-layout.ts";

/**
 * Topics (their object names) on which a loan of this thread holds the publishers' turn:
 * subscribing there would wait for a commit that only this thread can make.
 */
const loanedHere = new Set<string>();

/** One participant of a topic: a publisher, a subscriber, or both (role). */
export class TopicChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  /** the delivery policy the topic was created with */
  readonly policy: "block" | "drop-oldest";
  readonly #m: Mapped;
  readonly #name: string;
  readonly #r: TopicRegion;
  // the region's views, held here too: the receive path reads them on every message
  readonly #w: Uint32Array;
  readonly #wi: Int32Array;
  readonly #subs: Int32Array;
  readonly #data: Uint8Array;
  readonly #data32: Uint32Array;
  readonly #mask: number;
  /** the publishing side; undefined with role "reader" */
  readonly #pub: TopicPublisher | undefined;
  /** a work queue: consumers share subscriber line 0, taking turns under the consumer word */
  readonly #queue: boolean;
  /** our subscriber line (word index into #subs), -1 when we only publish */
  #slot = -1;
  #tail = 0;
  #next = 0;
  #missed = 0;
  readonly #peerCheckMs: number;
  readonly #held: HeldDuringWaits;
  /** an async receive's look on the JS thread before it parks (as the ring's: warm 20 µs, cold 0.5 µs, probing 200 µs) */
  readonly #asyncSpin = new SpinPolicy(20_000, 500, 200_000);
  /** the same on one CPU, in sched_yield() calls (warm 16, cold 1, probing 64), as the ring */
  readonly #asyncYields = new SpinPolicy(16, 1, 64);

  constructor(addr: Address, m: Mapped, role: "reader" | "writer" | undefined, peerCheckMs: number, queue = false) {
    super(addr.text);
    this.#m = m;
    this.#name = regionObjectName(addr);
    const r = (this.#r = new TopicRegion(m));
    this.#w = r.w;
    this.#wi = r.wi;
    this.#subs = r.subs;
    this.#data = r.data;
    this.#data32 = r.data32;
    this.#mask = r.mask;
    this.#queue = queue;
    this.#peerCheckMs = peerCheckMs;
    this.policy = m.g.policy === 0 ? "block" : "drop-oldest";
    this.#pub = role === "reader" ? undefined : new TopicPublisher(r, this.policy, addr.text, peerCheckMs);
    this.#held = new HeldDuringWaits(() => libc.munmap(m.base, m.size));
    this.caps = {
      mechanism: queue ? "shm-queue" : "topic",
      maxMessageSize: m.g.maxMessage,
      duplex: false,
      boundaries: "framed",
      capacity: m.g.capacity,
      capacityUnit: "bytes",
      crossesHosts: false,
      detectsPeerExit: false,
    };
    if (role !== "writer") {
      if (queue) this.#slot = 0; // consumers share the one cursor
      else this.#subscribe();
    }
  }

  /** Messages this subscriber lost because publishers overwrote them ("drop-oldest" only). */
  get missed(): number {
    return this.#missed;
  }

  // ---- publishing (lib/channels/topic-publisher.ts) ----------------------------------------

  protected override sendImpl(msg: Uint8Array, timeout: number, _opts: SendOptions | undefined): boolean {
    const pub = this.#publisher("send");
    if (pub.tryPublish(msg, false)) return true; // the usual case: no closure, no wait
    return pub.untilRoom(timeout, "send", (reap) => pub.tryPublish(msg, reap));
  }

  /** A batch (sendMany, trySendMany): as many as fit now under one publishers' turn; a full ring is looked at for dead subscribers before it counts as full. */
  protected override trySendBatch(msgs: readonly Uint8Array[], from: number): number {
    const pub = this.#publisher("sendMany");
    return pub.tryPublishMany(msgs, from, false) || pub.tryPublishMany(msgs, from, true);
  }

  #publisher(op: string): TopicPublisher {
    if (this.#pub) return this.#pub;
    throw ipcError(
      "EINVAL",
      op,
      this.address,
      `${this.address} was opened with role "reader" (a subscriber): open it without role, or with role "writer", to publish`,
    );
  }

  // ---- zero-copy: a loan is the room in the ring (holding the publishers' turn until commit) ----

  protected override loanImpl(size: number, timeout: number): Uint8Array | undefined {
    const pub = this.#publisher("loan");
    if (size === 0 || !nativeViewsDetach) return super.loanImpl(size, timeout); // (a view that could not be taken back: a copy)
    let at = -1;
    const got = pub.untilRoom(timeout, "loan", (reap) => (at = pub.reserve(size, reap)) >= 0);
    if (!got) return undefined;
    this.#loaned = true;
    loanedHere.add(this.#name);
    return new Uint8Array(nativeView(this.#r.dataPtr, at + 8, size));
  }
  #loaned = false;

  protected override commitImpl(view: Uint8Array, length: number, timeout: number, opts: SendOptions | undefined): boolean {
    if (!this.#loaned) return super.commitImpl(view, length, timeout, opts);
    this.#loaned = false;
    loanedHere.delete(this.#name);
    this.#pub!.finish(length);
    return true;
  }

  protected override abandonImpl(): void {
    if (!this.#loaned) return;
    this.#loaned = false;
    loanedHere.delete(this.#name);
    this.#pub!.handOn(); // nothing published: the next record is written over it
  }

  protected override waitWritable(timeout: number, size: number): PendingWait {
    racePoints.topicSendWait?.();
    const room = this.#r.announceWriter();
    if (this.#pub!.mayPublish(size)) return { result: Promise.resolve(0), cancel: () => {} }; // freed before we announced: no wake comes
    const at = this.#r.wordAt(W.room);
    const wait = futexWaitAsync(at, room, Math.min(timeout < 0 ? this.#peerCheckMs : timeout, this.#peerCheckMs), () => shim.ipcl_futex_wake(at, 1 << 30));
    return { cancel: wait.cancel, result: this.#held.track(wait.result) };
  }

  // ---- subscribers --------------------------------------------------------------------

  /** Take a subscriber line; start at the head, or up to `history` messages back. */
  #subscribe(): void {
    const subs = this.#subs;
    const per = LINE / 4;
    if (loanedHere.has(this.#name) && Atomics.load(this.#wi, W.publisher) === process.pid) {
      // our own loan holds the turn until its commit, which this thread cannot reach while we wait
      throw ipcError(
        "EBUSY",
        "open",
        this.address,
        `a loan on ${this.address} in this thread holds the publishers' turn, which a new subscriber takes to pick its start: commit() (or close) that loan first, then open the reader`,
      );
    }
    this.#r.waitTurn(this.#peerCheckMs, "open", this.address); // the head and the history stand still while we pick our start
    try {
      const head = Atomics.load(this.#w, W.head);
      const seq = this.#w[W.seq]!;
      let start = head;
      let next = seq;
      const H = this.#m.g.history;
      const oldest = Atomics.load(this.#w, W.oldest);
      for (let k = Math.min(H, seq); k > 0; k--) {
        const h = ((seq - k) % H) * 2;
        const pos = this.#r.hist[h]!;
        if (this.#r.hist[h + 1] === ((seq - k) >>> 0) && ((pos - oldest) | 0) >= 0) {
          start = pos;
          next = (seq - k) >>> 0;
          break;
        }
      }
      for (let i = 0; i < subs.length; i += per) {
        const pid = Atomics.load(subs, i + S.pid);
        if (pid !== 0 && (pid === process.pid || processAlive(pid))) continue;
        subs[i + S.tail] = start;
        subs[i + S.next] = next;
        subs[i + S.missed] = 0;
        if (Atomics.compareExchange(subs, i + S.pid, pid, process.pid) !== pid) continue;
        Atomics.add(this.#wi, W.epoch, 1); // publishers must count us from now on
        this.#slot = i;
        this.#tail = start;
        this.#next = next;
        return;
      }
    } finally {
      this.#r.giveTurn();
    }
    throw ipcError(
      "EBUSY",
      "open",
      this.address,
      `${this.address} has ${this.#m.g.maxSubscribers} live subscribers, its maxSubscribers: close one, or create the topic with more`,
    );
  }

  #notSubscribed(op: string): never {
    throw ipcError(
      "EINVAL",
      op,
      this.address,
      `${this.address} was opened with role "writer" (a publisher): open it without role, or with role "reader", to subscribe`,
    );
  }

  /**
   * The next message's length (after skipping pads and, when lapped, ahead to the oldest
   * record), or -1 when there is none yet.
   */
  #peek(): number {
    const w = this.#w;
    const cap = this.#mask + 1;
    for (;;) {
      if (this.#tail === Atomics.load(w, W.head)) return -1;
      const oldest = Atomics.load(w, W.oldest);
      if (((this.#tail - oldest) | 0) < 0) {
        this.#tail = oldest; // lapped: skip to the oldest intact record (#copy counts what we missed)
        continue;
      }
      const pos = this.#tail & this.#mask;
      const len = this.#data32[pos >>> 2]!;
      if (len === PAD) {
        this.#tail = (this.#tail + cap - pos) >>> 0;
        continue;
      }
      if (len > this.caps.maxMessageSize) {
        if (((this.#tail - Atomics.load(w, W.oldest)) | 0) < 0) continue; // overwritten while we looked
        throw ipcError(
          "EPROTO",
          "recv",
          this.address,
          `the topic holds a message of ${len} bytes, above its maximum: the shared memory was corrupted or written by something else`,
        );
      }
      return len;
    }
  }

  /** Copy the next message (length len) into out at `at`; false if it was overwritten meanwhile. */
  #copy(len: number, out: Uint8Array, at = 0): boolean {
    const pos = this.#tail & this.#mask;
    const seq = this.#data32[(pos >>> 2) + 1]!;
    const d = this.#data;
    racePoints.topicCopy?.();
    if (len <= 128) { for (let i = 0; i < len; i++) out[at + i] = d[pos + 8 + i]!; // no view object per small message (as the ring)
     } else out.set(d.subarray(pos + 8, pos + 8 + len), at);
    // still intact after the copy? (publishers move `oldest` before they write)
    if (((this.#tail - Atomics.load(this.#w, W.oldest)) | 0) < 0) return false;
    // what we missed is the gap in sequence numbers, read from the record itself: `oldest`
    // and `oldestSeq` are two stores, and a reader between them would pair a new sequence
    // with an old position (seen once, under load: missed off by 2^32 - 17724)
    const gap = (seq - this.#next) | 0;
    if (gap > 0) this.#missed += gap;
    this.#next = (seq + 1) >>> 0;
    this.#tail = (this.#tail + recordSize(len)) >>> 0;
    return true;
  }

  /** Where our reading stands: our tail, or a work queue's shared one. */
  #cursor(): number {
    return this.#queue ? Atomics.load(this.#subs, S.tail) >>> 0 : this.#tail;
  }

  /** Publish our tail: the room is the publishers' again (and wake any that wait for it). */
  #release(): void {
    Atomics.store(this.#subs, this.#slot + S.tail, this.#tail);
    Atomics.store(this.#subs, this.#slot + S.next, this.#next);
    this.#r.roomMoved();
  }

  /** Wait until the head moves from `head` (or ms pass); -EINTR on a stop. */
  #sleep(head: number, ms: number): number {
    const wakes = this.#r.announceReader();
    return Atomics.load(this.#w, W.head) !== head ? 0 : shim.ipcl_futex_wait(this.#r.wordAt(W.wakes), wakes, ms);
  }

  /** Take the next message into `out` (or a new array), waiting up to `timeout` ms. */
  #take(out: Uint8Array | undefined, timeout: number, op: string): Uint8Array | number | undefined {
    if (this.#slot < 0) this.#notSubscribed(op);
    const deadline = deadlineIn(timeout, Infinity);
    for (;;) {
      if (this.#queue) {
        // consumers take turns: the shared cursor moves under the consumer word, one message at a time
        this.#takeConsumerTurn();
        try {
          const got = this.#takeOne(out, op);
          if (got !== undefined) return got;
        } finally {
          this.#r.giveTurn(W.consumer);
        }
      } else {
        const got = this.#takeOne(out, op);
        if (got !== undefined) return got;
      }
      if (!this.#await(deadline, timeout, op)) return undefined;
    }
  }

  /** Nothing there yet: spin (when it can pay), then sleep on the head; false once out of time. */
  #await(deadline: number, timeout: number, op: string): boolean {
    if (timeout === 0) return false;
    if (this.#spinFor(this.#spinBudget() ? SPIN : 0)) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    const r = this.#sleep(this.#cursor(), Math.min(left, this.#peerCheckMs));
    if (r === -C.EINTR) throw errnoError(C.EINTR, op, this.address);
    return true;
  }

  /**
   * A subscriber's view of the next message in place ("block" only: nothing overwrites
   * a record before every live subscriber has released it). With "drop-oldest" a publisher
   * could, and a work queue's consumers take turns: those views are copies.
   */
  protected override viewImpl(timeout: number): Uint8Array | undefined {
    if (this.#queue || this.policy !== "block" || this.#slot < 0 || !nativeViewsDetach) return super.viewImpl(timeout);
    const deadline = deadlineIn(timeout, Infinity);
    for (;;) {
      const len = this.#peek();
      if (len === 0) return super.viewImpl(0);
      if (len > 0) {
        const pos = this.#tail & this.#mask;
        this.#viewSeq = this.#data32[(pos >>> 2) + 1]!;
        this.#viewEnd = (this.#tail + recordSize(len)) >>> 0;
        return new Uint8Array(nativeView(this.#r.dataPtr, pos + 8, len));
      }
      if (!this.#await(deadline, timeout, "recvView")) return undefined;
    }
  }
  #viewEnd = -1;
  #viewSeq = 0;

  protected override releaseImpl(): void {
    if (this.#viewEnd < 0) return;
    this.#tail = this.#viewEnd;
    this.#next = (this.#viewSeq + 1) >>> 0;
    this.#viewEnd = -1;
    this.#release();
  }

  /** The next message if there is one now (into out, or a new array), moving our tail past it. */
  #takeOne(out: Uint8Array | undefined, op: string): Uint8Array | number | undefined {
    for (;;) {
      const len = this.#peek();
      if (len < 0) return undefined;
      if (out && len > out.byteLength) throw tooBigKept(len, out.byteLength, op, this.address);
      const into = out ?? new Uint8Array(len);
      if (!this.#copy(len, into)) continue;
      this.#release();
      return out ? len : into;
    }
  }

  /**
   * tryRecvManyInto: the messages there now, copied one after another into buf — our tail
   * published (and waiting publishers woken) once, and in a work queue the consumers' turn
   * taken once, for the whole batch.
   */
  protected override tryRecvBatchInto(buf: Uint8Array, lengths: Uint32Array): number {
    if (this.#slot < 0) this.#notSubscribed("tryRecvManyInto");
    if (!this.#queue) return this.#takeMany(buf, lengths);
    this.#takeConsumerTurn();
    try {
      return this.#takeMany(buf, lengths);
    } finally {
      this.#r.giveTurn(W.consumer);
    }
  }

  /** A work queue's consumer: take the consumers' turn, and read from the shared cursor where it stands (let go with giveTurn(W.consumer)). */
  #takeConsumerTurn(): void {
    this.#r.takeTurn(W.consumer);
    this.#tail = Atomics.load(this.#subs, S.tail) >>> 0;
    this.#next = Atomics.load(this.#subs, S.next) >>> 0;
  }

  /** The messages there now into buf (as many as it and lengths hold), released once; how many. */
  #takeMany(buf: Uint8Array, lengths: Uint32Array): number {
    let n = 0;
    let at = 0;
    while (n < lengths.length) {
      const len = this.#peek();
      if (len < 0) break;
      if (at + len > buf.byteLength) {
        if (n === 0) throw tooBigKept(len, buf.byteLength, "tryRecvManyInto", this.address);
        break; // the next call takes it
      }
      if (!this.#copy(len, buf, at)) continue; // overwritten as we copied: look again
      lengths[n++] = len;
      at += len;
    }
    if (n > 0) this.#release();
    return n;
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    const n = this.#take(buf, timeout, "recvInto");
    return n === undefined ? -1 : (n as number);
  }

  protected override recvMessage(timeout: number): Uint8Array | undefined {
    return this.#take(undefined, timeout, "recv") as Uint8Array | undefined;
  }

  /**
   * Whether to spin before sleeping: yes, unless this process and the last publisher may
   * both run only on the same single CPU (spinning would keep it off; PeerSpin decides).
   */
  #spinBudget(): boolean {
    return this.#peerSpin.pays(Atomics.load(this.#w, W.lastPublisher) | 0) ?? true;
  }
  /** another thread of ours publishing: spinning may pay */
  readonly #peerSpin = new PeerSpin(true);

  /**
   * Look up to `n` times for the head to move from our tail, yielding the CPU every 256
   * looks: many subscribers may share a CPU, and a pure spin would keep the others (and
   * their wake-ups) off it for the whole spin.
   */
  #spinFor(n: number): boolean {
    const w = this.#w;
    const tail = this.#cursor();
    for (let i = 0, mask = 255; i < n; i++) {
      if (Atomics.load(w, W.head) !== tail) return true;
      if ((i & mask) === mask && !yieldBriefly()) mask = -1; // a busy neighbour took it: no more yields
    }
    return false;
  }

  /** Before an async receive parks off-thread: spin on the head for a while (not on one CPU). */
  protected override readableSoon(): boolean {
    if (this.#slot < 0) return false;
    return lookAgain(this.#w, W.head, this.#cursor(), !this.#spinBudget(), this.#asyncSpin, this.#asyncYields);
  }

  protected override waitReadable(timeout: number): PendingWait {
    if (this.#slot < 0) this.#notSubscribed("recvAsync");
    const head = this.#cursor();
    const wakes = this.#r.announceReader();
    if (Atomics.load(this.#w, W.head) !== head) return { result: Promise.resolve(0), cancel: () => {} };
    const at = this.#r.wordAt(W.wakes);
    const wait = futexWaitAsync(at, wakes, Math.min(timeout < 0 ? this.#peerCheckMs : timeout, this.#peerCheckMs), () => shim.ipcl_futex_wake(at, 1 << 30));
    return { cancel: wait.cancel, result: this.#held.track(wait.result.then((r) => (r === -ECANCELED ? 0 : r))) };
  }

  // ---- leaving ------------------------------------------------------------------------

  protected override closeImpl(): void {
    this.abandonImpl(); // a loan never committed: hand the publishers' turn on (nothing published)
    if (this.#slot >= 0 && !this.#queue) {
      Atomics.store(this.#subs, this.#slot + S.pid, 0); // publishers stop waiting for us
      this.#r.roomMoved(true);
    }
    this.#leave();
    this.#held.release();
  }

  /** Give up our participant slot; the last one out removes the name. */
  #leave(): void {
    leave(this.#name, this.address, this.#m);
    forgetAtExit(this);
  }
}

/** Open (or create) a topic, or with `queue` a work queue (shm-queue:). */
export function openTopic(addr: Address, o: TopicOptions & { create?: boolean; timeout?: number; role?: "reader" | "writer" }, queue = false): TopicChannel {
  const peerCheckMs = o.peerCheckMs ?? 100;
  if (!(peerCheckMs >= 1 && peerCheckMs <= 2 ** 31 - 1)) {
    throw ipcError("EINVAL", "open", addr.text, `peerCheckMs must be from 1 to 2^31-1 ms (got ${peerCheckMs})`);
  }
  const m = attach(addr, queue ? { ...o, maxSubscribers: 1, history: 0, policy: "block" } : o, queue);
  let ch: TopicChannel;
  try {
    ch = new TopicChannel(addr, m, o.role, peerCheckMs, queue);
  } catch (e) {
    leave(regionObjectName(addr), addr.text, m); // e.g. no subscriber slot free: we were never here
    libc.munmap(m.base, m.size);
    throw e;
  }
  register(addr.text); // every participant: the record names one that is alive, for gc
  closeAtExit(ch);
  return ch;
}

/** The `topic:` mechanism. */
export const topic = mechanism<TopicOptions>()({
  scheme: "topic",
  describe: "topic:/name — publish-subscribe in shared memory: many publishers, many subscribers (/dev/shm/topic.name)",
  options: optionNames<TopicOptions>()("capacity", "maxMessageSize", "maxSubscribers", "history", "policy", "exclusive", "mode", "peerCheckMs"),
  open: (a, o) => openTopic(a, o),
  traits: { boundaries: "framed", duplex: false, detectsPeerExit: false, bounded: true, pollable: false, maxMessageSize: 1 << 16 },
  names: regionNames,
  sample: (u) => `topic:/${u.tag}`,
  small: { capacity: 4096 },
});
