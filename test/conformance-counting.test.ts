/**
 * The conformance suite for counting channels — eventfd counters and semaphores, whose
 * messages carry a count rather than bytes (caps.boundaries "counter" or "token"): the
 * total sent is the total received, across processes, plus the same contract checks on
 * timeouts, try-calls, async waits, close and cleanup as test/conformance.test.ts.
 */
import { describe, expect, test } from "./support/harness.ts";
import { IpcError } from "../lib/index.ts";
import { countingDir, countingMechanisms, countingPrefix } from "./support/counting.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { withPeer } from "./support/with-peer.ts";
import { countingMessage, countingTotal, countingValue } from "./support/sequence.ts";

for (const m of countingMechanisms) {
  describe(`counting conformance: ${m.name}`, () => {
    test("everything 20 000 sends carry from a peer process arrives: totals match exactly", () =>
      withPeer(m, "count-send", 20_000, async (s) => {
        const want = countingTotal(s.here, 20_000);
        let total = 0n;
        while (total < want) total += countingValue(s.here, s.here.recv({ timeout: 20_000 }));
        expect(total).toBe(want);
        expect(JSON.parse(await s.out.line())).toEqual({ sent: 20_000 });
        expect(s.here.tryRecv()).toBeUndefined(); // nothing extra
      }));

    test("everything 20 000 sends carry reaches a peer process", () =>
      withPeer(m, "count-recv", 20_000, async (s) => {
        for (let i = 0; i < 20_000; i++) s.here.send(countingMessage(s.here, i), { timeout: 20_000 });
        expect(JSON.parse(await s.out.line())).toEqual({ ok: true, total: String(countingTotal(s.here, 20_000)) });
      }));

    test("timeouts are honoured and tryRecv on empty is undefined; bad timeouts are refused", () =>
      withPeer(m, "idle", 0, async (s) => {
        expect(JSON.parse(await s.out.line())).toEqual({ ready: true });
        expect(s.here.tryRecv()).toBeUndefined();
        const t0 = performance.now();
        expectIpcError(() => s.here.recv({ timeout: 150 }), "ETIMEDOUT");
        expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
        const err = await s.here.recvAsync({ timeout: 100 }).catch((e) => e);
        expect(err).toBeInstanceOf(IpcError);
        expect(err.code).toBe("ETIMEDOUT");
        expectIpcError(() => s.here.recv({ timeout: -1 }), "EINVAL");
      }));

    test.skipIf(!m.fill)("trySend is false at the counter's limit, and send times out", () =>
      withPeer(m, "idle", 0, async (s) => {
        expect(JSON.parse(await s.out.line())).toEqual({ ready: true });
        m.fill!(s.here);
        expect(s.here.trySend(countingMessage(s.here, 0))).toBeFalse();
        expectIpcError(() => s.here.send(countingMessage(s.here, 0), { timeout: 100 }), "ETIMEDOUT");
      }));

    test("recvAsync lets timers run while it waits for a peer", () =>
      withPeer(m, "late-count-send", 1, async (s) => {
        let ticks = 0;
        const timer = setInterval(() => ticks++, 10);
        const msg = await s.here.recvAsync({ timeout: 10_000 }).finally(() => clearInterval(timer));
        expect(countingValue(s.here, msg)).toBe(countingTotal(s.here, 1));
        expect(ticks).toBeGreaterThanOrEqual(5);
      }));

    test.skipIf(!m.exists)("closing the creator removes the name", () =>
      withPeer(m, "idle", 0, async (s) => {
        expect(JSON.parse(await s.out.line())).toEqual({ ready: true });
        expect(m.exists!(s.here.address)).toBeTrue();
        s.here.close();
        expect(m.exists!(s.here.address)).toBeFalse();
      }));

    test("close is idempotent; use after close throws ECLOSED", () =>
      withPeer(m, "idle", 0, async (s) => {
        s.here.close();
        s.here.close();
        expectIpcError(() => s.here.send(countingMessage(s.here, 0)), "ECLOSED");
        await expect(s.here.recvAsync()).rejects.toThrow(/after close/);
      }));
  });
}

checkLeaks(countingPrefix, [countingDir]);
