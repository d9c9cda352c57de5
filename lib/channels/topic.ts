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
import { libc, nativeView, type Pointer, ptrAdd, shim } from "../../ffi/runtime.ts";
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
import { deadlineIn, HeldDuringWaits, lookAgain, PeerSpin, SpinPolicy, waitAnnounced } from "../os/wait.ts";
import { attach, ECANCELED, layoutOf, leave, LINE, type Mapped, PAD, recordSize, S, SPIN, type TopicOptions, TURN_TRIES, W } from "./topic-layout.ts";

export type { TopicOptions } from "./topic-layout.ts";

/** One participant of a topic: a publisher, a subscriber, or both (role). */
export class TopicChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  /** the delivery policy the topic was created with */
  readonly policy: "block" | "drop-oldest";
  readonly #m: Mapped;
  readonly #name: string;
  readonly #w: Uint32Array;
  readonly #wi: Int32Array;
  readonly #hist: Uint32Array;
  readonly #subs: Int32Array;
  readonly #data: Uint8Array;
  readonly #data32: Uint32Array;
  /** where the data ring starts: loans and views are made over it */
  readonly #dataPtr: Pointer;
  readonly #mask: number;
  readonly #publishes: boolean;
  /** a work queue: consumers share subscriber line 0, taking turns under the consumer word */
  readonly #queue: boolean;
  /** our subscriber line (word index into #subs), -1 when we only publish */
  #slot = -1;
  #tail = 0;
  #next = 0;
  #missed = 0;
  readonly #peerCheckMs: number;
  readonly #held: HeldDuringWaits;
  /** a publisher's cache of the slowest live tail, valid while the subscriber epoch stands (tails only move on) */
  #slowTail = 0;
  #slowEpoch = -1;
  /** an async receive's look on the JS thread before it parks (as the ring's: warm 20 µs, cold 0.5 µs, probing 200 µs) */
  readonly #asyncSpin = new SpinPolicy(20_000, 500, 200_000);
  /** the same on one CPU, in sched_yield() calls (warm 16, cold 1, probing 64), as the ring */
  readonly #asyncYields = new SpinPolicy(16, 1, 64);

  constructor(addr: Address, m: Mapped, role: "reader" | "writer" | undefined, peerCheckMs: number, queue = false) {
    super(addr.text);
    this.#m = m;
    this.#name = regionObjectName(addr);
    const g = m.g;
    const l = layoutOf(g.capacity, g.maxSubscribers, g.history);
    this.#w = new Uint32Array(nativeView(m.base, 0, LINE * 3));
    this.#wi = new Int32Array(this.#w.buffer, this.#w.byteOffset, this.#w.length);
    this.#hist = new Uint32Array(nativeView(m.base, l.hist, Math.max(8, g.history * 8)));
    this.#subs = new Int32Array(nativeView(m.base, l.subs, g.maxSubscribers * LINE));
    this.#data = new Uint8Array(nativeView(m.base, l.data, g.capacity));
    this.#dataPtr = ptrAdd(m.base, l.data);
    this.#data32 = new Uint32Array(this.#data.buffer, this.#data.byteOffset, g.capacity / 4);
    this.#mask = g.capacity - 1;
    this.#publishes = role !== "reader";
    this.#queue = queue;
    this.#peerCheckMs = peerCheckMs;
    this.policy = g.policy === 0 ? "block" : "drop-oldest";
    this.#held = new HeldDuringWaits(() => libc.munmap(m.base, m.size));
    this.caps = {
      mechanism: queue ? "shm-queue" : "topic",
      maxMessageSize: g.maxMessage,
      duplex: false,
      boundaries: "framed",
      capacity: g.capacity,
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

  // ---- publishers take turns ----------------------------------------------------------

  /**
   * Take the publisher word (or a work queue's consumer word): free, or held by a process
   * that has died. With `tries`, give up after that many looks (false): a loan holds the
   * publishers' turn until its commit, and a send must still honour its timeout.
   */
  #lockPublisher(word: number = W.publisher, tries = Infinity): boolean {
    const w = this.#wi;
    for (let i = 0; i < tries; i++) {
      const holder = Atomics.compareExchange(w, word, 0, process.pid);
      if (holder === 0) return true;
      if (i % 1024 === 1023 && !processAlive(holder) && Atomics.compareExchange(w, word, holder, process.pid) === holder) return true;
      if (i > 32) libc.sched_yield(); // another one is mid-copy
    }
    return false;
  }

  #unlockPublisher(word: number = W.publisher): void {
    Atomics.store(this.#wi, word, 0);
  }

  /** The smallest tail among live subscribers (dead ones checked and freed when `reap`), or `head` if none. */
  #slowest(head: number, reap: boolean): number {
    const subs = this.#subs;
    let min = head;
    let behind = 0;
    for (let i = 0; i < subs.length; i += LINE / 4) {
      const pid = Atomics.load(subs, i + S.pid);
      if (pid === 0) continue;
      const tail = Atomics.load(subs, i + S.tail) >>> 0;
      const lag = (head - tail) >>> 0;
      if (lag <= behind) continue;
      if (reap && pid > 0 && pid !== process.pid && !processAlive(pid)) {
        Atomics.compareExchange(subs, i + S.pid, pid, 0); // a dead subscriber holds no one back
        continue;
      }
      behind = lag;
      min = tail;
    }
    return min;
  }

  /** Publish msg if there is room now (always, with "drop-oldest"). */
  #tryPublish(msg: Uint8Array, reap: boolean): boolean {
    const at = this.#reserve(msg.byteLength, reap);
    if (at < 0) return false;
    this.#data.set(msg, at + 8);
    this.#finish(msg.byteLength);
    return true;
  }

  /**
   * Take the publishers' turn and room for a record of `len` bytes: its position in the
   * data, holding the publisher word until #finish (or #abandon); -1 (and the word let go)
   * when there is no room now.
   */
  #reserve(len: number, reap: boolean): number {
    const w = this.#w;
    const cap = this.#mask + 1;
    const need = recordSize(len);
    if (!this.#lockPublisher(W.publisher, TURN_TRIES)) return -1; // another publisher holds the turn (a loan): wait for room, then try again
    const head = Atomics.load(w, W.head);
    let pos = head & this.#mask;
    const pad = pos + need > cap ? cap - pos : 0;
    const end = (head + pad + need) >>> 0;
    if (this.policy === "block" && ((end - this.#slowTail) >>> 0) > cap || this.#slowEpoch !== Atomics.load(w, W.epoch)) {
      // the cached slowest tail says no (or a subscriber joined): look at every subscriber
      this.#slowEpoch = Atomics.load(w, W.epoch);
      this.#slowTail = this.#slowest(head, reap);
      if (this.policy === "block" && ((end - this.#slowTail) >>> 0) > cap) {
        this.#unlockPublisher();
        return -1;
      }
    }
    this.#retire(end, cap);
    if (pad !== 0) {
      this.#data32[pos >>> 2] = PAD;
      pos = 0;
    }
    this.#reserved = (head + pad) >>> 0;
    return pos;
  }
  /** where the reserved record starts (a free-running position) */
  #reserved = 0;

  /** Publish the reserved record with `len` payload bytes (already in place), let go of the turn, wake readers. */
  #finish(len: number): void {
    const w = this.#w;
    const start = this.#reserved;
    const pos = start & this.#mask;
    const seq = w[W.seq]!;
    this.#data32[pos >>> 2] = len;
    this.#data32[(pos >>> 2) + 1] = seq;
    if (this.#m.g.history > 0) {
      const h = (seq % this.#m.g.history) * 2;
      this.#hist[h] = start;
      this.#hist[h + 1] = seq;
    }
    w[W.seq] = (seq + 1) >>> 0;
    if (w[W.lastPublisher] !== process.pid) w[W.lastPublisher] = process.pid;
    Atomics.store(w, W.head, (start + recordSize(len)) >>> 0);
    this.#handOn();
    if (Atomics.load(w, W.readersWaiting) !== 0) shim.ipcl_futex_wake(ptrAdd(this.#m.base, W.head * 4), 1 << 30);
  }

  /** Let go of the publishers' turn; a publisher that waited for it (on `room`) tries again. */
  #handOn(): void {
    this.#unlockPublisher();
    if (Atomics.load(this.#wi, W.writersWaiting) !== 0) {
      Atomics.add(this.#wi, W.room, 1);
      shim.ipcl_futex_wake(ptrAdd(this.#m.base, W.room * 4), 1 << 30);
    }
  }

  /** Move `oldest` past every record that writing up to `end` will destroy (before writing it). */
  #retire(end: number, cap: number): void {
    const w = this.#w;
    let oldest = Atomics.load(w, W.oldest);
    let oldestSeq = Atomics.load(w, W.oldestSeq);
    const before = oldest;
    while (((end - oldest) >>> 0) > cap) {
      const pos = oldest & this.#mask;
      const len = this.#data32[pos >>> 2]!;
      if (len === PAD) oldest = (oldest + cap - pos) >>> 0;
      else {
        oldest = (oldest + recordSize(len)) >>> 0;
        oldestSeq = (oldestSeq + 1) >>> 0;
      }
    }
    if (oldest !== before) {
      Atomics.store(w, W.oldestSeq, oldestSeq);
      Atomics.store(w, W.oldest, oldest); // before the bytes change: a reader that copied them looks at it after
    }
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, _opts: SendOptions | undefined): boolean {
    this.#assertPublisher("send");
    if (this.#tryPublish(msg, false)) return true; // the usual case: no closure, no wait
    return this.#untilRoom(timeout, "send", (reap) => this.#tryPublish(msg, reap));
  }

  #assertPublisher(op: string): void {
    if (!this.#publishes) {
      throw ipcError(
        "EINVAL",
        op,
        this.address,
        `${this.address} was opened with role "reader" (a subscriber): open it without role, or with role "writer", to publish`,
      );
    }
  }

  /** Retry `attempt` (true once it published) until `timeout` ms pass, waiting on `room` and looking for dead subscribers. */
  #untilRoom(timeout: number, op: string, attempt: (reap: boolean) => boolean): boolean {
    if (timeout === 0) return attempt(true); // look for dead subscribers before saying "full"
    const w = this.#wi;
    return waitAnnounced(
      {
        announce: () => Atomics.add(w, W.writersWaiting, 1),
        watched: () => Atomics.load(w, W.room),
        attempt: () => attempt(true) || undefined,
        sleep: (room, ms) => shim.ipcl_futex_wait(ptrAdd(this.#m.base, W.room * 4), room, ms),
        withdraw: () => Atomics.sub(w, W.writersWaiting, 1),
      },
      deadlineIn(timeout, Infinity),
      this.#peerCheckMs,
      op,
      this.address,
    ) ?? false;
  }

  // ---- zero-copy: a loan is the room in the ring (holding the publishers' turn until commit) ----

  protected override loanImpl(size: number, timeout: number): Uint8Array | undefined {
    this.#assertPublisher("loan");
    if (size === 0) return super.loanImpl(size, timeout);
    let at = -1;
    const got = this.#untilRoom(timeout, "loan", (reap) => (at = this.#reserve(size, reap)) >= 0);
    if (!got) return undefined;
    this.#loaned = true;
    return new Uint8Array(nativeView(this.#dataPtr, at + 8, size));
  }
  #loaned = false;

  protected override commitImpl(view: Uint8Array, length: number, timeout: number, opts: SendOptions | undefined): boolean {
    if (!this.#loaned) return super.commitImpl(view, length, timeout, opts);
    this.#loaned = false;
    this.#finish(length);
    return true;
  }

  protected override abandonImpl(): void {
    if (!this.#loaned) return;
    this.#loaned = false;
    this.#handOn(); // nothing published: the next record is written over it
  }

  protected override waitWritable(timeout: number, _size: number): PendingWait {
    const w = this.#wi;
    const room = Atomics.load(w, W.room);
    Atomics.add(w, W.writersWaiting, 1);
    const at = ptrAdd(this.#m.base, W.room * 4);
    const wait = futexWaitAsync(at, room, Math.min(timeout < 0 ? this.#peerCheckMs : timeout, this.#peerCheckMs), () => shim.ipcl_futex_wake(at, 1 << 30));
    return { cancel: wait.cancel, result: this.#held.track(wait.result.then((r) => (Atomics.sub(w, W.writersWaiting, 1), r))) };
  }

  // ---- subscribers --------------------------------------------------------------------

  /** Take a subscriber line; start at the head, or up to `history` messages back. */
  #subscribe(): void {
    const subs = this.#subs;
    const per = LINE / 4;
    this.#lockPublisher(); // the head and the history stand still while we pick our start
    try {
      const head = Atomics.load(this.#w, W.head);
      const seq = this.#w[W.seq]!;
      let start = head;
      let next = seq;
      const H = this.#m.g.history;
      const oldest = Atomics.load(this.#w, W.oldest);
      for (let k = Math.min(H, seq); k > 0; k--) {
        const h = ((seq - k) % H) * 2;
        const pos = this.#hist[h]!;
        if (this.#hist[h + 1] === ((seq - k) >>> 0) && ((pos - oldest) | 0) >= 0) {
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
      this.#unlockPublisher();
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
        this.#lapped(oldest, Atomics.load(w, W.oldestSeq));
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

  /** Publishers overwrote what we had not read: skip to the oldest record, counting the loss. */
  #lapped(oldest: number, oldestSeq: number): void {
    this.#missed += (oldestSeq - this.#next) >>> 0;
    this.#tail = oldest;
    this.#next = oldestSeq;
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
    if (seq !== this.#next) this.#missed += (seq - this.#next) >>> 0;
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
    if (Atomics.load(this.#wi, W.writersWaiting) !== 0) {
      Atomics.add(this.#wi, W.room, 1);
      shim.ipcl_futex_wake(ptrAdd(this.#m.base, W.room * 4), 1 << 30);
    }
  }

  /** Wait until the head moves from `head` (or ms pass); -EINTR on a stop. */
  #sleep(head: number, ms: number): number {
    Atomics.add(this.#wi, W.readersWaiting, 1);
    const r = Atomics.load(this.#w, W.head) !== head ? 0 : shim.ipcl_futex_wait(ptrAdd(this.#m.base, W.head * 4), head, ms);
    Atomics.sub(this.#wi, W.readersWaiting, 1);
    return r;
  }

  /** Take the next message into `out` (or a new array), waiting up to `timeout` ms. */
  #take(out: Uint8Array | undefined, timeout: number, op: string): Uint8Array | number | undefined {
    if (this.#slot < 0) this.#notSubscribed(op);
    const deadline = deadlineIn(timeout, Infinity);
    for (;;) {
      if (this.#queue) {
        // consumers take turns: the shared cursor moves under the consumer word, one message at a time
        this.#lockPublisher(W.consumer);
        try {
          this.#tail = Atomics.load(this.#subs, S.tail) >>> 0;
          this.#next = Atomics.load(this.#subs, S.next) >>> 0;
          const got = this.#takeOne(out, op);
          if (got !== undefined) return got;
        } finally {
          this.#unlockPublisher(W.consumer);
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
    if (this.#queue || this.policy !== "block" || this.#slot < 0) return super.viewImpl(timeout);
    const deadline = deadlineIn(timeout, Infinity);
    for (;;) {
      const len = this.#peek();
      if (len === 0) return super.viewImpl(0);
      if (len > 0) {
        const pos = this.#tail & this.#mask;
        this.#viewSeq = this.#data32[(pos >>> 2) + 1]!;
        this.#viewEnd = (this.#tail + recordSize(len)) >>> 0;
        return new Uint8Array(nativeView(this.#dataPtr, pos + 8, len));
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
    for (let i = 0; i < n; i++) {
      if (Atomics.load(w, W.head) !== tail) return true;
      if ((i & 255) === 255) libc.sched_yield();
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
    Atomics.add(this.#wi, W.readersWaiting, 1);
    if (Atomics.load(this.#w, W.head) !== head) {
      Atomics.sub(this.#wi, W.readersWaiting, 1);
      return { result: Promise.resolve(0), cancel: () => {} };
    }
    const at = ptrAdd(this.#m.base, W.head * 4);
    const wait = futexWaitAsync(at, head, Math.min(timeout < 0 ? this.#peerCheckMs : timeout, this.#peerCheckMs), () => shim.ipcl_futex_wake(at, 1 << 30));
    return {
      cancel: wait.cancel,
      result: this.#held.track(wait.result.then((r) => (Atomics.sub(this.#wi, W.readersWaiting, 1), r === -ECANCELED ? 0 : r))),
    };
  }

  // ---- leaving ------------------------------------------------------------------------

  protected override closeImpl(): void {
    if (this.#slot >= 0 && !this.#queue) {
      Atomics.store(this.#subs, this.#slot + S.pid, 0); // publishers stop waiting for us
      Atomics.add(this.#wi, W.room, 1);
      shim.ipcl_futex_wake(ptrAdd(this.#m.base, W.room * 4), 1 << 30);
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
