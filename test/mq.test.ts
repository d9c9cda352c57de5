/** POSIX message queues: priorities, limits from /proc, ownership and waiting to open. */
import { describe, expect, test } from "./support/harness.ts";
import { open } from "../lib/index.ts";
import { MqChannel } from "../lib/public/mechanisms.ts";
import { mqLimits } from "../lib/os/limits.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { noteMq, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { runSync } from "./support/run-sync.ts";
import { peerCommand } from "./support/runtimes.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const prefix = testPrefix("mq");
let serial = 0;
const fresh = () => noteMq(`mq:/${prefix}${++serial}`);

/** `perf stat`'s count of mq_timedreceive calls made by `cmd` and its children, or why it cannot count. */
function receiveCalls(cmd: string[]): number | string {
  const r = runSync("perf", ["stat", "-x,", "-e", "syscalls:sys_enter_mq_timedreceive", "--", ...cmd]);
  if (r.error || r.status !== 0) return `perf stat failed (${r.error?.message ?? r.stderr.trim().split("\n").pop()})`;
  const line = r.stderr.trim().split("\n").find((l) => l.includes("sys_enter_mq_timedreceive"));
  const count = Number(line?.split(",")[0]);
  return Number.isInteger(count) ? count : `perf stat cannot count system calls here (${line ?? r.stderr.trim()})`;
}
const perfSkip = (() => {
  const probe = receiveCalls(["true"]);
  return typeof probe === "string" ? probe : process.platform !== "linux" ? "not Linux" : undefined;
})();
if (perfSkip) console.warn(`mq: the system-call count test skips: ${perfSkip} (Debian: apt-get install linux-perf)`);

describe("mq", () => {
  test("higher priority is received first; lastPriority tells it", () => {
    using q = open(fresh(), { create: true }) as MqChannel;
    q.send("low", { priority: 1 });
    q.send("high", { priority: 20 });
    q.send("mid", { priority: 5 });
    expect(q.depth).toBe(3);
    const order = [0, 1, 2].map(() => new TextDecoder().decode(q.recv()) + "@" + q.lastPriority);
    expect(order).toEqual(["high@20", "mid@5", "low@1"]);
  });

  test("priority outside 0..32767 is refused", () => {
    using q = open(fresh(), { create: true });
    expectIpcError(() => q.send("x", { priority: 40_000 }), "EINVAL");
    expectIpcError(() => q.send("x", { priority: -1 }), "EINVAL");
  });

  test("attributes above /proc/sys/fs/mqueue limits are refused with what to do", () => {
    const lim = mqLimits();
    const a = expectIpcError(() => open(fresh(), { create: true, capacity: lim.msgMax + 1 }), "EINVAL");
    expect(a.message).toContain(`exceeds this system's msg_max of ${lim.msgMax}`);
    expect(a.message).toContain("sysctl fs.mqueue.msg_max");
    const b = expectIpcError(() => open(fresh(), { create: true, maxMessageSize: lim.msgsizeMax + 1 }), "EINVAL");
    expect(b.message).toContain(`msgsize_max of ${lim.msgsizeMax}`);
  });

  test("capacity and maxMessageSize are applied and reported in caps", () => {
    using q = open(fresh(), { create: true, capacity: 3, maxMessageSize: 100 });
    expect(q.caps).toMatchObject({ mechanism: "mq", capacity: 3, maxMessageSize: 100, capacityUnit: "messages", boundaries: "kernel" });
    for (let i = 0; i < 3; i++) expect(q.trySend("x")).toBeTrue();
    expect(q.trySend("x")).toBeFalse();
  });

  test("exclusive create of an existing queue is EEXIST; a second creator becomes a user, not an owner", () => {
    const address = fresh();
    using owner = open(address, { create: true }) as MqChannel;
    expectIpcError(() => open(address, { create: true, exclusive: true }), "EEXIST");
    const user = open(address, { create: true }) as MqChannel;
    expect(owner.owner).toBeTrue();
    expect(user.owner).toBeFalse();
    user.close(); // must not unlink the owner's queue
    owner.send("still here");
    expect(new TextDecoder().decode(owner.recv())).toBe("still here");
  });

  test("opening a missing queue fails at once with advice, or waits up to `timeout` for it", async () => {
    const address = fresh();
    const e = expectIpcError(() => open(address), "ENOENT");
    expect(e.message).toContain("start the side that creates it first");
    const creator = track(Bun.spawn([
      process.execPath,
      "-e",
      `
      const { open } = await import(${JSON.stringify(import.meta.dirname + "/../lib/index.ts")});
      await Bun.sleep(300);
      const q = open(${JSON.stringify(address)}, { create: true });
      q.send("made");
      await Bun.sleep(3000);
      q.close();`,
    ]));
    using q = open(address, { timeout: 10_000 });
    expect(new TextDecoder().decode(q.recv({ timeout: 10_000 }))).toBe("made");
    creator.kill();
    await creator.exited;
  });
});

describe("mq, waiting", () => {
  // both sides pinned to one CPU: a receive that looked first without waiting found nothing
  // (the sender could not have run since) and then waited — two calls a message where C
  // makes one. 1.6 calls a receive before the change (9533 and 9625 for 3000 round trips).
  test.skipIf(!!perfSkip)("a receive that waits beside its sender on one CPU is one system call a message", () => {
    const n = 3000;
    const script = join(dirname(fileURLToPath(import.meta.url)), "support", "mq-ping-pong.ts");
    const address = fresh();
    noteMq(`${address}-a`);
    noteMq(`${address}-b`);
    const calls = receiveCalls(["taskset", "-c", "0", ...peerCommand(script, address, String(n))]);
    expect(typeof calls).toBe("number");
    // 2n receives (n a side), and a little room for the first few, made before the other
    // side had registered itself (no pid to look at yet: look first, as before)
    expect(calls as number).toBeGreaterThanOrEqual(2 * n);
    expect(calls as number).toBeLessThan(2 * n + 64);
  }, 60_000);
});

checkLeaks(prefix);
