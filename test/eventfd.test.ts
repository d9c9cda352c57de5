/** eventfd: a message is a counter value; what it accepts is checked before the write, without allocating. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "./support/harness.ts";
import { createEventfd, EVENTFD_MAX, readCounter, spawnWithEventfd } from "../lib/public/mechanisms.ts";
import { IpcError, open } from "../lib/index.ts";
import { C, fact } from "../ffi/facts.ts";
import { libc, sys } from "../ffi/runtime.ts";
import { spawnProcess } from "../ffi/process.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { testPrefix, track } from "./support/leaks.ts";
import { lineReader } from "./support/lines.ts";
import { peerCommand } from "./support/runtimes.ts";

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

/** The system call a process sleeps in: the first field of /proc/PID/syscall ("running" while it runs). */
const sleepingIn = (pid: number) => readFileSync(`/proc/${pid}/syscall`, "utf8").split(" ")[0]!;

/** Look until `pid` sleeps in the same call for 200 ms (or 5 s pass): that call. */
async function settledCall(pid: number): Promise<string> {
  let last = "", since = performance.now();
  for (const end = performance.now() + 5000; performance.now() < end; await new Promise((r) => setTimeout(r, 10))) {
    const now = sleepingIn(pid);
    if (now !== last) (last = now), (since = performance.now());
    else if (now !== "running" && performance.now() - since >= 200) break;
  }
  return last;
}

describe("eventfd waits", () => {
  test("a receive with no timeout sleeps in read(2), as C's does: one system call a message (not read, poll, read)", async () => {
    // what read(2) is on this machine: the call `cat` sleeps in, reading an empty pipe of ours
    const fds = new Int32Array(2);
    expect(libc.pipe2(fds, fact("O_CLOEXEC"))).toBe(0);
    const cat = track(spawnProcess(["cat"], { stdio: [fds[0]!, "ignore", "ignore"] }));
    const readCall = await settledCall(cat.pid);
    libc.close(fds[1]!); // end of input: cat exits
    libc.close(fds[0]!);
    expect(await cat.exited).toBe(0);
    const script = join(dirname(fileURLToPath(import.meta.url)), "support", "eventfd-wait.ts");
    const { channel, child } = spawnWithEventfd(peerCommand(script), { stdout: "pipe", stderr: "inherit" });
    track(child);
    using _ = channel;
    try {
      const out = lineReader(child.stdout!);
      expect(await out.line()).toBe("waiting");
      expect(await settledCall(child.pid)).toBe(readCall);
      channel.add(41n);
      expect(await out.line()).toBe("41");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill(); // (ended already, unless a look above failed)
      await child.exited;
    }
  });

  test("a descriptor made elsewhere, O_NONBLOCK or blocking: try-calls never wait, timeouts are kept, values arrive", () => {
    for (const flags of [C.O_NONBLOCK, 0]) {
      const fd = sys.eventfd(0, fact("EFD_CLOEXEC") | (flags ? fact("EFD_NONBLOCK") : 0));
      expect(fd).toBeGreaterThanOrEqual(0);
      const dup = libc.fcntl(fd, fact("F_DUPFD_CLOEXEC"), 10); // the channel closes what it opens
      libc.close(fd);
      using e = open(`eventfd:${dup}`);
      expect(e.tryRecv()).toBeUndefined();
      const t0 = performance.now();
      expect(() => e.recv({ timeout: 50 })).toThrow(IpcError);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
      expect(e.trySend(value(EVENTFD_MAX - 1n))).toBeTrue();
      expect(e.trySend(value(1n))).toBeTrue(); // at the limit now
      expect(e.trySend(value(1n))).toBeFalse();
      expect(() => e.send(value(1n), { timeout: 50 })).toThrow(IpcError);
      expect(readCounter(e.recv())).toBe(EVENTFD_MAX);
      e.send(value(7n));
      expect(readCounter(e.recv({ timeout: 1000 }))).toBe(7n);
    }
  });
});

checkLeaks(testPrefix("eventfd"));
