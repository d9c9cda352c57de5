/**
 * The soak's tally counts each kind of fault from the messages themselves: planted losses,
 * duplicates, reorderings, corruptions and extra messages are each counted exactly, and a
 * clean sequence counts none.
 */
import { checkLeaks } from "./support/check-leaks.ts";
import { describe, expect, test } from "./support/harness.ts";
import { testPrefix } from "./support/leaks.ts";
import { fillMessage, sizeFor, Tally } from "./support/sequence.ts";

const MAX = 4096;
const message = (i: number) => fillMessage(i, new Uint8Array(MAX), sizeFor(i, MAX)).slice();

function tallyOf(order: number[], count: number, tamper?: (i: number, m: Uint8Array) => Uint8Array): Tally {
  const t = new Tally(count, MAX);
  for (const i of order) t.add(tamper ? tamper(i, message(i)) : message(i));
  return t;
}
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("the soak's tally", () => {
  test("a clean sequence: nothing counted", () => {
    expect(String(tallyOf(upTo(5000), 5000))).toBe("0 lost, 0 duplicated, 0 reordered, 0 corrupted, 0 extra");
  });

  test("each kind of fault is counted, and one does not hide the next", () => {
    const order = upTo(5000).filter((i) => i !== 10 && i !== 11 && i !== 4000); // 3 lost …
    order.splice(100, 0, 50, 51); // … 2 duplicated
    const [a, b] = [order.indexOf(300), order.indexOf(301)];
    [order[a], order[b]] = [order[b]!, order[a]!]; // 1 reordered (301 before 300)
    order.push(5000, 5001); // 2 extra
    const t = tallyOf(order, 5000, (i, m) => {
      if ((i === 700 || i === 701) && m.byteLength > 8) m[m.byteLength - 1]! ^= 0xff; // corrupted
      return m;
    });
    const corrupted = [700, 701].filter((i) => sizeFor(i, MAX) > 8).length;
    expect({ lost: t.lost, duplicated: t.duplicated, reordered: t.reordered, corrupted: t.corrupted, extra: t.extra }).toEqual({
      lost: 3,
      duplicated: 2,
      reordered: 1,
      corrupted,
      extra: 2,
    });
  });
});

checkLeaks(testPrefix("seq"));
