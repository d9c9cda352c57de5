/**
 * Noticing that the other side of a named queue or semaphore has died. The kernel says
 * nothing when a process holding a message queue or a semaphore exits, so the registry
 * (lib/names/registry.ts) records creators and openers, and a waiting side checks every
 * PEER_CHECK_MS that its peers still exist: an opener its creator, a creator the openers.
 * Once they are gone, a receive with nothing left to take ends with EOF and a send into a
 * full queue with EPIPE, instead of waiting for ever.
 */
import { alive, forgetOpenerRecord, openersOf, ownerOf, registerOpener } from "./registry.ts";
import { deadlineIn } from "../os/wait.ts";
import { racePoints } from "../os/race-points.ts";

// This process's opener records, removed when it exits normally even without close():
// only a process that dies leaves one behind for its creator to notice.
const recorded = new Map<string, number>();
let exitHook = false;

function recordOpener(address: string): void {
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const a of recorded.keys()) forgetOpenerRecord(a, process.pid);
    });
  }
  recorded.set(address, (recorded.get(address) ?? 0) + 1);
  registerOpener(address);
}

function forgetOpener(address: string): void {
  const n = (recorded.get(address) ?? 1) - 1;
  if (n > 0) return void recorded.set(address, n); // another channel of ours still has it open
  recorded.delete(address);
  forgetOpenerRecord(address, process.pid);
}

/** How often a waiting side looks at its peers (ms). */
export const PEER_CHECK_MS = 100;

/** Whether process `pid` exists (pid <= 0: unknown, taken as alive). */
export function processAlive(pid: number): boolean {
  return pid <= 0 || alive(pid);
}

/**
 * The other side of a named queue or semaphore: for an opener, its creator (from the
 * registry of owned names); for the creator, every process that recorded itself as an
 * opener. "Gone" once those processes are all known to have exited.
 */
export class PeerWatch {
  readonly #address: string;
  readonly #who: "creator" | "openers";
  #pids: number[] = [];
  #gone = false;
  #lastCheck = 0;

  private constructor(address: string, who: "creator" | "openers") {
    this.#address = address;
    this.#who = who;
  }

  /**
   * A watch on the creator of `address`, for a process that opened it: recorded here as an
   * opener, so the creator can watch back. The creator's pid is looked up when first
   * needed: a creator registers just after creating, so an opener can be quicker.
   */
  static onCreator(address: string): PeerWatch {
    recordOpener(address);
    return new PeerWatch(address, "creator");
  }

  /** A watch on the processes that opened `address`, for its creator. */
  static onOpeners(address: string): PeerWatch {
    return new PeerWatch(address, "openers");
  }

  /** Stop watching (the channel closes): an opener drops its record. */
  close(): void {
    if (this.#who === "creator") forgetOpener(this.#address);
  }

  /**
   * Whether the watched processes are known to have exited; looks at most every
   * PEER_CHECK_MS. `lastLook`: once they are found dead, one more attempt that does not wait
   * (true: it found something) — they may have done their last (sent their last messages)
   * after the caller's attempt found nothing and before they exited; then they are not
   * reported gone this time, nor forgotten, so the next look that finds nothing says so.
   */
  gone(lastLook?: () => boolean): boolean {
    if (this.#gone) return !lastLook?.();
    const now = performance.now();
    if (now - this.#lastCheck < PEER_CHECK_MS) return false;
    this.#lastCheck = now;
    if (this.#who === "creator") {
      if (this.#pids.length === 0) this.#lookUp();
      // a dead creator stays dead: the object we hold is its
      this.#gone = this.#pids.length > 0 && !processAlive(this.#pids[0]!);
      return this.#gone && !lastLook?.();
    }
    // openers come and go: look afresh each time, and never conclude for good. Once every
    // recorded opener is dead, say so once and drop their records, so that a creator that
    // goes on (a server waiting for new clients) waits again instead of failing at once.
    this.#lookUp();
    if (this.#pids.length === 0 || this.#pids.some((p) => processAlive(p)) || lastLook?.()) return false;
    for (const p of this.#pids) forgetOpenerRecord(this.#address, p);
    return true;
  }

  /**
   * One watched process's pid (0 while none is known), for choosing how to wait — not to
   * judge liveness (gone() does, and keeps it current). While none is known it is looked up
   * in the registry (a file read) at asks 1, 2, 4, 8, … then every 65536th: a peer that
   * opens just after us is found within a few messages, and one that never registers (a C
   * program) costs next to nothing.
   */
  pid(): number {
    if (this.#pids.length === 0 && ++this.#pidAsks === this.#nextLookup) {
      this.#nextLookup += Math.min(this.#nextLookup, 65536);
      this.#lookUp();
    }
    return this.#pids[0] ?? 0;
  }
  #pidAsks = 0;
  #nextLookup = 1;

  /** Read the watched pids from the registry: the creator (unless it is us), or every opener but us. */
  #lookUp(): void {
    if (this.#who === "creator") {
      const pid = ownerOf(this.#address);
      if (pid !== undefined && pid !== process.pid) this.#pids = [pid];
    } else this.#pids = openersOf(this.#address).filter((p) => p !== process.pid);
  }

  /** Who is gone, for messages: "the creator of X (pid N)" or "every process that opened X (pids …)". */
  #whom(): string {
    return this.#who === "creator"
      ? `the creator of ${this.#address} (pid ${this.#pids[0] ?? "?"})`
      : `every process that opened ${this.#address} (pid ${this.#pids.join(", ")})`;
  }

  /**
   * A blocking call the caller made for slice(timeout) ms found nothing to do (result `r`).
   * Look at the peers; while they live, go on calling `attempt(ms)` in slices until it does
   * something or the rest of `timeout` (-1: no limit) has passed. Returns the last result,
   * or "gone". The first call is the caller's, with no closure and no clock read, so a call
   * that succeeds at once (the hot path) costs nothing extra.
   */
  afterIdle(r: number, timeout: number, idle: (r: number) => boolean, attempt: (ms: number) => number): number | "gone" {
    racePoints.peerIdle?.();
    const last = this.#goneOr(idle, attempt);
    if (last !== undefined) return last;
    if (timeout >= 0 && timeout <= PEER_CHECK_MS) return r;
    return this.#sliced(timeout < 0 ? -1 : timeout - PEER_CHECK_MS, idle, attempt);
  }

  #sliced(timeout: number, idle: (r: number) => boolean, attempt: (ms: number) => number): number | "gone" {
    const deadline = deadlineIn(timeout, Infinity);
    for (;;) {
      const left = deadline - performance.now();
      const r = attempt(Math.max(0, Math.min(left, PEER_CHECK_MS)));
      if (!idle(r) || left <= PEER_CHECK_MS) return r;
      const last = this.#goneOr(idle, attempt);
      if (last !== undefined) return last;
    }
  }

  /**
   * "gone" when the peers have exited with nothing left for `attempt` (made once more, not
   * waiting: a busy machine had a semaphore's peer post its last tokens after the receiver's
   * wait found none and before it exited, and the receiver said EOF); what that last attempt
   * found, if it found something; undefined while they live.
   */
  #goneOr(idle: (r: number) => boolean, attempt: (ms: number) => number): number | "gone" | undefined {
    let last: number | undefined;
    if (this.gone(() => !idle(last = attempt(0)))) return "gone";
    return last !== undefined && !idle(last) ? last : undefined;
  }

  /** A wait of `timeout` ms (-1: no limit, 0: none) cut to one slice, so the caller comes back to look. */
  slice(timeout: number): number {
    return timeout < 0 ? PEER_CHECK_MS : Math.min(timeout, PEER_CHECK_MS);
  }

  /** The IpcError text for a receive that can no longer be answered. */
  recvMessage(): string {
    return `${this.#whom()} has exited and nothing is left to receive: no more messages will come`;
  }

  /** The IpcError text for a send that can no longer be taken. */
  sendMessage(): string {
    return `${this.#whom()} has exited and the queue is full: no one will take this message`;
  }
}
