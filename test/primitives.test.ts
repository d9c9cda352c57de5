/**
 * The many-process primitives: a robust mutex, a condition and a latest-value board, with
 * peers in other processes (on the other runtime too: IPC_LAB_PEER_RUNTIME, and one test
 * here that mixes both). Runs on Bun and on Deno.
 */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RuntimeName } from "../ffi/process.ts";
import { Board, Condition, Mutex, remove, SharedMemory } from "../lib/index.ts";
import { entries } from "../lib/names/registry.ts";
import { racePoints } from "../lib/os/race-points.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { untilBlocked } from "./support/blocked.ts";
import { testPrefix } from "./support/leaks.ts";
import { participant } from "./support/participants.ts";

const prefix = testPrefix("prim");
let serial = 0;
const fresh = (scheme: string) => `${scheme}:/${prefix}${++serial}`;
const peerScript = fileURLToPath(new URL("./support/primitive-peer.ts", import.meta.url));

/** Start a peer in `role` (its report: its last line). */
const peer = (args: string[], on?: RuntimeName) => participant(peerScript, args, on);

describe("Mutex", () => {
  test("lock / tryLock / unlock / guard; errors say what to do; the creator removes the name", () => {
    const address = fresh("mutex");
    const m = new Mutex(address, { create: true });
    expect(existsSync(`/dev/shm/mutex.${address.slice("mutex:/".length)}`)).toBe(true);
    expect(m.lock()).toBe("locked");
    expect(m.held).toBe(true);
    expect(expectIpcError(() => m.lock(), "EDEADLK").message).toContain("unlock() it first");
    m.unlock();
    expectIpcError(() => m.unlock(), "EPERM");
    expectIpcError(() => m.consistent(), "EINVAL");
    {
      using g = m.guard();
      expect(g.state).toBe("locked");
      expect(m.held).toBe(true);
    }
    expect(m.held).toBe(false);
    expect(m.tryLock()).toBe("locked");
    m.unlock();
    m.close();
    m.close();
    expect(existsSync(`/dev/shm/mutex.${address.slice("mutex:/".length)}`)).toBe(false);
    expectIpcError(() => m.lock(), "ECLOSED");
    expectIpcError(() => new Mutex(address), "ENOENT");
  });

  test('a holder killed with SIGKILL: the next locker gets "owner-died" within 1 s; without consistent() the mutex is unusable', async () => {
    const address = fresh("mutex");
    using m = new Mutex(address, { create: true });
    const holder = peer(["hold", address]);
    expect(JSON.parse(await holder.line())).toEqual({ locked: true });
    expect(m.tryLock()).toBe("busy");
    expectIpcError(() => m.lock({ timeout: 50 }), "ETIMEDOUT");
    holder.child.kill("SIGKILL");
    const t0 = performance.now();
    expect(await m.lockAsync({ timeout: 5_000 })).toBe("owner-died");
    expect(performance.now() - t0).toBeLessThan(1_000);
    await holder.child.exited;
    m.unlock(); // without consistent(): unusable from now on, as POSIX says
    expect(expectIpcError(() => m.lock(), "ENOTRECOVERABLE").message).toContain("consistent()");
  });

  test("owner-died, repaired: consistent() makes it usable again (sync lock)", async () => {
    const address = fresh("mutex");
    using m = new Mutex(address, { create: true });
    const holder = peer(["hold", address]);
    await holder.line();
    holder.child.kill("SIGKILL");
    await holder.child.exited;
    expect(m.lock({ timeout: 5_000 })).toBe("owner-died");
    m.consistent();
    m.unlock();
    expect(m.lock()).toBe("locked");
    m.unlock();
  });

  test("4 processes × 20 000 read-modify-writes under a mutex beside the counter, sync and async: none lost", async () => {
    const address = `shm:/${prefix}${++serial}`;
    using mem = new SharedMemory(address, { create: true, size: 4096 });
    using m = Mutex.at(mem, 0, { init: true });
    expectIpcError(() => Mutex.at(mem, 3, { init: false }), "EINVAL");
    const counter = new Int32Array(mem.buffer, 64, 1);
    const ready = new Int32Array(mem.buffer, 128, 1);
    // the control: the same loops without the lock lose updates — so this test can fail
    const unlocked = [0, 1, 2, 3].map(() => peer(["rmw", address, "20000", "none", "4"]));
    for (const p of unlocked) expect(await p.report()).toEqual({ ok: true, died: 0 });
    expect(counter[0]).toBeLessThan(80_000);
    counter[0] = 0;
    ready[0] = 0;
    const peers = [0, 1, 2, 3].map((i) => peer(["rmw", address, "20000", i % 2 ? "async" : "sync", "4"]));
    for (const p of peers) expect(await p.report()).toEqual({ ok: true, died: 0 });
    expect(counter[0]).toBe(80_000);
    expect(m.tryLock()).toBe("locked");
    m.unlock();
  }, 120_000);

  test("across runtimes: two Bun and two Deno processes share one mutex", async () => {
    const address = `shm:/${prefix}${++serial}`;
    using mem = new SharedMemory(address, { create: true, size: 4096 });
    using _m = Mutex.at(mem, 0, { init: true });
    const peers = (["bun", "deno", "bun", "deno"] as const).map((rt, i) => peer(["rmw", address, "5000", i < 2 ? "async" : "sync", "4"], rt));
    for (const p of peers) expect(await p.report()).toEqual({ ok: true, died: 0 });
    expect(new Int32Array(mem.buffer, 64, 1)[0]).toBe(20_000);
  }, 120_000);
});

describe("names", () => {
  test("a creator killed with SIGKILL leaves its mutex:, cond: and board: names in the registry, as dead; remove() (what gc does) takes them", async () => {
    for (const scheme of ["mutex", "cond", "board"]) {
      const address = fresh(scheme);
      const creator = peer(["create", address]);
      expect(JSON.parse(await creator.line())).toEqual({ ready: true });
      creator.child.kill("SIGKILL");
      await creator.child.exited;
      const file = `/dev/shm/${scheme}.${address.slice(scheme.length + 2)}`;
      expect(existsSync(file)).toBe(true);
      expect(entries().find((e) => e.address === address)?.alive).toBe(false);
      expect(remove(address)).toBe(true);
      expect(existsSync(file)).toBe(false);
      expect(remove(address)).toBe(false);
    }
  });
});

describe("Ctrl-C", () => {
  for (const what of ["mutex", "board"] as const) {
    test(`a program blocked in ${what === "mutex" ? "Mutex.lock()" : "Board.wait()"} stops on SIGINT (130) within 1 s`, async () => {
      const address = fresh(what);
      using _b = what === "board" ? new Board(address, { create: true, size: 8 }) : undefined;
      using _m = what === "mutex" ? new Mutex(address, { create: true }) : undefined;
      const holder = what === "mutex" ? peer(["hold", address]) : undefined;
      if (holder) await holder.line();
      const blocked = peer(["block", address]);
      expect(JSON.parse(await blocked.line())).toEqual({ ready: true });
      await untilBlocked(blocked.child.pid); // in the blocking call
      const t0 = performance.now();
      blocked.child.kill("SIGINT");
      expect(await blocked.child.exited).toBe(130);
      expect(performance.now() - t0).toBeLessThan(1_000);
      holder?.child.kill("SIGKILL");
      await holder?.child.exited;
    });
  }
});

describe("Condition", () => {
  test("wait / waitAsync wake on notifyAll from another process; timeouts; wait needs the mutex held", async () => {
    const address = `shm:/${prefix}${++serial}`;
    using mem = new SharedMemory(address, { create: true, size: 4096 });
    using m = Mutex.at(mem, 0, { init: true });
    using c = Condition.at(mem, 48, { init: true });
    const counter = new Int32Array(mem.buffer, 64, 1);
    expectIpcError(() => c.wait(m), "EPERM");
    m.lock();
    expect(c.wait(m, { timeout: 30 })).toBe("timeout");
    expect(m.held).toBe(true);
    const producer = peer(["produce", address, "200"]);
    let wakes = 0;
    while (counter[0]! < 200) {
      const r = wakes % 2 ? c.wait(m, { timeout: 10_000 }) : await c.waitAsync(m, { timeout: 10_000 });
      expect(r).toBe("notified"); // every wait here ends by a notify: the producer notifies after each increment
      wakes++;
    }
    m.unlock();
    expect(await producer.report()).toEqual({ ok: true });
    expect(wakes).toBeGreaterThan(0);
  });

  test("cond:/ objects: notify wakes a waiter; the creator removes the name", async () => {
    const address = fresh("cond");
    using m = new Mutex(fresh("mutex"), { create: true });
    const c = new Condition(address, { create: true });
    using other = new Condition(address);
    m.lock();
    const waiting = c.waitAsync(m, { timeout: 5_000 });
    await new Promise((r) => setTimeout(r, 20));
    other.notify();
    expect(await waiting).toBe("notified");
    m.unlock();
    c.close();
    expect(existsSync(`/dev/shm/cond.${address.slice("cond:/".length)}`)).toBe(false);
  });
});

describe("Board", () => {
  test("read before the first write is undefined; write replaces; versions; size limit; wait and waitAsync", async () => {
    const address = fresh("board");
    using b = new Board(address, { create: true, size: 64 });
    using r = new Board(address);
    expect(r.read()).toBeUndefined();
    expect(r.version).toBe(0);
    expect(b.write("first")).toBe(1);
    expect(new TextDecoder().decode(r.read()!.data)).toBe("first");
    expect(b.write(new Uint8Array(64).fill(7))).toBe(2);
    expect(r.read()).toEqual({ version: 2, data: new Uint8Array(64).fill(7) });
    expectIpcError(() => b.write(new Uint8Array(65)), "EMSGSIZE");
    expect(r.wait({ after: 1 })).toBe(2); // already newer
    expectIpcError(() => r.wait({ timeout: 20 }), "ETIMEDOUT");
    const next = r.waitAsync({ timeout: 5_000 });
    setTimeout(() => b.write("third"), 10);
    expect(await next).toBe(3);
    expectIpcError(() => new Board(fresh("board"), { create: true }), "EINVAL");
  });

  test("a reader lapped mid-read by two writes never returns a torn value (the race made to happen every time)", () => {
    const address = fresh("board");
    using w = new Board(address, { create: true, size: 256 });
    using r = new Board(address);
    const value = (v: number) => new Uint8Array(256).fill(v);
    w.write(value(1));
    let laps = 0;
    racePoints.boardRead = () => {
      if (laps++ > 0) return; // once: the retry must then succeed
      w.write(value(2)); // into the other slot
      w.write(new Uint8Array(100).fill(3)); // back into the slot the reader is reading
    };
    try {
      const got = r.read()!;
      expect(laps).toBe(2); // the reader saw the lap and read again
      expect(got).toEqual({ version: 3, data: new Uint8Array(100).fill(3) });
    } finally {
      racePoints.boardRead = undefined;
    }
  });

  test("10^5 writes from another process, read concurrently by two more: never torn, never backwards", async () => {
    const address = fresh("board");
    using b = new Board(address, { create: true, size: 2048 });
    const readers = [peer(["board-read", address, "100000"]), peer(["board-read", address, "100000"])];
    const writer = peer(["board-write", address, "100000"]);
    expect(await writer.report()).toEqual({ ok: true, version: 100_000 });
    for (const r of readers) {
      const rep = await r.report();
      expect(rep.torn).toBe(0);
      expect(rep.backwards).toBe(0);
      expect(rep.reads as number).toBeGreaterThan(0);
    }
    expect(b.version).toBe(100_000);
  }, 120_000);
});

checkLeaks(prefix);
