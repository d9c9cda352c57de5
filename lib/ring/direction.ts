/**
 * One direction of a duplex ring (ffi/ipcl_ring.h): its data area as bytes and words, the
 * indexes of its header words, and the RingWords its producer and consumer sleep on. A
 * RingChannel holds two: the direction it produces into (tx) and the one it consumes from
 * (rx).
 */
import { type Pointer, ptrAdd } from "../../ffi/runtime.ts";
import { dirWord, isShared, recordSize, region, regionOffset, RING_HEADER, type RingGeometry, type RingMemory } from "./layout.ts";
import { RingWord } from "./word.ts";

export class RingDirection {
  /** the data area, as bytes and as u32 words (record lengths) */
  readonly data: Uint8Array;
  readonly data32: Uint32Array;
  /** where the data starts (native rings: loans and views are made over it; null in a SharedArrayBuffer) */
  readonly dataPtr: Pointer;
  // header word indexes (Uint32Array over the header)
  readonly head: number;
  readonly tail: number;
  readonly consumerWaiting: number;
  readonly producerWaiting: number;
  readonly closed: number;
  /** 1 while the producer may publish `head` with release stores (ffi/ipcl_ring.h, version 3) */
  readonly producerRelaxed: number;
  /** the consumer sleeps on the head (until the producer moves it), the producer on the tail */
  readonly headWord: RingWord;
  readonly tailWord: RingWord;

  /** Direction `d` of ring memory `m`. */
  constructor(m: RingMemory, d: 0 | 1, g: RingGeometry) {
    const at = RING_HEADER.size + d * g.capacity;
    this.data = new Uint8Array(region(m, at, g.capacity), regionOffset(m, at), g.capacity);
    this.data32 = new Uint32Array(this.data.buffer, this.data.byteOffset, g.capacity / 4);
    this.dataPtr = isShared(m) ? (null as unknown as Pointer) : ptrAdd(m, at);
    this.head = dirWord(d, "head");
    this.tail = dirWord(d, "tail");
    this.consumerWaiting = dirWord(d, "consumer_waiting");
    this.producerWaiting = dirWord(d, "producer_waiting");
    this.closed = dirWord(d, "closed");
    this.producerRelaxed = dirWord(d, "producer_relaxed");
    this.headWord = new RingWord(m, this.head, d, "data_ready", g.wait ?? "futex");
    this.tailWord = new RingWord(m, this.tail, d, "space_ready", g.wait ?? "futex");
  }
}

/**
 * The pad before a record of `need` bytes at `pos` in a data area of `cap` bytes
 * (ffi/ipcl_ring.h, version 2): the rest of the area when the record would run past its
 * end and fits at offset 0 (need <= pos), else 0 (it fits before the end, or it is larger
 * than capacity / 2 and wraps).
 */
export function padBefore(pos: number, need: number, cap: number): number {
  return pos + need > cap && need <= pos ? cap - pos : 0;
}

/** Bytes a message of `len` bytes takes when written at `head`: its record and any pad before it. */
export function footprint(len: number, head: number, cap: number): number {
  const need = recordSize(len);
  return padBefore(head & (cap - 1), need, cap) + need;
}

/**
 * Clear a `*_waiting` flag that still holds `mark`, the announcement the waker read and
 * judged (ffi/ipcl_ring.h): true when this call cleared it, and so owes the sleeper a wake.
 * An exchange would also clear a newer announcement — made after the sleeper saw our
 * change and still went to sleep — and spend its wake before that sleep began: the sleeper
 * would then sleep with its flag down, and no later change would wake it.
 */
export function clearFlag(w: Uint32Array, index: number, mark: number): boolean {
  return Atomics.compareExchange(w, index, mark, 0) === mark;
}
