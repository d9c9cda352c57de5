/**
 * Copies of short messages between a ring's data area and a caller's array on the ring's
 * JavaScript hot path (Node's default, and every ring in a SharedArrayBuffer). A message of
 * up to 128 bytes went byte by byte: `set()` makes a view object per message, which cost
 * more. Four bytes at a time is faster still where both ends sit on 4-byte boundaries (a
 * record's bytes always do): 64 B took 29.5 ns a byte at a time on Node and 10.5 ns a word
 * at a time (Bun 22.6 and 8.0, Deno 23.0 and 8.7). A word view of the caller's buffer is an
 * object too, so one is kept: made the second time in a row the same buffer comes, used while
 * it keeps coming, as a receive buffer or a message sent again does.
 */

/** The u32 view of the caller's buffer last seen twice in a row (one per direction of copy). */
export class CallerWords {
  #seen: ArrayBufferLike | undefined;
  #words: Uint32Array | undefined;

  /** A u32 view over `a`'s whole buffer when that buffer is the one seen last time; else undefined. */
  of(a: Uint8Array): Uint32Array | undefined {
    const buf = a.buffer;
    if (buf === this.#seen) return this.#words ??= new Uint32Array(buf, 0, buf.byteLength >>> 2);
    this.#seen = buf;
    this.#words = undefined;
    return undefined;
  }

  /** Let the caller's buffer go (the channel closed). */
  clear(): void {
    this.#seen = this.#words = undefined;
  }
}

/**
 * Copy `len` bytes between a ring's data area (`data`, and `data32` over the same bytes) at
 * `start` (4-byte aligned: a record's bytes start there) and a caller's array `a` at `at`,
 * by words when `words` (CallerWords.of(a)) is there and `a`'s bytes at `at` are aligned
 * too; the last 0–3 bytes, and everything otherwise, one by one. `toRing`: which way. A word
 * view shorter than the array's buffer now (a resizable buffer grown since) is not used.
 */
export function copySmall(
  data: Uint8Array,
  data32: Uint32Array,
  start: number,
  a: Uint8Array,
  at: number,
  words: Uint32Array | undefined,
  len: number,
  toRing: boolean,
): void {
  let i = 0;
  const byte = a.byteOffset + at;
  if (words !== undefined && (byte & 3) === 0) {
    const r = start >>> 2, c = byte >>> 2, n = len >>> 2;
    if (c + n <= words.length) {
      if (toRing) { for (let k = 0; k < n; k++) data32[r + k] = words[c + k]!; }
      else for (let k = 0; k < n; k++) words[c + k] = data32[r + k]!;
      i = n << 2;
    }
  }
  if (toRing) { for (; i < len; i++) data[start + i] = a[at + i]!; }
  else for (; i < len; i++) a[at + i] = data[start + i]!;
}
