/** Named pipes: one direction per end, waiting for the peer without hanging, ownership. */
import { describe, expect, test } from "./support/harness.ts";
import { closeSync, constants, openSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { open } from "../lib/index.ts";
import { FifoChannel } from "../lib/public/mechanisms.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { privateDir, testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("fifo");
const dir = privateDir("fifo");
let serial = 0;
const fresh = () => `fifo:${dir}/${prefix}${++serial}`;

describe("fifo", () => {
  test("an end takes its direction from its first call; the other direction is refused", () => {
    const address = fresh();
    using reader = open(address, { create: true }) as FifoChannel;
    using writer = open(address) as FifoChannel;
    expect(reader.tryRecv()).toBeUndefined(); // opens the read end
    writer.send("one way");
    expect(new TextDecoder().decode(reader.recv({ timeout: 5000 }))).toBe("one way");
    expect([reader.role, writer.role]).toEqual(["reader", "writer"]);
    expect(expectIpcError(() => reader.send("back"), "EBADF").message).toContain("open a second FIFO for replies");
    expectIpcError(() => writer.recv({ timeout: 10 }), "EBADF");
  });

  test("a server's shared FIFO: a frame cut short behind a whole one in the same read is dropped, and the next writer's frame comes whole", () => {
    const address = fresh();
    using reader = open(address, { create: true, role: "reader" }) as FifoChannel;
    reader.holdWriter(); // as a server does (fifo.ts openShared): no EOF between writers
    reader.expectWholeFrames();
    const frame = (body: string, claims = body.length) => {
      const f = new Uint8Array(4 + body.length);
      new DataView(f.buffer).setUint32(0, claims, true);
      f.set(new TextEncoder().encode(body), 4);
      return f;
    };
    const fd = openSync(address.slice("fifo:".length), constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      // one write: a whole frame, then one that claims 20 bytes and carries 3 (a broken writer)
      writeSync(fd, Uint8Array.from([...frame("whole"), ...frame("cut", 20)]));
      expect(new TextDecoder().decode(reader.recv({ timeout: 5000 }))).toBe("whole");
      // the next writer's frame is in the pipe before the reader looks at the cut one: it
      // must not be taken as that frame's missing 17 bytes
      writeSync(fd, frame("next writer"));
      expect(expectIpcError(() => reader.recv({ timeout: 5000 }), "EPROTO").message).toContain("no writer wrote whole");
      expect(reader.resync()).toBe(4 + 3);
      expect(new TextDecoder().decode(reader.recv({ timeout: 5000 }))).toBe("next writer");
    } finally {
      closeSync(fd);
    }
  });

  test("a writer waits for a reader only as long as its timeout; trySend without a reader is false", () => {
    const address = fresh();
    using w = open(address, { create: true });
    expect(w.trySend("nobody listens")).toBeFalse();
    const t0 = performance.now();
    expect(expectIpcError(() => w.send("x", { timeout: 150 }), "ETIMEDOUT").message).toContain("no reader opened");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expectIpcError(() => open(address, { role: "writer", timeout: 50 }), "ETIMEDOUT");
  });

  test("a reader waits for data, not EOF, before any writer has come", () => {
    const address = fresh();
    using r = open(address, { create: true, role: "reader" });
    expectIpcError(() => r.recv({ timeout: 100 }), "ETIMEDOUT");
  });

  test("a path that exists and is not a FIFO is refused", () => {
    const path = `${dir}/${prefix}plain`;
    writeFileSync(path, "not a fifo");
    try {
      expect(expectIpcError(() => open(`fifo:${path}`, { create: true }), "EEXIST").message).toContain("is not a FIFO");
      expectIpcError(() => open(`fifo:${path}`), "EINVAL");
    } finally {
      unlinkSync(path);
    }
  });

  test("a missing FIFO fails with ENOENT and advice", () => {
    expect(expectIpcError(() => open(fresh()), "ENOENT").message).toContain("create it");
  });
});

checkLeaks(prefix, [dir]);
