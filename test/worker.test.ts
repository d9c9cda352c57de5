/** The in-process baseline: a Worker over a SharedArrayBuffer ring with Atomics.wait. */
import { describe, expect, test } from "./support/harness.ts";
import { IpcError } from "../lib/index.ts";
import { RingChannel, spawnWorker } from "../lib/public/mechanisms.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { checkMessage, fillMessage, sizeFor } from "./support/sequence.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const script = new URL("./support/worker-peer.ts", import.meta.url);

async function withWorker(role: string, count: number, body: (ch: RingChannel, done: Promise<unknown>) => Promise<void> | void) {
  const { channel, worker } = spawnWorker(script, { data: { role, count } });
  const done = new Promise((resolve) => worker.once("message", resolve));
  try {
    await body(channel, done);
  } finally {
    channel.close();
    await worker.terminate();
  }
}

describe("worker: (in-process baseline)", () => {
  test("100 000 messages from a Worker arrive whole and in order, sizes 0..max; then EOF", () =>
    withWorker("send", 100_000, (ch) => {
      expect(ch.caps.mechanism).toBe("worker");
      expect(ch.waitStrategy).toBe("atomics");
      const max = ch.caps.maxMessageSize;
      const buf = new Uint8Array(max);
      for (let i = 0; i < 100_000; i++) {
        const problem = checkMessage(i, buf.subarray(0, ch.recvInto(buf, { timeout: 10_000 })), max);
        if (problem) throw new Error(problem);
      }
      expectIpcError(() => ch.recv({ timeout: 10_000 }), "EOF");
    }));

  test("both ends async: a Worker awaiting recvAsync is woken every time (its event loop has nothing else)", () =>
    withWorker("echo-async", 0, async (ch) => {
      const max = ch.caps.maxMessageSize;
      for (let i = 0; i < 2000; i++) {
        await ch.sendAsync(fillMessage(i, new Uint8Array(max), sizeFor(i, 256)));
        const back = await ch.recvAsync({ timeout: 5000 });
        const problem = checkMessage(i, back, 256);
        if (problem) throw new Error(problem);
      }
    }));

  test("20 000 messages to a Worker arrive whole and in order", () =>
    withWorker("recv", 20_000, async (ch, done) => {
      const max = ch.caps.maxMessageSize;
      const buf = new Uint8Array(max);
      for (let i = 0; i < 20_000; i++) ch.send(fillMessage(i, buf, sizeFor(i, max)));
      expect(await done).toEqual({ error: "" });
    }));

  test("round trips with an echoing Worker", () =>
    withWorker("echo", 0, (ch) => {
      const max = ch.caps.maxMessageSize;
      const buf = new Uint8Array(max);
      for (let i = 0; i < 2000; i++) {
        ch.send(fillMessage(i, buf, sizeFor(i, max)));
        expect(checkMessage(i, ch.recv({ timeout: 10_000 }), max)).toBe("");
      }
    }));

  test("timeouts, tryRecv, and recvAsync that lets timers run", () =>
    withWorker("late-send", 1, async (ch) => {
      expect(ch.tryRecv()).toBeUndefined();
      expectIpcError(() => ch.recv({ timeout: 50 }), "ETIMEDOUT");
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      const msg = await ch.recvAsync({ timeout: 10_000 }).finally(() => clearInterval(timer));
      expect(checkMessage(0, msg, ch.caps.maxMessageSize)).toBe("");
      expect(ticks).toBeGreaterThanOrEqual(5);
    }));

  test("worker:parent outside a Worker is refused", async () => {
    const { open } = await import("../lib/index.ts");
    const e = expectIpcError(() => open("worker:parent"), "ENOENT");
    expect(e).toBeInstanceOf(IpcError);
    expectIpcError(() => open("worker:other"), "EADDRESS");
  });
});

checkLeaks(testPrefix("worker"));
