/**
 * The conformance suite: the Channel contract, checked against every mechanism with the
 * peer in a separate process (test/support/peer.ts). Each mechanism's entry
 * (test/support/mechanisms.ts) says only how to open its two ends; every test below runs
 * against all of them.
 */
import { describe, expect, test } from "./support/harness.ts";
import { sayIfNatsSkips } from "./support/nats-server.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { runtime } from "../ffi/process.ts";
import { type Channel, IpcError } from "../lib/index.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { dir, mechanisms, prefix, type Session, signalPeersCountAlone, workerMechanism } from "./support/mechanisms.ts";
import { withPeer } from "./support/with-peer.ts";
import { ackWindow, checkMessage, END_MARK, fillMessage, sizeFor } from "./support/sequence.ts";

/** The peer's JSON report (its last line), after it exits. */
async function peerReport(s: Session): Promise<Record<string, unknown>> {
  const text = await s.out.rest();
  await s.peer.exited;
  const line = text.trim().split("\n").pop() ?? "";
  return line ? JSON.parse(line) : { exitCode: s.peer.exitCode };
}

/**
 * Nothing more to receive: empty, or — where a peer's close is seen though its exit is
 * not (a Worker's ring) — EOF. Any message is a failure.
 */
function nothingMore(ch: Channel): boolean {
  try {
    return ch.tryRecv() === undefined;
  } catch (e) {
    if (e instanceof IpcError && e.code === "EOF") return true;
    throw e;
  }
}

/** Wait for the peer's {"ready":true} line (it has opened its end). */
async function peerReady(s: Session): Promise<void> {
  expect(JSON.parse(await s.out.line())).toEqual({ ready: true });
}

/**
 * Send `msg` with trySend until the channel is full — trySend false through three 50 ms
 * pauses (TCP grows its buffers as they fill) — and say how many went.
 */
async function fill(s: Session, msg: Uint8Array): Promise<number> {
  let sent = 0;
  for (let quiet = 0; quiet < 3; quiet++) {
    while (s.here.trySend(msg)) {
      sent++;
      quiet = 0;
      if (sent > 10_000_000) throw new Error("trySend never reported a full channel");
    }
    await sleep(50);
  }
  return sent;
}

/**
 * How many times a test may fill a channel and find room again at its next send. On a busy
 * machine the kernel goes on moving a TCP sender's queue into the receiver's (growing)
 * buffer past any pause: there, full again and ask again (a channel that never stays full
 * fails). A realtime signal's room is the receiving peer's pending-signal count, its own in
 * a user namespace of its own (support/mechanisms.ts); where none can be made the count is
 * the user's, which other test jobs' signal tests take and free too. Everywhere else, and
 * for signals counted alone, full is full at the first attempt.
 */
const fullAttempts = (m: { name: string }) => (m.name === "tcp" || (m.name.startsWith("signal") && !signalPeersCountAlone()) ? 20 : 1);

// every mechanism, and the in-process Worker baseline with its peer in a thread. On Deno
// only the processes: a Deno Worker keeps pipes and sockets open after terminate() (a
// Worker that runs nothing does too), which the leak check at the end would rightly report.
/**
 * A loaned or viewed array was taken back: its buffer is detached, so nothing can read or
 * write the channel's memory through it (a write throws: TypeError, or RangeError on
 * Node 20, whose V8 predates the ES2024 wording).
 */
function expectDetached(view: Uint8Array): void {
  expect(view.byteLength).toBe(0);
  expect(view.buffer.byteLength).toBe(0);
  expect(() => view.set([1])).toThrow();
}

for (const m of [...mechanisms, ...(runtime === "bun" ? [workerMechanism] : [])]) {
  describe(`conformance: ${m.name}`, () => {
    test("100 000 messages from a peer process arrive whole and in order, sizes 0..max", () =>
      withPeer(m, "send", 100_000, async (s) => {
        const max = s.here.caps.maxMessageSize;
        const buf = new Uint8Array(max);
        for (let i = 0; i < 100_000; i++) {
          const n = s.here.recvInto(buf, { timeout: 20_000 });
          const problem = checkMessage(i, buf.subarray(0, n), max);
          if (problem) throw new Error(problem);
          s.received(n);
        }
        await s.peer.exited;
        expect(s.peer.exitCode).toBe(0);
        // nothing more: the sender has closed (EOF where the mechanism tells), or the queue is empty
        expect(s.here.caps.detectsPeerExit).toBe(m.detectsPeerExit!);
        if (m.detectsPeerExit) expectIpcError(() => s.here.recv({ timeout: 10_000 }), "EOF");
        else expect(nothingMore(s.here)).toBe(true);
      }));

    test("20 000 messages to a peer process arrive whole and in order", () =>
      withPeer(m, "recv", 20_000, async (s) => {
        const max = s.here.caps.maxMessageSize;
        const buf = new Uint8Array(max);
        const ackDue = m.window ? ackWindow(m.window) : () => false;
        for (let i = 0; i < 20_000; i++) {
          const size = sizeFor(i, max);
          s.here.send(fillMessage(i, buf, size), { timeout: 20_000 });
          if (ackDue(size)) s.here.recv({ timeout: 20_000 });
        }
        expect(await peerReport(s)).toEqual({ ok: true, received: 20_000, error: "" });
      }));

    test.skipIf(!!m.window)("batches: sendMany and sendManyAsync to a peer, whole and in order", () =>
      withPeer(m, "recv", 5_000, async (s) => {
        const max = s.here.caps.maxMessageSize;
        // each message in a buffer of its own size: a max-size buffer apiece is 100 × max
        // bytes a batch to allocate and zero (a second a test on a stream mechanism)
        const batch = (from: number, n: number) =>
          Array.from({ length: n }, (_, k) => {
            const size = sizeFor(from + k, max);
            return fillMessage(from + k, new Uint8Array(size), size);
          });
        for (let i = 0; i < 5_000; i += 100) {
          if (i % 200 === 0) s.here.sendMany(batch(i, 100), { timeout: 20_000 });
          else await s.here.sendManyAsync(batch(i, 100), { timeout: 20_000 });
        }
        expect(await peerReport(s)).toEqual({ ok: true, received: 5_000, error: "" });
        expect(s.here.trySendMany([])).toBe(0);
      }));

    test.skipIf(!!m.window)(
      "batches: recvMany and recvManyAsync from a peer take one or more, whole and in order",
      () =>
        withPeer(m, "send", 5_000, async (s) => {
          const max = s.here.caps.maxMessageSize;
          let i = 0;
          while (i < 5_000) {
            const got = i % 2 === 0 ? s.here.recvMany(64, { timeout: 20_000 }) : await s.here.recvManyAsync(64, { timeout: 20_000 });
            expect(got.length).toBeGreaterThanOrEqual(1);
            expect(got.length).toBeLessThanOrEqual(64);
            for (const msg of got) {
              const problem = checkMessage(i++, msg, max);
              if (problem) throw new Error(problem);
            }
          }
          expect(i).toBe(5_000);
          expectIpcError(() => s.here.recvMany(0), "EINVAL");
        }),
    );

    test.skipIf(!!m.window)(
      "loans: loan, tryLoan and loanAsync, filled in place and committed, reach a peer whole and in order",
      () =>
        withPeer(m, "recv", 3_000, async (s) => {
          const max = s.here.caps.maxMessageSize;
          for (let i = 0; i < 3_000; i++) {
            if (i === 6) {
              // while the peer still waits for messages (once it has all 3000 it closes, and a loan is EPIPE)
              expectIpcError(() => s.here.commit(), "EINVAL"); // no loan
              expectIpcError(() => s.here.loan(max + 1), "EMSGSIZE");
              const dropped = s.here.loan(Math.min(max, 4));
              s.here.abandonLoan(); // nothing is sent: the peer would see a message out of sequence
              expect(dropped.byteLength).toBe(0);
              s.here.abandonLoan(); // idempotent
            }
            const size = sizeFor(i, max);
            // every third loan asks for more than it commits: commit(length) sends only that much
            const ask = i % 3 === 0 ? Math.min(max, size + 9) : size;
            const view = i % 4 === 0
              ? await s.here.loanAsync(ask, { timeout: 20_000 })
              : i % 4 === 1
              ? s.here.tryLoan(ask) ?? s.here.loan(ask, { timeout: 20_000 })
              : s.here.loan(ask, { timeout: 20_000 });
            expect(view.byteLength).toBe(ask);
            fillMessage(i, view, size);
            if (i === 5) {
              expectIpcError(() => s.here.loan(1), "EBUSY"); // one loan at a time
              expectIpcError(() => s.here.send("x"), "EBUSY"); // its message comes first
              expectIpcError(() => s.here.commit(ask + 1), "EINVAL");
            }
            s.here.commit(size);
            expectDetached(view); // nothing written through it reaches the channel
          }
          expect(await peerReport(s)).toEqual({ ok: true, received: 3_000, error: "" });
        }),
    );

    test.skipIf(!!m.window)(
      "views: recvView, tryRecvView and recvViewAsync read a peer's messages whole and in order; a view ends at release() or the next receive",
      () =>
        withPeer(m, "send", 3_000, async (s) => {
          const max = s.here.caps.maxMessageSize;
          let last: Uint8Array | undefined;
          for (let i = 0; i < 3_000; i++) {
            let view: Uint8Array | undefined;
            if (i % 3 === 0) view = await s.here.recvViewAsync({ timeout: 20_000 });
            else if (i % 3 === 1) { while (!(view = s.here.tryRecvView())) await sleep(0); }
            else view = s.here.recvView({ timeout: 20_000 });
            if (last) expect(last.byteLength).toBe(0); // the previous one ended at this receive
            const problem = checkMessage(i, view, max);
            if (problem) throw new Error(problem);
            if (i % 2 === 0) {
              s.here.release();
              expectDetached(view);
              s.here.release(); // idempotent
              last = undefined;
            } else last = view.byteLength > 0 ? view : undefined;
          }
          await s.peer.exited;
          s.here.release();
        }),
    );

    test.skipIf(!m.duplex)("a duplex channel carries round trips with a peer", () =>
      withPeer(m, "echo", 0, (s) => {
        const max = s.here.caps.maxMessageSize;
        const buf = new Uint8Array(max);
        for (let i = 0; i < 2_000; i++) {
          s.here.send(fillMessage(i, buf, sizeFor(i, max)));
          const problem = checkMessage(i, s.here.recv({ timeout: 10_000 }), max);
          if (problem) throw new Error(problem);
        }
      }));

    test("accepts exactly maxMessageSize, rejects one byte more with EMSGSIZE", () =>
      // the peer expects messages 0 and 1 of the sequence: sizes 0 and max
      withPeer(m, "recv", 2, async (s) => {
        const max = s.here.caps.maxMessageSize;
        expect(sizeFor(1, max)).toBe(max);
        const buf = new Uint8Array(max + 1);
        const err = expectIpcError(() => s.here.send(buf), "EMSGSIZE");
        expect(err.message).toContain(`message of ${max + 1} bytes exceeds`);
        expect(err.address).toBe(s.here.address);
        expectIpcError(() => s.here.trySend(buf), "EMSGSIZE");
        s.here.send(fillMessage(0, buf, 0), { timeout: 10_000 });
        s.here.send(fillMessage(1, buf, max), { timeout: 10_000 });
        expect(await peerReport(s)).toEqual({ ok: true, received: 2, error: "" });
      }));

    test("recv, recvInto and recvAsync honour their timeouts; tryRecv on empty is undefined", () =>
      // the peer opens its end as a sender and sends nothing
      withPeer(m, "quiet", 0, async (s) => {
        expect(s.here.tryRecv()).toBeUndefined();
        expect(s.here.tryRecvInto(new Uint8Array(16))).toBeUndefined();
        let t0 = performance.now();
        expectIpcError(() => s.here.recv({ timeout: 150 }), "ETIMEDOUT");
        let waited = performance.now() - t0;
        // bounds that fit a noisy 2-CPU machine: 150 ms must not take 1.5 s
        expect(waited).toBeGreaterThanOrEqual(140);
        expect(waited).toBeLessThan(1500);
        t0 = performance.now();
        expectIpcError(() => s.here.recvInto(new Uint8Array(s.here.caps.maxMessageSize), { timeout: 50 }), "ETIMEDOUT");
        expect(performance.now() - t0).toBeLessThan(1000);
        t0 = performance.now();
        const err = await s.here.recvAsync({ timeout: 150 }).catch((e) => e);
        waited = performance.now() - t0;
        expect(err).toBeInstanceOf(IpcError);
        expect(err.code).toBe("ETIMEDOUT");
        expect(waited).toBeGreaterThanOrEqual(140);
        expect(waited).toBeLessThan(1500);
      }));

    // UDP never fills (a full receiver drops datagrams): caps.capacity is Infinity there
    test.skipIf(!m.bounded)("trySend returns false when the channel is full, without blocking", () =>
      withPeer(m, "idle", 0, async (s) => {
        await peerReady(s);
        const msg = new Uint8Array(Math.min(1024, s.here.caps.maxMessageSize));
        let sent = 0;
        for (let attempt = 1;; attempt++) {
          sent += await fill(s, msg);
          expect(sent).toBeGreaterThan(0);
          let t0 = performance.now();
          const took = s.here.trySend(msg);
          expect(performance.now() - t0).toBeLessThan(100); // never blocks
          t0 = performance.now();
          let err: unknown;
          try {
            if (!took) s.here.send(msg, { timeout: 100 });
          } catch (e) {
            err = e;
          }
          const waited = performance.now() - t0;
          if (err === undefined && attempt < fullAttempts(m)) continue; // room appeared: fill again
          expect(took).toBeFalse();
          expect(err).toBeInstanceOf(IpcError);
          expect((err as IpcError).code).toBe("ETIMEDOUT");
          expect(waited).toBeGreaterThanOrEqual(90);
          expect(waited).toBeLessThan(1100);
          break;
        }
      }));

    test.skipIf(!m.bounded)(
      "sendAsync into a full channel waits off the event loop, and sends once the peer drains it",
      () =>
        withPeer(m, "late-drain", 0, async (s) => {
          await peerReady(s);
          const msg = new Uint8Array(Math.min(1024, s.here.caps.maxMessageSize));
          let sent = 0;
          for (let attempt = 1;; attempt++) {
            sent += await fill(s, msg);
            const t0 = performance.now();
            const late = await s.here.sendAsync(msg, { timeout: 100 }).then(() => undefined, (e: unknown) => e);
            if (late === undefined) sent++; // it went: the peer will count it
            if (late === undefined && attempt < fullAttempts(m)) continue; // room appeared: fill again
            expect(late instanceof IpcError && late.code).toBe("ETIMEDOUT");
            expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
            break;
          }
          let ticks = 0;
          let done = false;
          const timer = setInterval(() => ticks++, 10);
          const sending = s.here.sendAsync(msg, { timeout: 10_000 }).finally(() => {
            done = true;
            clearInterval(timer);
          });
          await sleep(150);
          expect(done).toBeFalse(); // the peer has not taken anything yet
          expect(ticks).toBeGreaterThanOrEqual(5); // and the event loop ran meanwhile
          s.drainNow();
          await sending;
          await s.here.sendAsync(END_MARK, { timeout: 10_000 }); // "that was all": the peer reports now
          expect(JSON.parse(await s.out.line())).toEqual({ received: sent + 1 });
        }),
    );

    test("recvAsync lets timers run while it waits for a peer", () =>
      withPeer(m, "late-send", 1, async (s) => {
        let ticks = 0;
        const timer = setInterval(() => ticks++, 10);
        const msg = await s.here.recvAsync({ timeout: 10_000 }).finally(() => clearInterval(timer));
        expect(checkMessage(0, msg, s.here.caps.maxMessageSize)).toBe("");
        expect(ticks).toBeGreaterThanOrEqual(5); // the peer waits 300 ms before sending
      }));

    test("async iteration yields every message, and ends when the peer closes", () =>
      withPeer(m, "send", 50, async (s) => {
        const max = s.here.caps.maxMessageSize;
        let i = 0;
        for await (const msg of s.here) {
          expect(checkMessage(i++, msg, max)).toBe("");
          s.received(msg.byteLength);
          // without EOF (queues, datagrams) iteration would wait for more: stop at the count
          if (!m.detectsPeerExit && i === 50) break;
        }
        expect(i).toBe(50);
      }));

    test("a message larger than the recvInto buffer is kept, not lost", () =>
      withPeer(m, "send", 3, (s) => {
        const max = s.here.caps.maxMessageSize;
        // message 0 is empty, message 1 has the maximum size
        expect(s.here.recvInto(new Uint8Array(0), { timeout: 10_000 })).toBe(0);
        s.received(0);
        const err = expectIpcError(() => s.here.recvInto(new Uint8Array(2), { timeout: 10_000 }), "EMSGSIZE");
        expect(err.message).toContain(`${max} bytes`);
        expect(checkMessage(1, s.here.recv({ timeout: 10_000 }), max)).toBe("");
        s.received(max);
        expect(checkMessage(2, s.here.recv({ timeout: 10_000 }), max)).toBe("");
      }));

    // POSIX queues and datagram sockets tell no one when a process exits (caps.detectsPeerExit false)
    test.skipIf(!m.detectsPeerExit)("a peer that exits without closing is seen: EOF after its last message", () =>
      withPeer(m, "exit-after", 3, async (s) => {
        expect(s.here.caps.detectsPeerExit).toBeTrue();
        const max = s.here.caps.maxMessageSize;
        for (let i = 0; i < 3; i++) expect(checkMessage(i, s.here.recv({ timeout: 10_000 }), max)).toBe("");
        await s.peer.exited;
        expectIpcError(() => s.here.recv({ timeout: 10_000 }), "EOF");
      }));

    test.skipIf(!m.nameExists)("closing the creator removes every name it made", () =>
      withPeer(m, "idle", 0, async (s) => {
        await peerReady(s);
        expect(m.nameExists!(s.here)).toBeTrue();
        s.here.close();
        expect(m.nameExists!(s.here)).toBeFalse();
      }));

    test("the traits that choose which tests run here agree with what the channel's caps say", () =>
      withPeer(m, "quiet", 0, async (s) => {
        const c = s.here.caps;
        // duplex, peer-exit and bounded decide the skips above: hand-written, so checked
        expect({ duplex: c.duplex, detectsPeerExit: c.detectsPeerExit, bounded: Number.isFinite(c.capacity) }).toEqual({
          duplex: m.duplex,
          detectsPeerExit: m.detectsPeerExit ?? false,
          bounded: m.bounded ?? false,
        });
      }));

    test("close is idempotent; use after close and bad timeouts throw typed errors", () =>
      withPeer(m, "idle", 0, async (s) => {
        expectIpcError(() => s.here.recv({ timeout: -1 }), "EINVAL");
        expectIpcError(() => s.here.recv({ timeout: Number.NaN }), "EINVAL");
        expectIpcError(() => s.here.send("x", { timeout: -5 }), "EINVAL");
        s.here.close();
        s.here.close();
        expect(s.here.closed).toBeTrue();
        expectIpcError(() => s.here.send("x"), "ECLOSED");
        expectIpcError(() => s.here.recv(), "ECLOSED");
        await expect(s.here.recvAsync()).rejects.toThrow(/after close/);
      }));
  });
}

sayIfNatsSkips();
checkLeaks(prefix, [dir]);
