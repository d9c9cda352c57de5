/**
 * Bun, Deno and Node on the two ends of every mechanism. This file runs under all three
 * (`bun test`, the Deno suite, the Node suite): the peers always run on *other* runtimes —
 * Bun owners with Deno and Node peers, Deno owners with Bun peers, Node owners with Bun and
 * Deno peers — same wire formats, same ring layout, same names.
 */
import { readlinkSync } from "node:fs";
import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runtime, type RuntimeName } from "../ffi/process.ts";
import type { Channel } from "../lib/index.ts";
import { describe, expect, test } from "./support/harness.ts";
import { sayIfNatsSkips } from "./support/nats-server.ts";
import { countingDir, countingMechanisms, countingPrefix } from "./support/counting.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { dir, mechanisms, prefix } from "./support/mechanisms.ts";
import { withPeer } from "./support/with-peer.ts";
import { ackWindow, checkMessage, countingMessage, countingTotal, countingValue, fillMessage, sizeFor } from "./support/sequence.ts";

/** The runtimes whose peers this runtime's suite talks to. */
const others: Record<RuntimeName, RuntimeName[]> = { bun: ["deno", "node"], deno: ["bun"], node: ["bun", "deno"] };
const COUNT = 3_000;

/** A starter whose peers run on runtime `other` (the choice is read when the peer is spawned). */
function onOther<S>(m: { start(role: string, count?: number): S }, other: RuntimeName) {
  return {
    start(role: string, count?: number): S {
      const saved = process.env.IPC_LAB_PEER_RUNTIME;
      process.env.IPC_LAB_PEER_RUNTIME = other;
      try {
        return m.start(role, count);
      } finally {
        if (saved === undefined) delete process.env.IPC_LAB_PEER_RUNTIME;
        else process.env.IPC_LAB_PEER_RUNTIME = saved;
      }
    },
  };
}

/**
 * Which runtime the live process `pid` runs: its executable's name, once it is no longer
 * the shell that spawn:/popen: start it through (which then execs the peer).
 */
async function runtimeOf(pid: number): Promise<string> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const exe = basename(readlinkSync(`/proc/${pid}/exe`)).replace(/\.exe$/, "");
    if (!["sh", "dash", "bash"].includes(exe) || performance.now() > deadline) return exe;
    await sleep(5);
  }
}

/** The peer's last stdout line as JSON (its report), once it has exited. */
async function report(s: { out: { rest(): Promise<string> } }): Promise<unknown> {
  return JSON.parse((await s.out.rest()).trim().split("\n").pop() ?? "null");
}

for (const other of others[runtime]) {
  for (const m of mechanisms) {
    describe(`${runtime} ↔ ${other}: ${m.name}`, () => {
      test(`${COUNT} messages from a ${other} peer arrive whole and in order`, () =>
        withPeer(onOther(m, other), "send", COUNT, async (s) => {
          const max = s.here.caps.maxMessageSize;
          const buf = new Uint8Array(max);
          for (let i = 0; i < COUNT; i++) {
            const n = s.here.recvInto(buf, { timeout: 20_000 });
            const problem = checkMessage(i, buf.subarray(0, n), max);
            if (problem) throw new Error(problem);
            s.received(n);
          }
          expect(await s.peer.exited).toBe(0);
        }));

      test(`${COUNT} messages to a ${other} peer arrive whole and in order`, () =>
        withPeer(onOther(m, other), "recv", COUNT, async (s) => {
          const max = s.here.caps.maxMessageSize;
          const buf = new Uint8Array(max);
          const ackDue = m.window ? ackWindow(m.window) : () => false;
          for (let i = 0; i < COUNT; i++) {
            const size = sizeFor(i, max);
            s.here.send(fillMessage(i, buf, size), { timeout: 20_000 });
            if (ackDue(size)) s.here.recv({ timeout: 20_000 });
            // the peer is alive until it has all messages: check it runs where it should
            if (i === 0) expect(await runtimeOf(s.peer.pid)).toBe(other);
          }
          expect(await report(s)).toEqual({ ok: true, received: COUNT, error: "" });
        }));

      test.skipIf(!m.duplex)(`round trips with a ${other} peer`, () =>
        withPeer(onOther(m, other), "echo", 0, async (s) => {
          const max = s.here.caps.maxMessageSize;
          const buf = new Uint8Array(max);
          for (let i = 0; i < 300; i++) {
            s.here.send(fillMessage(i, buf, sizeFor(i, max)));
            const problem = checkMessage(i, await s.here.recvAsync({ timeout: 10_000 }), max);
            if (problem) throw new Error(problem);
          }
        }));
    });
  }

  for (const m of countingMechanisms) {
    describe(`${runtime} ↔ ${other}: ${m.name}`, () => {
      test(`counts from a ${other} peer add up exactly`, () =>
        withPeer(onOther(m, other), "count-send", COUNT, async (s) => {
          const want = countingTotal(s.here, COUNT);
          let total = 0n;
          while (total < want) total += countingValue(s.here, s.here.recv({ timeout: 20_000 }));
          expect(total).toBe(want);
          expect(JSON.parse(await s.out.line())).toEqual({ sent: COUNT });
        }));

      test(`counts to a ${other} peer add up exactly`, () =>
        withPeer(onOther(m, other), "count-recv", COUNT, async (s) => {
          const here: Channel = s.here;
          for (let i = 0; i < COUNT; i++) here.send(countingMessage(here, i), { timeout: 20_000 });
          expect(JSON.parse(await s.out.line())).toEqual({ ok: true, total: String(countingTotal(here, COUNT)) });
        }));
    });
  }
}

checkLeaks(prefix, [dir]);
sayIfNatsSkips();
checkLeaks(countingPrefix, [countingDir]);
