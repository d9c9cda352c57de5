/** Address parsing: every malformed address is refused with IpcError EADDRESS and a reason. */
import { describe, expect, test } from "./support/harness.ts";
import { open, parseAddress } from "../lib/index.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

describe("addresses", () => {
  test("split into scheme and name, the name kept exactly", () => {
    expect(parseAddress("mq:/jobs")).toEqual({ text: "mq:/jobs", scheme: "mq", name: "/jobs" });
    expect(parseAddress("fifo:/tmp/a:b").name).toBe("/tmp/a:b");
  });

  test.each([
    ["jobs", "expected 'scheme:name'"],
    [":/jobs", "expected 'scheme:name'"],
    ["MQ:/jobs", "is not a scheme name"],
    ["mq:jobs", "starts with '/'"],
    ["mq:/", "empty"],
    ["mq:/a/b", "exactly one '/'"],
    ["shm:/..", "not a usable name"],
    ["shm:/.", "not a usable name"],
    ["mq:/a\0b", "NUL"],
    [`shm:/${"x".repeat(300)}`, "longer than"],
    ["fifo:", "expected a path"],
    ["fifo:/tmp/x\0y", "NUL"],
    ["fifo:/tmp/dir/", "directory"],
    [`fifo:/${"d/".repeat(2100)}f`, "longer than"],
    ["fd:", "not a file descriptor number"],
    ["fd:3,4,5", "expected 'fd:N'"],
    ["fd:-1", "not a file descriptor number"],
    ["fd:x", "not a file descriptor number"],
    ["pigeon:/coop", "unknown scheme 'pigeon'"],
  ])("%p is refused (%s)", (address, why) => {
    const err = expectIpcError(() => open(address, { create: true }), "EADDRESS");
    expect(err.message).toContain(why);
    expect(err.address).toBe(address);
  });

  test("fuzz: random strings never crash the parser, only EADDRESS or a valid parse", () => {
    const alphabet = "mqshfifod:/.\0,0123456789abc@-_ \u00e9";
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      let s = "";
      for (let j = rand(40); j > 0; j--) s += alphabet[rand(alphabet.length)];
      try {
        const a = parseAddress(s);
        expect(`${a.scheme}:${a.name}`).toBe(s);
      } catch (e) {
        expect((e as { code?: string }).code).toBe("EADDRESS");
      }
    }
  });
});

checkLeaks(testPrefix("address"));
