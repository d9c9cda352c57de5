/**
 * Short messages on the ring's JavaScript hot path (lib/ring/small-copy.ts): copied four
 * bytes at a time where the caller's bytes are aligned and its buffer came before, byte by
 * byte otherwise — the same bytes either way, at every length and offset, both ways.
 */
import { describe, expect, test } from "./support/harness.ts";
import { open } from "../lib/index.ts";
import { CallerWords, copySmall } from "../lib/ring/small-copy.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("small-copy");

/** Bytes 1, 2, 3, … (mod 251, never 0) from `seed`: every byte of a copy is told apart. */
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => ((seed + i) % 251) + 1);

describe("short copies on the ring's JavaScript path", () => {
  test("copySmall copies the same bytes by words and by bytes, at every length and alignment, both ways", () => {
    const ring = new Uint8Array(256);
    const ring32 = new Uint32Array(ring.buffer);
    const caller = new Uint8Array(new ArrayBuffer(300), 4, 290); // a view that does not start its buffer
    const words = new Uint32Array(caller.buffer);
    let worded = 0;
    for (let len = 0; len <= 37; len++) {
      for (let at = 0; at < 4; at++) {
        for (const w of [words, undefined]) {
          const src = pattern(len, len * 7 + at);
          caller.fill(0).set(src, at);
          ring.fill(0);
          copySmall(ring, ring32, 8, caller, at, w, len, true);
          expect([...ring.subarray(8, 8 + len)]).toEqual([...src]);
          expect(ring[7]! + ring[8 + len]!).toBe(0); // nothing written around it
          caller.fill(0);
          copySmall(ring, ring32, 8, caller, at, w, len, false);
          expect([...caller.subarray(at, at + len)]).toEqual([...src]);
          expect((at > 0 ? caller[at - 1]! : 0) + caller[at + len]!).toBe(0);
          if (w && at === 0 && len >= 4) worded++;
        }
      }
    }
    expect(worded).toBeGreaterThan(0);
  });

  test("CallerWords gives a word view the second time in a row a buffer comes, and none for a new one", () => {
    const cw = new CallerWords();
    const a = new Uint8Array(64), b = new Uint8Array(64);
    expect(cw.of(a)).toBeUndefined();
    expect(cw.of(a.subarray(4))?.buffer).toBe(a.buffer); // the same buffer, another view of it
    expect(cw.of(b)).toBeUndefined();
    expect(cw.of(a)).toBeUndefined();
    cw.clear();
    expect(cw.of(a)).toBeUndefined();
  });

  test("a word view made before its buffer grew is not used past its end", () => {
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
    const buf = new Resizable(16, { maxByteLength: 64 });
    const caller = new Uint8Array(buf); // tracks the buffer's length
    const cw = new CallerWords();
    cw.of(caller);
    const words = cw.of(caller)!;
    expect(words.length).toBe(4);
    buf.resize(64);
    const src = pattern(32, 5);
    caller.set(src, 32); // past the word view's end
    const ring = new Uint8Array(64);
    copySmall(ring, new Uint32Array(ring.buffer), 0, caller, 32, cw.of(caller), 32, true);
    expect([...ring.subarray(0, 32)]).toEqual([...src]);
  });

  test("a ring on the JavaScript path delivers each message whole, sent and received at every offset", () => {
    const address = `shm:/${prefix}-ring`;
    using tx = open(address, { create: true, hotPath: "js" });
    using rx = open(address, { hotPath: "js" });
    const out = new Uint8Array(512);
    const lengths = new Uint32Array(8);
    const from = new Uint8Array(512);
    for (let len = 0; len <= 70; len++) {
      for (let at = 0; at < 4; at++) {
        const src = pattern(len, len + at);
        from.set(src, at);
        // twice from the same buffer: the second goes by words where it can
        tx.send(from.subarray(at, at + len));
        tx.send(from.subarray(at, at + len));
        for (let k = 0; k < 2; k++) {
          const n = rx.recvInto(out.subarray(at));
          expect(n).toBe(len);
          expect([...out.subarray(at, at + len)]).toEqual([...src]);
        }
      }
    }
    // a batch lands packed, one message after the other, at unaligned offsets
    const batch = [5, 8, 3, 16, 1, 12].map((n, i) => pattern(n, i * 11));
    tx.sendMany(batch);
    let got = 0, at = 0;
    while (got < batch.length) {
      const n = rx.tryRecvManyInto(out, lengths);
      for (let i = 0; i < n; i++) {
        expect([...out.subarray(at, at + lengths[i]!)]).toEqual([...batch[got + i]!]);
        at += lengths[i]!;
      }
      got += n;
      if (n > 0) at = 0;
    }
  });
});

checkLeaks(prefix);
