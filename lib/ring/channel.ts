/**
 * A duplex message channel over a shared mapping laid out as ffi/ipcl_ring.h: two
 * single-producer/single-consumer byte rings. Each side spins briefly (never when it may
 * run on one CPU only), then sleeps on a futex; a side wakes the other only when the other
 * has said it sleeps, and clears that flag as it does (one wake per sleep, not one per
 * message). The layout's offsets come from the shim, never from this file.
 */
import { C } from "../../ffi/facts.ts";
import { runtime } from "../../ffi/process.ts";
import { nativeView, nativeViewsDetach, type Pointer, ptrToNumber, shim } from "../../ffi/runtime.ts";
import type { PendingWait } from "../../ffi/waiter.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { errnoError, ipcError, tooBigKept } from "../errors.ts";
import { PEER_CHECK_MS, processAlive } from "../names/peer-watch.ts";
import { type AnnouncedWait, deadlineIn, HeldDuringWaits, lookAgain, PeerSpin, relaxedLoad, SpinPolicy, waitAnnounced, yieldBriefly } from "../os/wait.ts";
import {
  checkRingTuning,
  hdr,
  HOW_HOLD,
  HOW_SEMAPHORE,
  isShared,
  PAD,
  recordSize,
  region,
  RING_HEADER,
  type RingGeometry,
  type RingHotPath,
  type RingMapping,
  type RingTuning,
  type RingWait,
} from "./layout.ts";
import { clearFlag, footprint, padBefore, RingDirection } from "./direction.ts";
import type { RingWord } from "./word.ts";
import { CallerWords, copySmall } from "./small-copy.ts";

/** Messages up to this many bytes are copied by a loop rather than set() (./small-copy.ts): in the 64 B stream the receiver's CPU per message fell from ~245 to ~170 ns. */
const SMALL = 128;
/**
 * How a ring copies messages unless RingTuning.hotPath says, as measured per runtime
 * (docs/benchmark.md, "the ring's two hot paths"): one shim call per send or receive on Bun
 * and Deno (64 B send + receive in one process 120 → 44 ns, 176 → 72 ns); JavaScript over
 * the mapping on Node, where a koffi call costs more than the copy it would save (a stream
 * across CPUs 3.3–3.8 M msg/s in JavaScript, 2.0–2.3 M through the shim).
 */
const defaultHotPath: RingHotPath = runtime === "node" ? "js" : "shim";
/** Spin iterations before sleeping, when more than one CPU is allowed. */
const DEFAULT_SPIN = 20000;
/**
 * An async receive's second look on the JS thread, before it parks off-thread (SpinPolicy):
 * warm 20 µs (a ring round trip across CPUs is ~1 µs), cold 0.5 µs, probing 200 µs. In
 * time, not iterations: an iteration costs 4 ns once compiled and 40+ ns before.
 */
const asyncSpin = () => new SpinPolicy(20_000, 500, 200_000);
/** The same on one CPU, where spinning keeps the peer off it: sched_yield() calls, warm 16, cold 1, probing 64. */
const asyncYields = () => new SpinPolicy(16, 1, 64);

/** A consumer's sleep slice while a relaxed producer could not be fenced (see #announceData), ms. */
const UNFENCED_SLICE_MS = 1;

/** One side of a duplex ring: side 0 is the creator, side 1 the opener. */
export class RingChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  readonly #map: RingMapping;
  readonly #side: 0 | 1;
  readonly #w: Uint32Array;
  readonly #mask: number;
  readonly #maxMessage: number;
  /** spin iterations before sleeping, when the tuning fixes them (see #spinBudget) */
  readonly #spin: number;
  readonly #spinFixed: boolean;
  /** how often a sleeping side looks at its peer (RingTuning.peerCheckMs) */
  readonly #peerCheckMs: number;
  /** the direction we produce into, and the one we consume from */
  readonly #tx: RingDirection;
  readonly #rx: RingDirection;
  /** an in-place loan: where its record starts and the head before it (and its pad) */
  #loanAt = -1;
  #loanHead = 0;
  #loanPad = 0;
  /** an in-place view: the tail after its record, -1 when none is held */
  #viewEnd = -1;
  /** the creator chose process-shared semaphores to sleep on */
  readonly #semaphore: boolean;
  /**
   * Send and receive each as one shim call (ffi/shim/ring.c) rather than JavaScript over the
   * mapping: the ring's start, and each direction's `how` word for those calls. Null for the
   * JavaScript path (and always in a SharedArrayBuffer, which has no address).
   */
  readonly #shimBase: Pointer | null;
  readonly #txHow: number;
  readonly #rxHow: number;
  /**
   * the producer's state for ipcl_ring_send: [0] its copy of the consumer's tail, [1] its
   * head, [2] publishes in a row that found no consumer asleep (relaxed from RELAX_AFTER on)
   */
  readonly #shimState = new Uint32Array(3);
  /** word views of the caller's last message sent and last receive buffer (JavaScript hot path) */
  readonly #msgWords = new CallerWords();
  readonly #outWords = new CallerWords();
  /** what ipcl_ring_recv reports: [0] the head it saw, [1] the tail after what it took */
  readonly #shimRxState = new Uint32Array(2);
  /** the ring lives in a SharedArrayBuffer (a Worker's): Atomics waits, no loans or views in place */
  readonly #atomics: boolean;
  /** loans and views are the ring itself: views of it can be detached at commit/release (not on Node, not in a SharedArrayBuffer) */
  readonly #inPlace: boolean;
  // local copies: we are the only writer of our head (tx) and tail (rx)
  #head: number;
  #tail: number;
  #peerTail: number;
  #peerHead: number;
  #peerGone = false;
  /** the mapping, kept until close() and the last async wait on it have both happened */
  readonly #held: HeldDuringWaits;

  constructor(address: string, mechanism: string, map: RingMapping, side: 0 | 1, g: RingGeometry, tuning: RingTuning = {}) {
    checkRingTuning(tuning, address);
    super(address);
    this.#map = map;
    this.#held = new HeldDuringWaits(() => map.release());
    this.#side = side;
    const m = map.base;
    this.#w = new Uint32Array(region(m, 0, RING_HEADER.size), 0, RING_HEADER.size / 4);
    this.#atomics = isShared(m);
    this.#inPlace = !this.#atomics && nativeViewsDetach;
    this.#mask = g.capacity - 1;
    this.#maxMessage = g.maxMessage;
    this.#spinFixed = tuning.spin !== undefined;
    this.#spin = tuning.spin ?? 0;
    this.#peerCheckMs = tuning.peerCheckMs ?? PEER_CHECK_MS;
    this.#tx = new RingDirection(m, side, g);
    this.#rx = new RingDirection(m, (1 - side) as 0 | 1, g);
    this.#semaphore = g.wait === "semaphore";
    this.#shimBase = (tuning.hotPath ?? defaultHotPath) === "shim" && !this.#atomics ? (m as Pointer) : null;
    const sleeps = this.#semaphore ? HOW_SEMAPHORE : 0;
    this.#txHow = side | sleeps; // bit 0: the direction
    this.#rxHow = (1 - side) | sleeps;
    this.#head = Atomics.load(this.#w, this.#tx.head);
    this.#peerTail = Atomics.load(this.#w, this.#tx.tail);
    this.#shimState[0] = this.#peerTail;
    this.#tail = Atomics.load(this.#w, this.#rx.tail);
    this.#peerHead = Atomics.load(this.#w, this.#rx.head);
    this.caps = {
      mechanism,
      maxMessageSize: g.maxMessage,
      duplex: true,
      boundaries: "framed",
      capacity: g.capacity,
      capacityUnit: "bytes",
      crossesHosts: false,
      detectsPeerExit: map.peerExitVisible ?? true,
    };
  }

  /** How this ring's sides sleep: "futex" or "semaphore" (creator's choice), or "atomics" (SharedArrayBuffer). */
  get waitStrategy(): RingWait | "atomics" {
    return this.#atomics ? "atomics" : this.#semaphore ? "semaphore" : "futex";
  }

  // ---- sleeping and waking: each on its RingWord (a futex, a semaphore, or Atomics) ----

  /** Wake the peer's consumer, asleep because our direction was empty. */
  #wakeConsumer(): void {
    this.#tx.headWord.wake();
  }

  /** Wake the peer's producer, asleep because its direction was full. */
  #wakeProducer(): void {
    this.#rx.tailWord.wake();
  }

  /**
   * How long to spin before sleeping: spinning pays when the peer runs on another CPU, and is
   * pathological when both may only run on the same single CPU (PeerSpin decides, from both
   * affinity masks, once the peer is known).
   */
  #spinBudget(): number {
    if (this.#spinFixed) return this.#spin;
    return this.#peerSpin.pays(this.peerPid) ? DEFAULT_SPIN : 0;
  }
  readonly #peerSpin = new PeerSpin();
  /**
   * A sync spin polls for ~1 µs (256 looks), then calls sched_yield() every ~1 µs: unpinned,
   * the scheduler often puts both ends on one CPU, where spinning keeps the peer off it
   * until the spin ends (p99 ~200 µs before this). When the last spin that paid had yielded
   * first, the next yields at every look from the start. A yield a busy neighbour took for its
   * whole slice ends that spin's yields (yieldBriefly).
   */
  #syncYieldFirst = false;

  /** The sync spin's yield mask: yield at looks where (i & mask) === mask; -1 never (pinned to one CPU: PeerSpin.yields). */
  #yieldMask(): number {
    return !this.#peerSpin.yields ? -1 : this.#syncYieldFirst ? 0 : 255;
  }

  /** Re-read both CPU masks before the next wait (call after pinning either process). */
  refreshSpin(): void {
    this.#peerSpin.refresh();
  }

  /** pid of the process at the other side, 0 if none has attached yet. */
  get peerPid(): number {
    return Atomics.load(this.#w, this.#side === 0 ? hdr("opener_pid") : hdr("creator_pid")) | 0;
  }

  /**
   * Record `pid` as the opener before it has opened the ring — a spawn helper knows its
   * child's pid at once — so that the child's death is noticed even if it dies before
   * attaching. Only the creator's side, and only while the slot is empty.
   */
  expectPeer(pid: number): void {
    if (this.#side === 0) Atomics.compareExchange(this.#w, hdr("opener_pid"), 0, pid);
  }

  #peerDead(): boolean {
    if (!this.#peerGone && !processAlive(this.peerPid)) this.#peerGone = true;
    return this.#peerGone;
  }

  // ---- producer ---------------------------------------------------------------------

  /** Put msg in the ring if it fits now. */
  #push(msg: Uint8Array): boolean {
    if (this.#shimBase !== null) {
      // the shim returns the head after the message, or the same head when it did not fit
      this.#shimState[1] = this.#head; // a loan may have moved it
      const after = shim.ipcl_ring_send(this.#shimBase, this.#mask + 1, this.#txHow, msg, msg.byteLength, this.#shimState);
      if (after === this.#head) return false;
      this.#head = after;
      return true;
    }
    const head = this.#write(msg, this.#head);
    if (head < 0) return false;
    this.#publish(head);
    return true;
  }

  /**
   * Copy msg into the ring at `head` if it fits now, without publishing it: the head after
   * it, or -1. A batch writes several, then publishes once.
   */
  #write(msg: Uint8Array, head: number): number {
    const cap = this.#mask + 1;
    const len = msg.byteLength;
    const need = recordSize(len);
    let pos = head & this.#mask;
    const pad = pos + need > cap && need <= pos ? cap - pos : 0; // padBefore, inline on the hot path
    if (((head - this.#peerTail) >>> 0) + pad + need > cap) {
      this.#peerTail = Atomics.load(this.#w, this.#tx.tail);
      if (((head - this.#peerTail) >>> 0) + pad + need > cap) return -1;
    }
    if (pad !== 0) {
      this.#tx.data32[pos >>> 2] = PAD;
      pos = 0;
    }
    this.#tx.data32[pos >>> 2] = len;
    const start = pos + 4;
    if (len <= SMALL && start + len <= cap) copySmall(this.#tx.data, this.#tx.data32, start, msg, 0, this.#msgWords.of(msg), len, true);
    else if (start + len <= cap) this.#tx.data.set(msg, start);
    else {
      const first = cap - start;
      this.#tx.data.set(msg.subarray(0, first), start);
      this.#tx.data.set(msg.subarray(first), 0);
    }
    return (head + pad + need) >>> 0;
  }

  /** Whether `bytes` more fit after `head` now (reading the consumer's tail only when the cached one says no). */
  #fits(head: number, bytes: number): boolean {
    const cap = this.#mask + 1;
    if (((head - this.#peerTail) >>> 0) + bytes <= cap) return true;
    this.#peerTail = Atomics.load(this.#w, this.#tx.tail);
    return ((head - this.#peerTail) >>> 0) + bytes <= cap;
  }

  /** Make everything written up to `head` visible, and wake the consumer if it sleeps. */
  #publish(head: number): void {
    const w = this.#w;
    this.#head = head;
    Atomics.store(w, this.#tx.head, head);
    // the waker clears the flag: one wake per sleep, not one per message (see clearFlag).
    // A consumer that has taken this message already (we were held up since the store) is
    // announcing a wait for the next one: clearing that would spend its wake before it sleeps
    const mark = Atomics.load(w, this.#tx.consumerWaiting);
    if (mark === 0) return;
    if (Atomics.load(w, this.#tx.tail) !== head && clearFlag(w, this.#tx.consumerWaiting, mark)) this.#wakeConsumer();
    // the consumer sleeps now and then: the shim's sends go back to fenced stores (ipcl_ring_send)
    this.#shimState[2] = 0;
    if (Atomics.load(w, this.#tx.producerRelaxed) !== 0) Atomics.store(w, this.#tx.producerRelaxed, 0);
  }

  /** Batches: write as many as fit now, publish the head once, wake at most once. */
  protected override trySendBatch(msgs: readonly Uint8Array[], from: number): number {
    this.#assertReader("trySendMany");
    let i = from;
    let head = this.#head;
    if (this.#shimBase !== null) {
      // one shim call a message, each held unpublished (RING_HOW_HOLD); the head is published once
      const st = this.#shimState;
      st[1] = head;
      for (; i < msgs.length; i++) {
        const msg = msgs[i]!;
        const next = shim.ipcl_ring_send(this.#shimBase, this.#mask + 1, this.#txHow | HOW_HOLD, msg, msg.byteLength, st);
        if (next === head) break;
        head = next;
      }
      if (i > from) this.#publish(head);
      return i - from;
    }
    for (; i < msgs.length; i++) {
      const next = this.#write(msgs[i]!, head);
      if (next < 0) break;
      head = next;
    }
    if (i > from) this.#publish(head);
    return i - from;
  }

  /** Batches: copy out up to `max` messages that are there now, release their space once. */
  protected override tryRecvBatch(max: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let len = this.#peek();
    if (len < 0) this.#checkEof();
    while (len >= 0 && out.length < max) {
      const m = new Uint8Array(len);
      this.#copyOut(len, m);
      out.push(m);
      len = this.#peek();
    }
    if (out.length > 0) this.#release();
    return out;
  }

  #assertReader(op: string): void {
    // relaxed: a send that misses a close made this instant is one that came just before it
    if (relaxedLoad(this.#w, this.#tx.closed) !== 0 || this.#peerGone) {
      throw errnoError(C.EPIPE, op, this.address, "the other side has closed the ring or its process exited: no one will read this message");
    }
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, _opts: SendOptions | undefined): boolean {
    this.#assertReader("send");
    if (this.#push(msg)) return true; // the usual case: no closure, no wait
    return timeout !== 0 && this.#untilRoom(msg.byteLength, timeout, "send", () => this.#push(msg));
  }

  /**
   * Run `attempt` (which succeeds once `len` bytes fit) until it does: at once, then
   * spinning, then asleep on the tail; false after `timeout` ms (0: one attempt).
   */
  #untilRoom(len: number, timeout: number, op: string, attempt: () => boolean): boolean {
    this.#assertReader(op);
    if (attempt()) return true;
    if (timeout === 0) return false;
    const deadline = deadlineIn(timeout, Infinity);
    for (let i = 0, spin = this.#spinBudget(), yieldMask = this.#yieldMask(); i < spin; i++) {
      if (attempt()) {
        this.#syncYieldFirst = yieldMask >= 0 && i > yieldMask;
        return true;
      }
      if ((i & yieldMask) === yieldMask && !yieldBriefly()) yieldMask = -1; // a peer on our CPU runs; a busy neighbour: no more yields
    }
    // the flag says how many bytes we wait for, so the consumer wakes us once, when they fit
    this.#roomNeed = footprint(len, this.#head, this.#mask + 1);
    this.#roomAttempt = attempt;
    this.#roomOp = op;
    return waitAnnounced(this.#roomWait, deadline, this.#peerCheckMs, op, this.address) ?? false;
  }

  /** A producer's wait for room (made once: on one CPU every send may wait, and must not allocate). */
  readonly #roomWait: AnnouncedWait<true> = {
    announce: () => Atomics.store(this.#w, this.#tx.producerWaiting, this.#roomMark(this.#roomNeed)),
    watched: () => Atomics.load(this.#w, this.#tx.tail),
    attempt: () => this.#roomAttempt() || undefined,
    sleep: (tail, ms) => this.#tx.tailWord.sleep(tail, ms),
    withdraw: () => Atomics.store(this.#w, this.#tx.producerWaiting, 0),
    afterSleep: (r) => {
      if (r === -C.ETIMEDOUT) this.#peerDead();
      this.#assertReader(this.#roomOp);
    },
  };
  #roomNeed = 0;
  #roomRounds = 0;

  /**
   * The producer's announcement of `need` bytes: a value of its own each time (need minus
   * 0..7), so that a consumer that read an earlier one cannot clear this one (clearFlag).
   * It tests the same: free space and need are multiples of the record alignment (8).
   */
  #roomMark(need: number): number {
    return need - (this.#roomRounds++ & 7);
  }

  /**
   * Raise the consumer's flag before a sleep. While the producer publishes with release
   * stores (producer_relaxed, ffi/ipcl_ring.h version 3) its last store of `head` may not
   * be visible yet, nor our flag to it: a membarrier makes it visible before we look again.
   * Where membarrier fails (a seccomp filter) the wake-up may be lost, so that sleep looks
   * again every UNFENCED_SLICE_MS until the producer, seeing the flag, fences again.
   */
  #announceData(): void {
    const w = this.#w;
    Atomics.store(w, this.#rx.consumerWaiting, this.#dataMark());
    this.#unfenced = Atomics.load(w, this.#rx.producerRelaxed) !== 0 && shim.ipcl_ring_fence() < 0;
  }
  #unfenced = false;

  /** The consumer's announcement: a non-zero value of its own each time (see #roomMark). */
  #dataMark(): number {
    this.#dataRounds = (this.#dataRounds + 1) & 0x3fffffff;
    return this.#dataRounds + 1;
  }
  #dataRounds = 0;
  #roomAttempt: () => boolean = () => false;
  #roomOp = "send";

  // ---- loans: the next record's room, written in place ----------------------------------

  /**
   * A view of the ring where the next message goes. A ring in a SharedArrayBuffer (whose
   * views cannot be detached), an empty message and a record that must wrap (larger than
   * capacity / 2) get a buffer of their own instead, copied at commit.
   */
  protected override loanImpl(size: number, timeout: number): Uint8Array | undefined {
    const head = this.#head;
    const need = recordSize(size);
    const pos = head & this.#mask;
    const pad = padBefore(pos, need, this.#mask + 1);
    if (!this.#inPlace || size === 0 || (pad === 0 && pos + need > this.#mask + 1)) return super.loanImpl(size, timeout);
    if (!this.#untilRoom(size, timeout, "loan", () => this.#fits(head, pad + need))) return undefined;
    const at = pad === 0 ? pos : 0;
    if (pad !== 0) this.#tx.data32[pos >>> 2] = PAD; // unseen until the head moves past it
    this.#loanAt = at;
    this.#loanHead = head;
    this.#loanPad = pad;
    return new Uint8Array(nativeView(this.#tx.dataPtr, at + 4, size));
  }

  protected override commitImpl(view: Uint8Array, length: number, timeout: number, opts: SendOptions | undefined): boolean {
    if (this.#loanAt < 0) return super.commitImpl(view, length, timeout, opts);
    this.#assertReader("commit");
    this.#tx.data32[this.#loanAt >>> 2] = length;
    this.#loanAt = -1;
    this.#publish((this.#loanHead + this.#loanPad + recordSize(length)) >>> 0);
    return true;
  }

  protected override abandonImpl(): void {
    this.#loanAt = -1; // nothing was published: the next record is written over it
  }

  // ---- consumer ---------------------------------------------------------------------

  /** Length of the next message, or -1 when the ring is empty. */
  #peek(): number {
    if (this.#peerHead === this.#tail) {
      this.#peerHead = Atomics.load(this.#w, this.#rx.head);
      if (this.#peerHead === this.#tail) return -1;
    }
    const pos = this.#tail & this.#mask;
    const len = this.#rx.data32[pos >>> 2]!;
    if (len > this.#maxMessage) {
      if (len === PAD) {
        // the producer started its next record at offset 0: skip to it (and free the pad now)
        this.#tail = (this.#tail + this.#mask + 1 - pos) >>> 0;
        this.#release();
        return this.#peek();
      }
      throw ipcError(
        "EPROTO",
        "recv",
        this.address,
        `the ring holds a message of ${len} bytes, above its maximum ${this.#maxMessage}: the shared memory was corrupted or written by something else`,
      );
    }
    return len;
  }

  /** Batches without allocation: pack what is there into buf, release the space once. */
  protected override tryRecvBatchInto(buf: Uint8Array, lengths: Uint32Array): number {
    if (this.#shimBase !== null) {
      // one shim call for the batch; -1: empty; -2: the first is too long (the JavaScript below says which way)
      const got = shim.ipcl_ring_recv_many(this.#shimBase, this.#mask + 1, this.#rxHow, this.#maxMessage, buf, buf.byteLength, lengths, lengths.length);
      if (got > 0) {
        this.#afterShimRecv();
        return got;
      }
      if (got === -1) {
        this.#checkEof();
        return 0;
      }
    }
    let n = 0;
    let at = 0;
    let len = this.#peek();
    if (len < 0) this.#checkEof();
    if (len > buf.byteLength) {
      throw tooBigKept(len, buf.byteLength, "tryRecvManyInto", this.address);
    }
    while (len >= 0 && n < lengths.length && at + len <= buf.byteLength) {
      this.#copyOut(len, buf, at);
      lengths[n++] = len;
      at += len;
      len = this.#peek();
    }
    if (n > 0) this.#release();
    return n;
  }

  /** Copy the next message (of length len) into out and release its space. */
  #take(len: number, out: Uint8Array): void {
    if (this.#shimBase !== null) this.#shimRecv(out, len);
    else {
      this.#copyOut(len, out);
      this.#release();
    }
  }

  /**
   * The next message into out, of at most `room` bytes, copied and released by one shim call
   * (ffi/shim/ring.c): its length, -1 when the ring is empty, -2 when it is longer than room.
   */
  #shimRecv(out: Uint8Array, room: number): number {
    const st = this.#shimRxState;
    const n = shim.ipcl_ring_recv(this.#shimBase!, this.#mask + 1, this.#rxHow, out, room, st);
    this.#peerHead = st[0]!; // a head ahead of our tail: the next receive needs not read it
    if (n >= 0) this.#tail = st[1]!;
    return n;
  }

  /** The shim moved our tail: take it, and forget the head we had seen. */
  #afterShimRecv(): void {
    this.#tail = Atomics.load(this.#w, this.#rx.tail);
    this.#peerHead = this.#tail; // not known now: "looks empty" makes #peek read the head again
  }

  /** Copy the next message (of length len) into out and step our tail past it (not yet published). */
  #copyOut(len: number, out: Uint8Array, at = 0): void {
    const cap = this.#mask + 1;
    const start = (this.#tail & this.#mask) + 4;
    if (len <= SMALL && start + len <= cap) copySmall(this.#rx.data, this.#rx.data32, start, out, at, this.#outWords.of(out), len, false);
    else if (start + len <= cap) out.set(this.#rx.data.subarray(start, start + len), at);
    else {
      const first = cap - start;
      out.set(this.#rx.data.subarray(start, cap), at);
      out.set(this.#rx.data.subarray(0, len - first), at + first);
    }
    this.#tail = (this.#tail + recordSize(len)) >>> 0;
  }

  /** Publish our tail (the space is the producer's again), and wake the producer once its message fits. */
  #release(): void {
    const w = this.#w;
    Atomics.store(w, this.#rx.tail, this.#tail);
    const want = Atomics.load(w, this.#rx.producerWaiting);
    if (want !== 0) {
      // Wake the producer once its message fits, not before: a wake spent on a tail it has
      // already seen (still short of room) would leave it asleep while the ring drains. It
      // sees the same head and this tail, so it agrees that the message fits.
      const free = this.#mask + 1 - ((Atomics.load(w, this.#rx.head) - this.#tail) >>> 0);
      if (free >= want && clearFlag(w, this.#rx.producerWaiting, want)) this.#wakeProducer();
    }
  }

  /** EOF once the ring is drained and the peer closed or died. */
  #checkEof(): void {
    if (Atomics.load(this.#w, this.#rx.closed) !== 0 || this.#peerGone) {
      // the peer may have pushed a last message before closing
      if (Atomics.load(this.#w, this.#rx.head) !== this.#tail) return;
      throw ipcError(
        "EOF",
        "recv",
        this.address,
        `the other side of ${this.address} has closed${this.#peerGone ? " (its process exited)" : ""}: no more messages will come`,
      );
    }
  }

  /** Wait until a message is there; -1 on timeout, else its length. */
  #waitLength(timeout: number): number {
    const len = this.#peek();
    if (len >= 0) return len;
    this.#checkEof();
    if (timeout === 0) return -1;
    const w = this.#w;
    for (let i = 0, spin = this.#spinBudget(), yieldMask = this.#yieldMask(); i < spin; i++) {
      if (Atomics.load(w, this.#rx.head) !== this.#tail) {
        this.#syncYieldFirst = yieldMask >= 0 && i > yieldMask;
        return this.#peek();
      }
      if ((i & yieldMask) === yieldMask && !yieldBriefly()) yieldMask = -1; // a peer on our CPU runs; a busy neighbour: no more yields
    }
    return waitAnnounced(this.#dataWait, deadlineIn(timeout, Infinity), this.#peerCheckMs, "recv", this.address) ?? -1;
  }

  /** A consumer's wait for a message (made once, as #roomWait). */
  readonly #dataWait: AnnouncedWait<number> = {
    announce: () => this.#announceData(),
    watched: () => this.#tail,
    attempt: () => {
      const len = this.#peek();
      return len >= 0 ? len : undefined;
    },
    beforeSleep: () => this.#checkEof(),
    sleep: (tail, ms) => this.#rx.headWord.sleep(tail, this.#unfenced ? Math.min(ms, UNFENCED_SLICE_MS) : ms),
    withdraw: () => Atomics.store(this.#w, this.#rx.consumerWaiting, 0),
    afterSleep: (r) => r === -C.ETIMEDOUT && this.#peerDead(),
  };

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    if (this.#shimBase !== null) {
      // -1: empty; -2: longer than buf (or a corrupted length): the JavaScript below says which
      const n = this.#shimRecv(buf, Math.min(buf.byteLength, this.#maxMessage));
      if (n >= 0) return n;
    }
    const len = this.#waitLength(timeout);
    if (len < 0) return -1;
    if (len > buf.byteLength) {
      throw tooBigKept(len, buf.byteLength, "recvInto", this.address);
    }
    this.#take(len, buf);
    return len;
  }

  protected override recvMessage(timeout: number): Uint8Array | undefined {
    const len = this.#waitLength(timeout);
    if (len < 0) return undefined;
    const out = new Uint8Array(len);
    this.#take(len, out);
    return out;
  }

  // ---- views: the next message, read in place -----------------------------------------

  /**
   * The next message in place, until releaseImpl(). A ring in a SharedArrayBuffer or on Node,
   * an empty message and one that wraps (larger than capacity / 2) are copied out instead,
   * into the memory of the last such copy when it fits (viewCopy).
   */
  protected override viewImpl(timeout: number): Uint8Array | undefined {
    const len = this.#waitLength(timeout);
    if (len < 0) return undefined;
    const start = (this.#tail & this.#mask) + 4;
    if (!this.#inPlace || len === 0 || start + len > this.#mask + 1) {
      const out = this.viewCopy(len);
      this.#take(len, out);
      return out;
    }
    this.#viewEnd = (this.#tail + recordSize(len)) >>> 0;
    return new Uint8Array(nativeView(this.#rx.dataPtr, start, len));
  }

  protected override releaseImpl(): void {
    if (this.#viewEnd < 0) return;
    this.#tail = this.#viewEnd;
    this.#viewEnd = -1;
    this.#release();
  }

  /**
   * Look again on the JS thread before parking: a reply that is a few µs away costs no
   * thread handoff. Across CPUs: spin, adaptively (lookAgain, asyncSpin). On one CPU:
   * sched_yield(), which runs the peer if it is ready, as a sync wait's sleep would.
   */
  protected override readableSoon(): boolean {
    const spin = this.#spinBudget();
    if (spin === 0 && (this.#spinFixed || this.peerPid <= 0)) return false; // spin: 0 asked for no busy waiting; no peer yet
    return lookAgain(this.#w, this.#rx.head, this.#tail, spin === 0, this.#asyncSpin, this.#asyncYields, this.#peerSpin.yields);
  }
  readonly #asyncSpin = asyncSpin();
  readonly #asyncYields = asyncYields();

  protected override waitReadable(timeout: number): PendingWait {
    const w = this.#w;
    this.#announceData();
    // a message pushed before the flag was up brought no wake: look again now that it is
    if (Atomics.load(w, this.#rx.head) !== this.#tail) {
      Atomics.store(w, this.#rx.consumerWaiting, 0);
      return { result: Promise.resolve(0), cancel: () => {} };
    }
    return this.#park(this.#rx.headWord, this.#tail, this.#rx.consumerWaiting, timeout);
  }

  protected override selectArm(): { address: number; value: number } | "ready" | undefined {
    if (!this.#rx.headWord.sharable || this.closed) return undefined; // no futex word to share a wait on
    const w = this.#w;
    this.#announceData();
    if (Atomics.load(w, this.#rx.head) !== this.#tail) {
      Atomics.store(w, this.#rx.consumerWaiting, 0);
      return "ready";
    }
    return { address: ptrToNumber(this.#rx.headWord.ptr), value: this.#tail };
  }

  protected override selectDisarm(): void {
    if (!this.closed) Atomics.store(this.#w, this.#rx.consumerWaiting, 0);
  }

  protected override waitWritable(timeout: number, size: number): PendingWait {
    const w = this.#w;
    const need = footprint(size, this.#head, this.#mask + 1);
    // the flag says how many bytes we wait for, so the consumer wakes us once, when they fit
    Atomics.store(w, this.#tx.producerWaiting, this.#roomMark(need));
    const tail = Atomics.load(w, this.#tx.tail);
    if (((this.#head - tail) >>> 0) + need <= this.#mask + 1) {
      Atomics.store(w, this.#tx.producerWaiting, 0);
      return { result: Promise.resolve(0), cancel: () => {} };
    }
    return this.#park(this.#tx.tailWord, tail, this.#tx.producerWaiting, timeout);
  }

  /**
   * Sleep off the JS thread while `word` still holds `value`, for at most one peer-check
   * slice; the wait's end lowers the `flag` the caller raised. Native memory stays mapped
   * until the last such wait has returned (close() may come first).
   */
  #park(word: RingWord, value: number, flag: number, timeout: number): PendingWait {
    const most = flag === this.#rx.consumerWaiting && this.#unfenced ? UNFENCED_SLICE_MS : this.#peerCheckMs;
    const slice = Math.min(timeout < 0 ? most : timeout, most);
    const w = this.#w;
    const wait = word.sleepAsync(value, slice);
    return {
      cancel: wait.cancel,
      result: (this.#atomics ? wait.result : this.#held.track(wait.result)).then((r) => {
        if (!this.closed) {
          Atomics.store(w, flag, 0);
          if (r === -C.ETIMEDOUT) this.#peerDead();
        }
        return r;
      }),
    };
  }

  protected override closeImpl(): void {
    const w = this.#w;
    Atomics.store(w, this.#tx.closed, 1);
    Atomics.store(w, this.#rx.closed, 1);
    // wake whoever sleeps, so they see `closed`
    const words = [this.#tx.headWord, this.#rx.tailWord, this.#rx.headWord];
    for (const word of this.#semaphore ? words : [...words, this.#tx.tailWord]) word.wakeAll(); // a semaphore of our own producer's: nobody waits there now
    this.#map.unlink?.();
    this.#msgWords.clear();
    this.#outWords.clear();
    // a waiter thread still inside a wait on this memory: unmap once it has returned
    this.#held.release();
  }
}
