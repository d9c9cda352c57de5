/**
 * The deterministic message sequence both sides of a conformance run agree on: message i
 * has a size from sizeFor(i, max) and contents from fillMessage(i, ...), so the receiver
 * can check every message arrived whole, in order, and uncorrupted.
 */

/** A 32-bit mix of i (splitmix-style), for sizes that look random but repeat exactly. */
function mix(i: number): number {
  let x = (i + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Size of message i for a channel whose maximum is max: every size class appears — 0,
 * max and max-1 regularly, a log-uniform spread across the whole range, and mostly small
 * messages so 100 000 of them stay quick. Channels under 64 bytes get 4 bytes and up
 * (room for the sequence number) besides the regular 0, max and max-1.
 */
export function sizeFor(i: number, max: number): number {
  const r = i % 1000;
  if (r === 0) return 0;
  if (r === 1) return max;
  if (r === 2) return Math.max(0, max - 1);
  const h = mix(i);
  // tiny channels (a signal's 7 bytes): 4 bytes and up, so nearly every message carries
  // its number (only the regular size-0 one does not)
  if (max < 64 && max >= 4) return 4 + (h % (max - 3));
  if (i % 37 === 3) {
    // log-uniform in [1, max]
    const bits = Math.log2(max + 1);
    return Math.min(max, Math.floor(2 ** ((h / 2 ** 32) * bits)));
  }
  return h % (Math.min(max, 256) + 1);
}

/** Fill buf[0..size) with message i: a u32 LE sequence number, then a pattern tied to i. */
export function fillMessage(i: number, buf: Uint8Array, size: number): Uint8Array {
  const m = buf.subarray(0, size);
  const seed = mix(i) & 0xff;
  for (let j = 0; j < size; j++) m[j] = (seed + j * 31) & 0xff;
  if (size >= 4) new DataView(m.buffer, m.byteOffset, 4).setUint32(0, i, true);
  return m;
}

/** Check that msg is message i; returns a description of the first problem, or "". */
export function checkMessage(i: number, msg: Uint8Array, max: number): string {
  const size = sizeFor(i, max);
  if (msg.byteLength !== size) return `message ${i}: expected ${size} bytes, got ${msg.byteLength}`;
  if (size >= 4) {
    const seq = new DataView(msg.buffer, msg.byteOffset, 4).getUint32(0, true);
    if (seq !== i) return `message ${i}: carries sequence number ${seq} (lost, duplicated or reordered)`;
  }
  const seed = mix(i) & 0xff;
  for (let j = size >= 4 ? 4 : 0; j < size; j++) {
    if (msg[j] !== ((seed + j * 31) & 0xff)) return `message ${i}: byte ${j} is corrupted`;
  }
  return "";
}

/**
 * Flow control for unreliable channels (UDP): after every `window` bytes the sender waits
 * for an acknowledgement, which the receiver sends after the same bytes. Returns a function
 * to call after each message of size `size`; true means "an ack is due now".
 */
export function ackWindow(window: number): (size: number) => boolean {
  let since = 0;
  return (size) => {
    since += size + 64; // count a little per message, so many empty datagrams are paced too
    if (since < window) return false;
    since = 0;
    return true;
  };
}

/** The shape of a counting channel, as far as the sequence helpers need it. */
interface Counting {
  readonly caps: { readonly boundaries: string; readonly maxMessageSize: number };
}

/** Message i of a counting sequence: an 8-byte value (i % 7) + 1 for counters, one token otherwise. */
export function countingMessage(ch: Counting, i: number): Uint8Array {
  const b = new Uint8Array(ch.caps.maxMessageSize >= 8 ? 8 : 0);
  if (b.byteLength === 8) new DataView(b.buffer).setBigUint64(0, ch.caps.boundaries === "counter" ? BigInt((i % 7) + 1) : 1n, true);
  return b;
}

/** What a received counting message is worth: its value (8 bytes) or one token. */
export function countingValue(_ch: Counting, msg: Uint8Array): bigint {
  return msg.byteLength === 8 ? new DataView(msg.buffer, msg.byteOffset, 8).getBigUint64(0, true) : 1n;
}

/** The total that `count` messages of the sequence are worth. */
export function countingTotal(ch: Counting, count: number): bigint {
  let t = 0n;
  for (let i = 0; i < count; i++) t += countingValue(ch, countingMessage(ch, i));
  return t;
}

/**
 * Counts what a receiver saw of the sequence 0..count-1 (see fillMessage): lost (never
 * arrived), duplicated (arrived again), reordered (arrived after a later one), corrupted
 * (wrong size or bytes for the sequence number it carries, or no valid number at all) and
 * extra (numbers at or past `count`). Every count comes from the messages themselves; a
 * receiver keeps going past a fault, so one fault does not hide the next.
 */
export class Tally {
  /** 0: not seen, 1: seen intact, 2: seen corrupted */
  readonly #seen: Uint8Array;
  #next = 0;
  duplicated = 0;
  reordered = 0;
  corrupted = 0;
  extra = 0;
  received = 0;

  constructor(
    readonly count: number,
    readonly max: number,
  ) {
    this.#seen = new Uint8Array(count);
  }

  /** Account for one received message. */
  add(msg: Uint8Array): void {
    this.received++;
    const seq = msg.byteLength >= 4 ? new DataView(msg.buffer, msg.byteOffset, 4).getUint32(0, true) : this.#unnumbered(msg);
    if (seq >= this.count) {
      if (checkMessage(seq, msg, this.max) === "") this.extra++;
      else this.corrupted++;
      return;
    }
    const intact = checkMessage(seq, msg, this.max) === "";
    if (!intact) {
      this.corrupted++;
      if (this.#seen[seq] === 0) this.#seen[seq] = 2;
      return;
    }
    if (this.#seen[seq] === 1) {
      this.duplicated++;
      return;
    }
    this.#seen[seq] = 1;
    if (seq < this.#next) this.reordered++;
    else this.#next = seq + 1;
  }

  /**
   * Messages under 4 bytes carry no number: take the first not yet seen from the one
   * expected next on (a window of 64, so that a few losses before it do not make it look
   * corrupted) whose size and bytes it has.
   */
  #unnumbered(msg: Uint8Array): number {
    for (let c = this.#next; c < Math.min(this.count, this.#next + 64); c++) {
      if (this.#seen[c] === 0 && checkMessage(c, msg, this.max) === "") return c;
    }
    return this.#next;
  }

  /** Sequence numbers that never arrived (intact or not). */
  get lost(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.#seen[i] === 0) n++;
    return n;
  }

  /** Faults seen in what arrived (duplicated, reordered, corrupted, extra): cheap, per message. */
  get misdelivered(): number {
    return this.duplicated + this.reordered + this.corrupted + this.extra;
  }

  /** Every fault, lost ones included (counting the lost ones scans the sequence). */
  get faults(): number {
    return this.lost + this.misdelivered;
  }

  /** "0 lost, 0 duplicated, 0 reordered, 0 corrupted, 0 extra" */
  toString(): string {
    return `${this.lost} lost, ${this.duplicated} duplicated, ${this.reordered} reordered, ${this.corrupted} corrupted, ${this.extra} extra`;
  }
}

/**
 * The message that ends a late-drain peer's receiving (one 0xFF byte: the tests send zeros),
 * so that it reports at once instead of waiting a second of quiet to be sure it has all.
 */
export const END_MARK = Uint8Array.of(0xff);
