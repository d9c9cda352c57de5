/**
 * Loans and views that are copies (lib/owned-arrays.ts): detached when given back like every
 * loan and view, their memory lent again for the next one that fits — on every runtime, and
 * through a ring on Node, where every loan and view is such a copy.
 */
import { describe, expect, test } from "./support/harness.ts";
import { open } from "../lib/index.ts";
import { pipePair } from "../lib/public/mechanisms.ts";
import { OwnedArrays } from "../lib/owned-arrays.ts";
import { nativeViewsDetach } from "../ffi/runtime.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("loans");

describe("loans and views of the channel's own memory", () => {
  test("OwnedArrays lends the memory it took back to the next array that fits, detaching the one given back", () => {
    const lend = new OwnedArrays();
    const first = lend.take(300);
    first.fill(7);
    expect(lend.giveBack(new ArrayBuffer(8))).toBe(false); // not one it lent: left alone
    expect(first.byteLength).toBe(300);
    expect(lend.giveBack(first.buffer)).toBe(true);
    expect(first.byteLength).toBe(0); // detached: nothing reaches the memory through it now
    expect(lend.giveBack(first.buffer)).toBe(false); // once
    const second = lend.take(200);
    expect(second.buffer.byteLength).toBe(300); // the first one's memory, with its bytes
    expect(second.every((x) => x === 7)).toBe(true);
    expect(lend.giveBack(second.buffer)).toBe(true);
    const third = lend.take(400); // does not fit: memory of its own
    expect(third.buffer.byteLength).toBe(400);
    lend.clear();
    expect(lend.giveBack(third.buffer)).toBe(false); // clear() forgets the array out too
  });

  test("a loop of loans on a pipe reuses one buffer, and each committed loan is detached", () => {
    const [a, b] = pipePair();
    using _a = a;
    using _b = b;
    const first = a.loan(300);
    first.fill(7);
    a.commit();
    expect(first.byteLength).toBe(0);
    const second = a.loan(200);
    expect(second.buffer.byteLength).toBe(300);
    second.fill(9);
    a.commit(150);
    const third = a.loan(400);
    expect(third.buffer.byteLength).toBe(400);
    a.abandonLoan();
    expect(third.byteLength).toBe(0);
    expect(b.recv()).toEqual(new Uint8Array(300).fill(7));
    expect(b.recv()).toEqual(new Uint8Array(150).fill(9)); // what was committed, not the loan's whole memory
  });

  test.skipIf(nativeViewsDetach)("on Node a ring's loans and views are copies, each in the memory of the last one given back", () => {
    const address = `shm:/${prefix}ring`;
    using a = open(address, { create: true, capacity: 8192 });
    using b = open(address);
    for (const [size, fill] of [[1000, 1], [600, 2], [2000, 3]] as const) {
      a.loan(size).fill(fill);
      a.commit();
    }
    const loan = a.loan(1500); // the 2000 B loan's memory
    expect(loan.buffer.byteLength).toBe(2000);
    a.abandonLoan();
    const first = b.recvView();
    expect(first).toEqual(new Uint8Array(1000).fill(1));
    const second = b.recvView(); // this receive released the first: detached, its memory lent again
    expect(first.byteLength).toBe(0);
    expect(second).toEqual(new Uint8Array(600).fill(2));
    expect(second.buffer.byteLength).toBe(1000);
    b.release();
    expect(second.byteLength).toBe(0);
    const third = b.recvView(); // larger: memory of its own
    expect(third).toEqual(new Uint8Array(2000).fill(3));
    expect(third.buffer.byteLength).toBe(2000);
    b.release();
  });
});

checkLeaks(prefix);
