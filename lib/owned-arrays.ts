/**
 * The arrays a channel lends of its own memory where a loan or view cannot be the shared
 * memory itself: a loan on a mechanism that copies (every kernel one), and a ring's loans and
 * views on Node (koffi's views cannot be detached), in a Worker's ring (a SharedArrayBuffer
 * cannot be), for a record that wraps and for an empty one. Each is detached at commit(),
 * abandonLoan() or release() like every loan and view, and its memory is taken back then, to
 * be lent again for the next one that fits: a loop of them allocates once. A new 1 MiB array
 * for each loan and each view took a Node ring round trip to 5.8–6.9 ms (docs/benchmark.md,
 * "Loans of the channel's own memory"); lent again, 0.11–0.21 ms.
 */

/** One direction's lending (a channel has one for loans, one for views). */
export class OwnedArrays {
  /** the memory of the last array given back, lent again by take() when it is large enough */
  #spare: ArrayBuffer | undefined;
  /** the buffer of the array out now, undefined when none is */
  #out: ArrayBuffer | undefined;

  /**
   * An array of `size` bytes: over the spare memory when it holds `size`, else new. What it
   * holds at first is unspecified, as in a loan of a ring's room.
   */
  take(size: number): Uint8Array {
    const spare = this.#spare;
    const a = spare !== undefined && spare.byteLength >= size ? new Uint8Array(spare, 0, size) : new Uint8Array(size);
    this.#spare = undefined;
    this.#out = a.buffer as ArrayBuffer;
    return a;
  }

  /**
   * Detach `buf` if take() lent it, keeping its memory for the next take(); false (nothing
   * done) when it is not ours — a view of shared memory, which the caller detaches.
   */
  giveBack(buf: ArrayBufferLike): boolean {
    const out = this.#out;
    if (out === undefined || buf !== out) return false;
    this.#out = undefined;
    this.#spare = transferred(out);
    return true;
  }

  /** Let the spare memory go (the channel closed). */
  clear(): void {
    this.#spare = this.#out = undefined;
  }
}

/**
 * A new ArrayBuffer over `buf`'s memory, `buf` left detached (byteLength 0): the memory moves,
 * nothing is copied. `length` 0 lets the memory go instead (Bun, Deno, Node 22+). Node 20 has
 * no ArrayBuffer.prototype.transfer; structuredClone with the buffer in `transfer` detaches it
 * there, and the memory goes with the clone when the caller drops it.
 */
export function transferred(buf: ArrayBuffer, length?: number): ArrayBuffer {
  const b = buf as ArrayBuffer & { transfer?: (length?: number) => ArrayBuffer };
  return b.transfer ? b.transfer(length) : structuredClone(buf, { transfer: [buf] });
}
