/** eventfd: a message is a counter value; what it accepts is checked before the write, without allocating. */
import { describe, expect, test } from "./support/harness.ts";
import { createEventfd, EVENTFD_MAX } from "../lib/public/mechanisms.ts";
import { IpcError } from "../lib/index.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { testPrefix } from "./support/leaks.ts";

const value = (v: bigint) => new Uint8Array(new BigUint64Array([v]).buffer);
const read = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);

describe("eventfd values", () => {
  test("1 to 2^64-2 are sent and read back; 0, 2^64-1 and a short message are EINVAL, a long one EMSGSIZE", () => {
    using e = createEventfd();
    const buf = new Uint8Array(8);
    for (const v of [1n, 0x1_0000_0000n, 0xffn << 56n, EVENTFD_MAX]) {
      e.send(value(v));
      expect(e.recvInto(buf)).toBe(8);
      expect(read(buf)).toBe(v);
    }
    for (
      const [bad, code] of [[value(0n), "EINVAL"], [value(0xffff_ffff_ffff_ffffn), "EINVAL"], [new Uint8Array(7).fill(1), "EINVAL"], [
        new Uint8Array(9).fill(1),
        "EMSGSIZE",
      ]] as const
    ) {
      let err: unknown;
      try {
        e.send(bad);
      } catch (x) {
        err = x;
      }
      expect(err instanceof IpcError && err.code).toBe(code);
    }
    expect(e.tryRecvInto(buf)).toBeUndefined(); // the refused ones wrote nothing
  });
});

checkLeaks(testPrefix("eventfd"));
