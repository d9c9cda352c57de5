/**
 * A topic's shared memory as typed views, and its publishing side: taking the publishers'
 * turn, finding room (the slowest live subscriber, dead ones reaped), retiring what will
 * be overwritten before it is, writing a record and handing the turn on. Split from the
 * channel (lib/channels/topic.ts) the way iceoryx2 keeps its publisher apart from its
 * subscriber: the two share only the region and its words (docs/wire-formats.md).
 */
import { nativeView, type Pointer, ptrAdd, shim } from "../../ffi/runtime.ts";
import { processAlive } from "../names/peer-watch.ts";
import { deadlineIn, waitAnnounced, yieldBriefly } from "../os/wait.ts";
import { layoutOf, LINE, type Mapped, PAD, padBefore, recordEnd, recordSize, S, TURN_TRIES, W } from "./topic-layout.ts";

/** Typed views over one mapped topic, shared by its publisher and subscriber sides. */
export class TopicRegion {
  /** the control words, as u32 and as i32 (for Atomics.compareExchange on pids) */
  readonly w: Uint32Array;
  readonly wi: Int32Array;
  /** the history index: [start, sequence] per kept message */
  readonly hist: Uint32Array;
  /** the subscriber table, LINE bytes a subscriber */
  readonly subs: Int32Array;
  /** the data ring, as bytes and as words (record headers) */
  readonly data: Uint8Array;
  readonly data32: Uint32Array;
  /** where the data ring starts: loans and views are made over it */
  readonly dataPtr: Pointer;
  readonly mask: number;

  constructor(readonly m: Mapped) {
    const g = m.g;
    const l = layoutOf(g.capacity, g.maxSubscribers, g.history);
    this.w = new Uint32Array(nativeView(m.base, 0, LINE * 3));
    this.wi = new Int32Array(this.w.buffer, this.w.byteOffset, this.w.length);
    this.hist = new Uint32Array(nativeView(m.base, l.hist, Math.max(8, g.history * 8)));
    this.subs = new Int32Array(nativeView(m.base, l.subs, g.maxSubscribers * LINE));
    this.data = new Uint8Array(nativeView(m.base, l.data, g.capacity));
    this.dataPtr = ptrAdd(m.base, l.data);
    this.data32 = new Uint32Array(this.data.buffer, this.data.byteOffset, g.capacity / 4);
    this.mask = g.capacity - 1;
  }

  /** The address of control word `word` (a futex). */
  wordAt(word: number): Pointer {
    return ptrAdd(this.m.base, word * 4);
  }

  /**
   * Take the publisher word (or a work queue's consumer word): free, or held by a process
   * that has died. With `tries`, give up after that many looks (false): a loan holds the
   * publishers' turn until its commit, and a send must still honour its timeout.
   */
  takeTurn(word: number = W.publisher, tries = Infinity): boolean {
    const w = this.wi;
    for (let i = 0; i < tries; i++) {
      const holder = Atomics.compareExchange(w, word, 0, process.pid);
      if (holder === 0) return true;
      if (i % 1024 === 1023 && !processAlive(holder) && Atomics.compareExchange(w, word, holder, process.pid) === holder) return true;
      // another one is mid-copy. A yield that a busy neighbour took for its whole slice says
      // each further one would lose another: where we may give up (a loan may hold the turn
      // until its commit), wait on `room` instead — 2048 such yields kept a send with a 50 ms
      // timeout 1.7–5.7 s beside a busy loop. Before giving up, look whether the holder has
      // died (it never hands on): the look every 1024 tries above comes too late then.
      if (i > 32 && !yieldBriefly() && tries !== Infinity) {
        return !processAlive(holder) && Atomics.compareExchange(w, word, holder, process.pid) === holder;
      }
    }
    return false;
  }

  /** Let go of a word taken with takeTurn. */
  giveTurn(word: number = W.publisher): void {
    Atomics.store(this.wi, word, 0);
  }

  /**
   * Until `attempt` succeeds (true) or `deadline` (performance.now() based) passes (false):
   * asleep on `room`, announced in writersWaiting, so that a subscriber's read and a
   * publisher's letting go of the turn (roomMoved) wake us. Slices of `slice` ms; a stop
   * signal ends the wait (EINTR for `op`).
   */
  untilRoomMoves(attempt: () => boolean, deadline: number, slice: number, op: string, address: string): boolean {
    let room = 0;
    return waitAnnounced(
      {
        announce: () => (room = this.announceWriter()),
        watched: () => room,
        attempt: () => attempt() || undefined,
        sleep: (seen, ms) => shim.ipcl_futex_wait(this.wordAt(W.room), seen, ms),
        withdraw: () => {}, // the waker clears the flag (a flag left set costs the next one a wake)
      },
      deadline,
      slice,
      op,
      address,
    ) ?? false;
  }

  /**
   * A publisher is about to sleep on `room`: the value to sleep on, read before the flag is
   * set. In this order, whoever clears the flag bumps `room` after our read, so the sleep
   * returns at once or is woken — also when the flag it cleared was set for an earlier look.
   */
  announceWriter(): number {
    const room = Atomics.load(this.wi, W.room);
    Atomics.store(this.wi, W.writersWaiting, 1);
    return room;
  }

  /** A reader is about to sleep: the value of `wakes` to sleep on, read before the flag is set (as announceWriter). */
  announceReader(): number {
    const wakes = Atomics.load(this.wi, W.wakes);
    Atomics.store(this.wi, W.readersWaiting, 1);
    return wakes;
  }

  /**
   * After `head` moved: wake every sleeping reader, if one announced. The waker clears the
   * flag, so a burst of messages costs one wake per sleep, not one per message — with a
   * count of sleepers, woken readers not yet running (one CPU) kept it above zero, and every
   * message paid a futex call (~1 µs here) for nothing.
   */
  wakeReaders(): void {
    const w = this.wi;
    if (Atomics.load(w, W.readersWaiting) === 0 || Atomics.exchange(w, W.readersWaiting, 0) === 0) return;
    Atomics.add(w, W.wakes, 1);
    shim.ipcl_futex_wake(this.wordAt(W.wakes), 1 << 30);
  }

  /**
   * Take the publishers' turn however long another holds it — a loan holds it until its
   * commit — asleep on `room` after a few looks (the holder's letting go wakes us), not
   * yielding for good; a holder that died is taken over (takeTurn), a stop signal ends the
   * wait (EINTR for `op`).
   */
  waitTurn(slice: number, op: string, address: string): void {
    if (this.takeTurn(W.publisher, TURN_TRIES)) return;
    this.untilRoomMoves(() => this.takeTurn(W.publisher, TURN_TRIES), Infinity, slice, op, address);
  }

  /**
   * The room moved (a subscriber read, or left, or a publisher let go): wake publishers that
   * announced a wait for it (`always`: whether or not one did), clearing the flag as
   * wakeReaders does.
   */
  roomMoved(always = false): void {
    const w = this.wi;
    if (Atomics.load(w, W.writersWaiting) === 0 ? !always : Atomics.exchange(w, W.writersWaiting, 0) === 0 && !always) return;
    Atomics.add(w, W.room, 1);
    shim.ipcl_futex_wake(this.wordAt(W.room), 1 << 30);
  }
}

/** The publishing side of one participant. */
export class TopicPublisher {
  /** a publisher's cache of the slowest live tail, valid while the subscriber epoch stands (tails only move on) */
  #slowTail = 0;
  #slowEpoch = -1;
  /** where the reserved record starts (a free-running position) */
  #reserved = 0;

  constructor(
    readonly r: TopicRegion,
    readonly policy: "block" | "drop-oldest",
    readonly address: string,
    readonly peerCheckMs: number,
  ) {}

  /** Publish msg if there is room now (always, with "drop-oldest"). */
  tryPublish(msg: Uint8Array, reap: boolean): boolean {
    const at = this.reserve(msg.byteLength, reap);
    if (at < 0) return false;
    this.r.data.set(msg, at + 8);
    this.finish(msg.byteLength);
    return true;
  }

  /**
   * Publish as many of msgs (from `from` on) as fit now, in order, under one turn: the turn
   * taken once, `head` stored once, readers woken at most once — how many. A batch of
   * single sends paid each of those per message (`sendMany` ran slower than `send`).
   */
  tryPublishMany(msgs: readonly Uint8Array[], from: number, reap: boolean): number {
    const r = this.r;
    if (!r.takeTurn(W.publisher, TURN_TRIES)) return 0; // a loan holds the turn: the caller waits as a send would
    let head = Atomics.load(r.w, W.head);
    let i = from;
    for (; i < msgs.length; i++) {
      const msg = msgs[i]!;
      const at = this.#place(head, msg.byteLength, reap);
      if (at < 0) break;
      r.data.set(msg, at + 8);
      head = this.#record(msg.byteLength);
    }
    if (i > from) this.#publish(head);
    else this.handOn();
    return i - from;
  }

  /**
   * Take the publishers' turn and room for a record of `len` bytes: its position in the
   * data, holding the publisher word until finish (or handOn); -1 (and the word let go)
   * when there is no room now.
   */
  reserve(len: number, reap: boolean): number {
    const r = this.r;
    if (!r.takeTurn(W.publisher, TURN_TRIES)) return -1; // another publisher holds the turn (a loan): wait for room, then try again
    const at = this.#place(Atomics.load(r.w, W.head), len, reap);
    if (at < 0) r.giveTurn();
    return at;
  }

  /**
   * Without taking or moving anything: whether a record of `len` bytes could be published
   * now — the turn free and, with "block", room after the slowest live subscriber. An async
   * send's second look after announcing its wait: room freed between its failed try and the
   * announcement bumped no `room` (the flag was not yet set), so only a look sees it.
   */
  mayPublish(len: number): boolean {
    const r = this.r;
    if (Atomics.load(r.wi, W.publisher) !== 0) return false;
    if (this.policy !== "block") return true;
    const head = Atomics.load(r.w, W.head);
    return ((recordEnd(head, len, r.mask) - this.#slowest(head, false)) >>> 0) <= r.mask + 1;
  }

  /** Publish the reserved record with `len` payload bytes (already in place), let go of the turn, wake readers. */
  finish(len: number): void {
    this.#publish(this.#record(len));
  }

  /**
   * Holding the turn: room for a record of `len` bytes after `head` — its position in the
   * data (the record starts at #reserved), with what it overwrites retired and a pad before
   * it where it would straddle the end — or -1 when there is none now.
   */
  #place(head: number, len: number, reap: boolean): number {
    const r = this.r;
    const w = r.w;
    const cap = r.mask + 1;
    let pos = head & r.mask;
    const pad = padBefore(head, len, r.mask);
    const end = (head + pad + recordSize(len)) >>> 0;
    if (this.policy === "block" && ((end - this.#slowTail) >>> 0) > cap || this.#slowEpoch !== Atomics.load(w, W.epoch)) {
      // the cached slowest tail says no (or a subscriber joined): look at every subscriber
      this.#slowEpoch = Atomics.load(w, W.epoch);
      this.#slowTail = this.#slowest(head, reap);
      if (this.policy === "block" && ((end - this.#slowTail) >>> 0) > cap) return -1;
    }
    this.#retire(end, cap);
    if (pad !== 0) {
      r.data32[pos >>> 2] = PAD;
      pos = 0;
    }
    this.#reserved = (head + pad) >>> 0;
    return pos;
  }

  /** The reserved record's header (`len` bytes, the next sequence number) and history entry; the head after it (not yet stored). */
  #record(len: number): number {
    const r = this.r;
    const w = r.w;
    const start = this.#reserved;
    const pos = start & r.mask;
    const seq = w[W.seq]!;
    r.data32[pos >>> 2] = len;
    r.data32[(pos >>> 2) + 1] = seq;
    const history = r.m.g.history;
    if (history > 0) {
      const h = (seq % history) * 2;
      r.hist[h] = start;
      r.hist[h + 1] = seq;
    }
    w[W.seq] = (seq + 1) >>> 0;
    return (start + recordSize(len)) >>> 0;
  }

  /** Make every record up to `head` visible, let go of the turn, wake readers. */
  #publish(head: number): void {
    const w = this.r.w;
    if (w[W.lastPublisher] !== process.pid) w[W.lastPublisher] = process.pid;
    Atomics.store(w, W.head, head);
    this.handOn();
    this.r.wakeReaders();
  }

  /** Let go of the publishers' turn; a publisher that waited for it (on `room`) tries again. */
  handOn(): void {
    this.r.giveTurn();
    this.r.roomMoved();
  }

  /** Retry `attempt` (true once it published) until `timeout` ms pass, waiting on `room` and looking for dead subscribers. */
  untilRoom(timeout: number, op: string, attempt: (reap: boolean) => boolean): boolean {
    if (timeout === 0) return attempt(true); // look for dead subscribers before saying "full"
    return this.r.untilRoomMoves(() => attempt(true), deadlineIn(timeout, Infinity), this.peerCheckMs, op, this.address);
  }

  /** The smallest tail among live subscribers (dead ones checked and freed when `reap`), or `head` if none. */
  #slowest(head: number, reap: boolean): number {
    const subs = this.r.subs;
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

  /**
   * Move `oldest` past every record that writing up to `end` will destroy (before writing
   * it). With "block" and no history, every record behind the slowest live tail has been
   * read by everyone (and a new subscriber starts at the head): those go too, at once, so
   * that `oldest` — a word every reader loads for each message — changes once a ring-full
   * rather than once a record, once the ring has wrapped.
   */
  #retire(end: number, cap: number): void {
    const r = this.r;
    const w = r.w;
    let oldest = Atomics.load(w, W.oldest);
    if (((end - oldest) >>> 0) <= cap) return;
    let oldestSeq = Atomics.load(w, W.oldestSeq);
    const read = this.policy === "block" && r.m.g.history === 0 ? this.#slowTail : oldest;
    while (((end - oldest) >>> 0) > cap || ((read - oldest) | 0) > 0) {
      const pos = oldest & r.mask;
      const len = r.data32[pos >>> 2]!;
      if (len === PAD) oldest = (oldest + cap - pos) >>> 0;
      else {
        oldest = (oldest + recordSize(len)) >>> 0;
        oldestSeq = (oldestSeq + 1) >>> 0;
      }
    }
    Atomics.store(w, W.oldestSeq, oldestSeq);
    Atomics.store(w, W.oldest, oldest); // before the bytes change: a reader that copied them looks at it after
  }
}
