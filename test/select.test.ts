/**
 * select() and selectAsync() over channels of mixed mechanisms: whichever channel another
 * process writes to is the one that wakes the wait, on each of the three ways select()
 * sleeps (one poll(2) over descriptors, one futex_waitv over rings, slices for a mix).
 */
import { describe, expect, test } from "./support/harness.ts";
import { fileURLToPath } from "node:url";
import { rmSync, writeFileSync } from "node:fs";
import { type Channel, open, select, selectAsync, type Selected, trySelect } from "../lib/index.ts";
import { participant } from "./support/participants.ts";
import { expectIpcError, expectIpcErrorAsync } from "./support/expect-error.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { noteMq, privateDir, testKey, testPrefix } from "./support/leaks.ts";

const prefix = testPrefix("sel");
const dir = privateDir("sel");
const script = fileURLToPath(new URL("./support/serve-peer.ts", import.meta.url));
let serial = 0;
const n = () => `${prefix}${++serial}`;
const text = new TextDecoder();

/** The receiving ends select() waits on, each created here; a peer process sends to one. */
const kinds: Record<string, () => Channel> = {
  mq: () => open(noteMq(`mq:/${n()}`), { create: true }),
  unix: () => open(`unix:${dir}/${n()}`, { create: true }),
  fifo: () => open(`fifo:${dir}/${n()}`, { create: true }),
  shm: () => open(`shm:/${n()}`, { create: true }),
  "sysv-mq": () => open(`sysv-mq:${testKey()}`, { create: true }),
};

/**
 * A peer process opens every channel's other end and sends "to K" to the K-th, 300 ms after
 * each go-ahead (a file GO+K); `wait` must wake on each in turn, with that message. The next
 * go-ahead comes once a wait has returned: with two messages waiting, select() may rightly
 * take either (its sweep starts at a different channel each call), and a fixed pace let a
 * loaded machine's slow wake-up see two (CI, Node: "to 1" before "to 0"). The peer stays
 * until killed, so no channel ends meanwhile (select() reports an ended channel's EOF).
 */
async function wakesOnEach(chans: Channel[], wait: (chans: Channel[]) => Promise<Selected>): Promise<void> {
  const go = `${dir}/go-${n()}-`;
  const peer = participant(script, ["send-each", "300", go, ...chans.map((c) => c.address)]);
  try {
    for (let k = 0; k < chans.length; k++) {
      writeFileSync(`${go}${k}`, "");
      const got = await wait(chans);
      expect({ index: got.index, message: text.decode(got.message) }).toEqual({ index: k, message: `to ${k}` });
    }
  } finally {
    peer.child.kill("SIGKILL");
    await peer.child.exited;
    for (let k = 0; k < chans.length; k++) rmSync(`${go}${k}`, { force: true });
  }
}

/** select() blocks this thread: the event loop turns once first, so the peer process starts. */
const blocking = async (chans: Channel[]) => {
  await new Promise((r) => setTimeout(r, 0));
  return select(chans, { timeout: 20_000 });
};

describe("select", () => {
  const sets: Record<string, string[]> = {
    "descriptors only (one poll)": ["mq", "unix", "fifo"],
    "rings only (one futex_waitv)": ["shm", "shm"],
    "a mix of descriptors, rings and a System V queue (slices)": ["mq", "shm", "sysv-mq", "unix"],
  };
  for (const [label, set] of Object.entries(sets)) {
    test(`select() wakes on whichever channel a peer writes: ${label}`, async () => {
      const chans = set.map((k) => kinds[k]!());
      try {
        await wakesOnEach(chans, blocking);
      } finally {
        for (const c of chans) c.close();
      }
    }, 60_000);
  }

  test("selectAsync() over a mix wakes on each in turn, and the event loop runs meanwhile", async () => {
    const chans = ["mq", "shm", "sysv-mq", "unix", "fifo"].map((k) => kinds[k]!());
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      await wakesOnEach(chans, (c) => selectAsync(c, { timeout: 20_000 }));
      expect(ticks).toBeGreaterThan(5);
    } finally {
      clearInterval(timer);
      for (const c of chans) c.close();
    }
  }, 60_000);

  test("trySelect takes what is there, from every channel in turn (none starves); timeouts are ETIMEDOUT", async () => {
    const [a, b] = [kinds.shm!(), kinds.shm!()];
    const [pa, pb] = [open(a.address), open(b.address)];
    try {
      for (let i = 0; i < 4; i++) {
        pa.send(`a${i}`);
        pb.send(`b${i}`);
      }
      const order: string[] = [];
      for (let got = trySelect([a, b]); got; got = trySelect([a, b])) order.push(text.decode(got.message));
      expect(order.sort()).toEqual(["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3"]);
      expect(trySelect([a, b])).toBeUndefined();
      const t0 = performance.now();
      expectIpcError(() => select([a, b], { timeout: 50 }), "ETIMEDOUT");
      expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
      await expectIpcErrorAsync(() => selectAsync([a, b], { timeout: 30 }), "ETIMEDOUT", /within 30 ms/);
    } finally {
      for (const c of [pa, pb, a, b]) c.close();
    }
  });
});

checkLeaks(prefix, [dir]);
