/**
 * topic: beyond the conformance suite — many subscribers and publishers in separate
 * processes (on both runtimes, and mixed), a stalled subscriber SIGKILLed, drop-oldest
 * with a slow subscriber, history, a publisher killed mid-stream, and the name's lifetime.
 */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type RuntimeName, spawnProcess } from "../ffi/process.ts";
import { open, remove } from "../lib/index.ts";
import { entries } from "../lib/names/registry.ts";
import { racePoints } from "../lib/os/race-points.ts";
import type { TopicChannel } from "../lib/channels/topic.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { indexOf } from "./support/bytes.ts";
import { noteProbe, testPrefix, track } from "./support/leaks.ts";
import { otherRuntime, type Participant, participant } from "./support/participants.ts";
import { peerRuntime } from "./support/runtimes.ts";
import { checkTopicMessage, topicMessage } from "./support/topic-messages.ts";
import { cstr, libc, nativeView, nativeViewsDetach, shim } from "../ffi/runtime.ts";
import { C } from "../ffi/facts.ts";
import { mapFd } from "../lib/ring/mapping.ts";
import { W } from "../lib/channels/topic-layout.ts";

const prefix = testPrefix("topic");
let serial = 0;
const file = (address: string) => `/dev/shm/topic.${address.slice("topic:/".length)}`;
/** A fresh topic address, checked for leaks at the end. */
function fresh(): string {
  const address = `topic:/${prefix}${++serial}`;
  noteProbe(address, () => existsSync(file(address)), () => void remove(address));
  return address;
}
/**
 * One publisher holds the turn with a loan while another sends with a 50 ms timeout:
 * ETIMEDOUT, and a trySend false; after the commit both arrive, in order. The ms the
 * timed send took.
 */
function sendWhileLoaned(): number {
  const address = fresh();
  using sub = open(address, { role: "reader" });
  using a = open(address, { role: "writer" });
  using b = open(address, { role: "writer" });
  const loan = a.loan(5);
  loan.set(new TextEncoder().encode("first"));
  const t0 = performance.now();
  expectIpcError(() => b.send("second", { timeout: 50 }), "ETIMEDOUT");
  const took = performance.now() - t0;
  expect(b.trySend("second")).toBe(false);
  a.commit();
  b.send("second", { timeout: 1_000 });
  expect(new TextDecoder().decode(sub.recv({ timeout: 1_000 }))).toBe("first");
  expect(new TextDecoder().decode(sub.recv({ timeout: 1_000 }))).toBe("second");
  return took;
}

/**
 * Whether process `pid`'s JS thread sleeps in a futex wait for 200 ms on end (looking up to
 * 10 s): state S and a kernel wait (/proc/PID/wchan) in futex code — a thread that spins
 * or yields is R, or sleeps nowhere for that long.
 */
async function asleepInFutex(pid: number): Promise<boolean> {
  const asleep = () => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      return stat[stat.lastIndexOf(")") + 2] === "S" && readFileSync(`/proc/${pid}/wchan`, "latin1").includes("futex");
    } catch {
      return false; // gone
    }
  };
  let since = -1;
  for (const end = performance.now() + 10_000; performance.now() < end; await new Promise((r) => setTimeout(r, 10))) {
    if (!asleep()) since = -1;
    else if (since < 0) since = performance.now();
    else if (performance.now() - since >= 200) return true;
  }
  return false;
}

/** The first 4096 bytes of topic `address` mapped here, as u32 words (its control words: W); unmapped at dispose. */
function controlWords(address: string): { words: Uint32Array } & Disposable {
  const fd = libc.shm_open(cstr(`/topic.${address.slice("topic:/".length)}`), C.O_RDWR | C.O_CLOEXEC, 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  const base = mapFd(fd, 4096, address);
  libc.close(fd);
  return { words: new Uint32Array(nativeView(base, 0, 4096)), [Symbol.dispose]: () => void libc.munmap(base, 4096) };
}

const peerScript = fileURLToPath(new URL("./support/topic-peer.ts", import.meta.url));
const peer = (args: string[], on?: RuntimeName) => participant(peerScript, args, on);
const other = otherRuntime;

/** Start subscribers and wait until each has subscribed. */
async function subscribers(args: string[][], runtimes: RuntimeName[]): Promise<Participant[]> {
  const ps = args.map((a, i) => peer(a, runtimes[i % runtimes.length]));
  for (const p of ps) expect(JSON.parse(await p.line())).toEqual({ ready: true });
  return ps;
}

describe("topic", () => {
  test("4 subscribers (Bun and Deno) each get all 5000 messages in order while a fifth stalls and is then SIGKILLed", async () => {
    const address = fresh();
    using pub = open(address, { role: "writer", capacity: 65536 }) as TopicChannel;
    const subs = await subscribers([0, 1, 2, 3].map(() => ["sub", address, "5000"]), [peerRuntime(), other]);
    const [stalled] = await subscribers([["stall", address]], [peerRuntime()]);
    let blocked = false;
    const killer = setTimeout(() => stalled!.child.kill("SIGKILL"), 500);
    for (let i = 0; i < 5000; i++) {
      if (!pub.trySend(topicMessage(1, i))) {
        blocked = true; // the stalled subscriber holds the ring: "block" waits for it
        await pub.sendAsync(topicMessage(1, i), { timeout: 20_000 });
      }
    }
    clearTimeout(killer);
    expect(blocked).toBe(true);
    for (const s of subs) expect(await s.report()).toEqual({ received: 5000, bad: 0, outOfOrder: 0, missed: 0 });
    await stalled!.child.exited;
  }, 60_000);

  test("2 publishers × 2000, 2 subscribers: everyone gets all 4000, each publisher's in order", async () => {
    const address = fresh();
    using _keep = open(address, { role: "writer", capacity: 65536 });
    const subs = await subscribers([["sub", address, "4000"], ["sub", address, "4000"]], [peerRuntime(), other]);
    const pubs = [peer(["pub", address, "2000", "1"]), peer(["pub", address, "2000", "2"], other)];
    for (const p of pubs) expect(await p.report()).toEqual({ sent: 2000 });
    for (const s of subs) expect(await s.report()).toEqual({ received: 4000, bad: 0, outOfOrder: 0, missed: 0 });
  }, 60_000);

  test("a reader's sleep costs its publisher one wake: the first message after it clears the flag the reader set, the next ones find it clear", async () => {
    const address = fresh();
    using pub = open(address, { role: "writer" });
    using sub = open(address, { role: "reader" });
    using control = controlWords(address);
    const words = control.words;
    const wakes = Atomics.load(words, W.wakes);
    const got = sub.recvAsync({ timeout: 10_000 });
    got.catch(() => {}); // it rejects at close should an expect below fail: not unhandled, which would break the next test
    for (
      const until = performance.now() + 5000;
      Atomics.load(words, W.readersWaiting) === 0 && performance.now() < until;
      await new Promise((r) => setTimeout(r, 1))
    );
    expect(Atomics.load(words, W.readersWaiting)).toBe(1); // parked off-thread, announced
    pub.send("one");
    // cleared by the publisher as it woke the reader, before the reader has run again (a
    // count of sleepers stayed up until then, and every message meanwhile paid a wake)
    expect(Atomics.load(words, W.readersWaiting)).toBe(0);
    expect(Atomics.load(words, W.wakes)).toBe(wakes + 1);
    pub.send("two");
    expect(Atomics.load(words, W.wakes)).toBe(wakes + 1); // no sleeper announced: no wake
    expect(new TextDecoder().decode(await got)).toBe("one");
    expect(new TextDecoder().decode(sub.recv({ timeout: 1000 }))).toBe("two");
  });

  test("an async send that found the ring full sees room freed before it announced its wait (no wake comes for it), not a slice later", async () => {
    const address = fresh();
    // a 30 s slice: a send that missed the room would be stuck long past the 2 s below
    using pub = open(address, { role: "writer", capacity: 4096, peerCheckMs: 30_000 });
    using sub = open(address, { role: "reader" });
    const msg = new Uint8Array(200);
    let queued = 0;
    while (pub.trySend(msg)) queued++;
    let freed = 0;
    racePoints.topicSendWait = () => {
      // the subscriber reads everything between the send's failed try and its announcement:
      // its reads bump no `room` (no one had announced), so only a second look sees the room
      for (racePoints.topicSendWait = undefined; sub.tryRecv() !== undefined; freed++);
    };
    try {
      const sent = pub.sendAsync(msg, { timeout: 10_000 }).then(() => "sent", (e: Error) => e.message); // never unhandled
      const outcome = await Promise.race([sent, new Promise((r) => setTimeout(() => r("still waiting"), 2000))]);
      expect(freed).toBe(queued);
      expect(outcome).toBe("sent");
    } finally {
      racePoints.topicSendWait = undefined;
    }
    expect(sub.recv({ timeout: 1000 }).byteLength).toBe(200);
  });

  test(
    "no wake-up is lost: 2 publishers in bursts, 2 subscribers pausing now and then, all asleep in 60 s slices; each gets all 2 × 3000 in time",
    async () => {
      // readers and publishers announce a sleep in a flag the waker clears (one wake per
      // sleep, docs/wire-formats.md): a wake-up lost to that would leave a subscriber (or a
      // publisher waiting for room in the 4 KiB ring) asleep for its slice, and its 30 s
      // receive (or send) would time out
      const address = fresh();
      using _keep = open(address, { role: "writer", capacity: 4096 });
      const subs = await subscribers([["sub", address, "6000", "patient"], ["sub", address, "6000", "patient"]], [peerRuntime(), other]);
      const pubs = [peer(["pub", address, "3000", "1", "bursts"], peerRuntime()), peer(["pub", address, "3000", "2", "bursts"], other)];
      for (const p of pubs) expect((await p.lines()).pop()).toEqual({ sent: 3000 });
      for (const s of subs) expect((await s.lines()).pop()).toEqual({ received: 6000, bad: 0, outOfOrder: 0, missed: 0 });
    },
    60_000,
  );

  test("sendMany: 2 publishers' batches (1–100 messages, through a 4 KiB ring) reach 2 subscribers whole and in order, each batch under one turn", async () => {
    const address = fresh();
    using _keep = open(address, { role: "writer", capacity: 4096 });
    const subs = await subscribers([["sub", address, "6000"], ["sub", address, "6000"]], [peerRuntime(), other]);
    const pubs = [peer(["pub", address, "3000", "1", "batches"], peerRuntime()), peer(["pub", address, "3000", "2", "batches"], other)];
    for (const p of pubs) expect((await p.lines()).pop()).toEqual({ sent: 3000 });
    for (const s of subs) expect((await s.lines()).pop()).toEqual({ received: 6000, bad: 0, outOfOrder: 0, missed: 0 });
  }, 60_000);

  test("drop-oldest: publishers never wait; a slow subscriber skips ahead, counts what it missed, never reads a torn message", async () => {
    const address = fresh();
    using pub = open(address, { role: "writer", capacity: 16384, policy: "drop-oldest" }) as TopicChannel;
    expect(pub.policy).toBe("drop-oldest");
    const [slow] = await subscribers([["sub", address, "20000", "slow"]], [peerRuntime()]);
    for (let i = 0; i < 20_000; i++) {
      expect(pub.trySend(topicMessage(7, i))).toBe(true);
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 1)); // keep publishing while it reads
    }
    const r = await slow!.report<Record<string, number>>();
    expect(r.bad).toBe(0);
    expect(r.outOfOrder).toBe(0);
    expect(r.missed).toBeGreaterThan(0);
    expect(r.received! + r.missed!).toBe(20_000);
  }, 60_000);

  test("drop-oldest: a subscriber lapped in the middle of a copy never returns the overwritten bytes (the race made to happen every time)", () => {
    const address = fresh();
    using pub = open(address, { role: "writer", capacity: 4096, policy: "drop-oldest" });
    using sub = open(address, { role: "reader" }) as TopicChannel;
    pub.send(topicMessage(5, 0));
    let laps = 0;
    racePoints.topicCopy = () => {
      if (laps++ > 0) return;
      for (let i = 1; i <= 20; i++) pub.send(topicMessage(5, i)); // ~10 KiB through a 4 KiB ring: message 0 is overwritten
    };
    try {
      const got = checkTopicMessage(sub.recv({ timeout: 1000 }));
      expect(laps).toBe(2); // the subscriber saw it was lapped and read again
      expect(got).toBeDefined(); // a whole message, not message 0's length over other bytes
      expect(got!.i).toBeGreaterThan(0);
      expect(sub.missed).toBe(got!.i);
    } finally {
      racePoints.topicCopy = undefined;
    }
  });

  test("drop-oldest: a subscriber lapped while a publisher is between storing the oldest record's sequence and its position counts what it missed right", () => {
    const address = fresh();
    using pub = open(address, { role: "writer", capacity: 4096, policy: "drop-oldest" });
    using sub = open(address, { role: "reader" }) as TopicChannel;
    for (let i = 0; i < 40; i++) pub.send(topicMessage(6, i)); // ~20 KiB through a 4 KiB ring: sub is lapped
    // the publisher stores `oldestSeq`, then `oldest`: stop it between the two
    using control = controlWords(address);
    const words = control.words;
    Atomics.add(words, W.oldestSeq, 3);
    const got = checkTopicMessage(sub.recv({ timeout: 1000 }));
    expect(got?.i).toBeGreaterThan(0);
    expect(sub.missed).toBe(got!.i); // it was 2^32 - 3 more: the new sequence paired with the old position
    Atomics.sub(words, W.oldestSeq, 3);
  });

  test("history: a new subscriber gets up to N earlier messages", () => {
    const address = fresh();
    using pub = open(address, { role: "writer", history: 5 });
    expectIpcError(() => open(address, { role: "reader", history: 6 }), "EINVAL"); // the creator chose 5
    for (let i = 0; i < 10; i++) pub.send(topicMessage(3, i));
    using late = open(address, { role: "reader" });
    const got = [0, 1, 2, 3, 4].map(() => checkTopicMessage(late.recv({ timeout: 1000 }))?.i);
    expect(got).toEqual([5, 6, 7, 8, 9]);
    expect(late.tryRecv()).toBeUndefined();
  });

  test("a publisher SIGKILLed mid-stream never blocks the others; subscribers see only whole messages", async () => {
    const address = fresh();
    using sub = open(address, { role: "reader", capacity: 65536 });
    for (let round = 0; round < 3; round++) {
      const victim = peer(["pub-forever", address, "9"]);
      while (sub.tryRecv() === undefined) await new Promise((r) => setTimeout(r, 1)); // it is publishing
      victim.child.kill("SIGKILL");
      await victim.child.exited;
      while (true) {
        const m = sub.tryRecv();
        if (!m) break;
        expect(checkTopicMessage(m) === undefined).toBe(false); // whole
      }
      using pub = open(address, { role: "writer" });
      pub.send(topicMessage(1, round), { timeout: 5_000 }); // the dead publisher's turn was taken over
      expect(checkTopicMessage(sub.recv({ timeout: 5_000 }))).toEqual({ id: 1, i: round });
    }
  }, 60_000);

  // in place only where views of shared memory can be taken back (not Node: docs/node.md)
  test.skipIf(!nativeViewsDetach)("zero-copy: a publisher's loan and a subscriber's view are the topic's own memory (policy block)", () => {
    const address = fresh();
    using pub = open(address, { role: "writer", capacity: 4096 });
    using sub = open(address, { role: "reader" });
    for (let i = 0; i < 200; i++) {
      const msg = topicMessage(4, i);
      const loan = pub.loan(msg.byteLength);
      loan.set(msg);
      if (i % 50 === 0) expect(indexOf(readFileSync(file(address)), msg)).toBeGreaterThan(0); // in the object before commit
      pub.commit();
      expect(loan.byteLength).toBe(0);
      const view = sub.recvView({ timeout: 1000 });
      expect(checkTopicMessage(view)).toEqual({ id: 4, i });
      if (i % 50 === 0) {
        const at = indexOf(readFileSync(file(address)), view);
        view[8] = view[8]! ^ 0xff; // (read-only by contract) the write lands in the shared object: it is in place
        expect(readFileSync(file(address))[at + 8]).toBe(view[8]);
      }
      sub.release();
    }
  });

  test.skipIf(!nativeViewsDetach)(
    "a loan holds the publishers' turn until commit: another publisher's send times out meanwhile, and goes through after",
    () => expect(sendWhileLoaned()).toBeLessThan(1_000),
  );

  test.skipIf(!nativeViewsDetach)(
    "a reader opened in the thread whose loan holds the turn is EBUSY saying to commit first (it waited for good before); closing a writer with a loan hands the turn on",
    () => {
      const address = fresh();
      using a = open(address, { role: "writer" });
      a.loan(5).set(new TextEncoder().encode("first"));
      expect(expectIpcError(() => open(address, { role: "reader" }), "EBUSY").message).toContain("commit() (or close) that loan first");
      a.commit();
      using sub = open(address, { role: "reader" });
      using b = open(address, { role: "writer" });
      b.loan(4).set(new TextEncoder().encode("lost"));
      b.close(); // never committed: nothing published, and the turn is free again
      a.send("second", { timeout: 1_000 });
      expect(new TextDecoder().decode(sub.recv({ timeout: 1_000 }))).toBe("second");
    },
  );

  test.skipIf(!nativeViewsDetach)(
    "a reader opened while another process's loan holds the turn sleeps until the commit (it yielded for good before), and a stop signal ends that wait",
    async () => {
      for (const stop of [false, true]) {
        const address = fresh();
        using a = open(address, { role: "writer" });
        a.loan(5).set(new TextEncoder().encode("first"));
        const p = peer(["sub", address, "1"]);
        expect(await asleepInFutex(p.child.pid)).toBe(true); // not running, not yielding: asleep
        if (stop) {
          p.child.kill("SIGTERM");
          expect(await p.child.exited).toBe(143);
          a.commit();
          continue;
        }
        a.commit();
        expect(JSON.parse(await p.line())).toEqual({ ready: true });
        a.send(topicMessage(1, 0));
        expect(await p.report()).toMatchObject({ received: 1, bad: 0 });
        expect(await p.child.exited).toBe(0);
      }
    },
    30_000,
  );

  test.skipIf(!nativeViewsDetach)(
    "beside a busy loop on its CPU too: the waiting send parks rather than yield slice after slice, and keeps its timeout",
    async () => {
      // (2048 yields, each a whole slice of the busy loop: 5.7 s for a 50 ms timeout before)
      const hog = track(spawnProcess(["taskset", "-c", "0", "sh", "-c", "while :; do :; done"], { stdio: ["ignore", "ignore", "ignore"] }));
      try {
        const state = () => (existsSync(`/proc/${hog.pid}/stat`) ? readFileSync(`/proc/${hog.pid}/stat`, "utf8") : "");
        for (const until = performance.now() + 5000; !/\(sh\) R /.test(state()) && performance.now() < until; await new Promise((r) => setTimeout(r, 5)));
        expect(state()).toMatch(/\(sh\) R /); // running its loop, on CPU 0
        expect(shim.ipcl_pin_process(0)).toBe(0);
        expect(sendWhileLoaned()).toBeLessThan(1_000);
      } finally {
        shim.ipcl_pin_process(-1);
        hog.kill("SIGKILL");
        await hog.exited;
      }
    },
  );

  test("participants SIGKILLed leave the name registered as dead; remove() (what gc does) takes it", async () => {
    for (const address of [fresh(), fresh().replace("topic:", "shm-queue:")]) {
      const name = address.startsWith("topic:") ? file(address) : `/dev/shm/shm-queue.${address.slice("shm-queue:/".length)}`;
      noteProbe(address, () => existsSync(name), () => void remove(address));
      const p = peer([address.startsWith("topic:") ? "stall" : "consume", address]);
      expect(JSON.parse(await p.line())).toEqual({ ready: true });
      p.child.kill("SIGKILL");
      await p.child.exited;
      expect(existsSync(name)).toBe(true);
      expect(entries().find((e) => e.address === address)?.alive).toBe(false);
      expect(remove(address)).toBe(true);
      expect(existsSync(name)).toBe(false);
    }
  });

  test("the name lives while anyone has it open; the last one out removes it; roles and limits say what to do", () => {
    const address = fresh();
    const a = open(address, { role: "writer", maxSubscribers: 1 });
    const b = open(address, { role: "reader" });
    expect(expectIpcError(() => open(address, { role: "reader" }), "EBUSY").message).toContain("maxSubscribers");
    expect(expectIpcError(() => a.recv({ timeout: 0 }), "EINVAL").message).toContain('role "reader"');
    expect(expectIpcError(() => b.send("x"), "EINVAL").message).toContain('role "writer"');
    expectIpcError(() => open(address, { exclusive: true }), "EEXIST");
    a.close();
    expect(existsSync(file(address))).toBe(true);
    b.close();
    expect(existsSync(file(address))).toBe(false);
    expectIpcError(() => open(fresh(), { capacity: 5000 }), "EINVAL");
  });
});

checkLeaks(prefix);
