/**
 * The peer process of the conformance suite. Usage:
 *   bun test/support/peer.ts ROLE ADDRESS [COUNT] [MAX]
 * ROLE: send (COUNT messages of the sequence, then close), recv (receive COUNT, verify,
 * print a JSON report), echo (send back every message until EOF), idle (open as a
 * receiver and wait for stdin to close), quiet (open as a sender, send nothing, wait), late-send (wait 300 ms, then send), exit-after (send COUNT
 * messages, then exit without close()), late-drain (receive nothing until SIGUSR2, then
 * everything up to the end mark, and report how many).
 * ADDRESS "inherit" uses IPC_LAB_CHANNEL (fd:3,4 from spawnWithPipes).
 * count-send / count-recv: for counting channels (caps.boundaries "counter" or "token"):
 * send COUNT messages worth tokenValue(i) each / receive until their total has arrived.
 * PEER_HELLO=1: first send an empty message (a datagram server learns where to reply).
 * PEER_READY=1: print {"ready":true} once open (a receiver the test must not send to before).
 * PEER_READY_ALL=1: with PEER_READY, idle and late-drain receivers say so too (a topic
 *   subscribes at open: the test must not publish before; its start() reads the line).
 * PEER_REPORT=stderr: write reports to stderr (when stdout is the channel itself).
 * PEER_CPU=N: pin this process to CPU N first (the soak's one-CPU runs).
 * PEER_WINDOW=BYTES: pace with acknowledgements (see ackWindow), for unreliable channels.
 * PEER_OPEN_OPTS=JSON: more options for open() (e.g. {"peerCheckMs":600000}).
 * PEER_PAUSE=N:MS: a sender pauses MS ms after every N messages (bursts, with the receiver
 *   asleep between them).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { shim } from "../../ffi/runtime.ts";
import { open } from "../../lib/index.ts";
import type { Channel } from "../../lib/index.ts";
import { ackWindow, checkMessage, countingMessage, countingTotal, countingValue, END_MARK, fillMessage, sizeFor } from "./sequence.ts";

const [role, rawAddress, countArg, maxArg] = process.argv.slice(2);
if (process.env.PEER_CPU) shim.ipcl_pin_process(Number(process.env.PEER_CPU));
const address = rawAddress === "inherit" ? process.env.IPC_LAB_CHANNEL! : rawAddress!;
const count = Number(countArg ?? 0);

// the role matters to FIFOs only: they carry one direction
const extra = JSON.parse(process.env.PEER_OPEN_OPTS ?? "{}") as Record<string, unknown>;
const receives = role === "recv" || role === "idle" || role === "late-drain";
const ch: Channel = open(address, { timeout: 10_000, role: receives ? "reader" : "writer", ...extra });
const max = Number(maxArg ?? ch.caps.maxMessageSize);
const window = Number(process.env.PEER_WINDOW ?? 0);
const ackDue = window > 0 ? ackWindow(window) : () => false;
const ack = new Uint8Array(0);
const [burst, pauseMs] = (process.env.PEER_PAUSE ?? "0:0").split(":").map(Number) as [number, number];
if (process.env.PEER_HELLO) ch.send(ack);
if (process.env.PEER_READY && role !== "quiet" && (process.env.PEER_READY_ALL || (role !== "idle" && role !== "late-drain"))) report({ ready: true });

/**
 * A late-drain peer leaves the channel alone until the test says "drain now" (SIGUSR2,
 * Session.drainNow) — the handler is up before the peer says it is ready — or, should the
 * test never say so, until this long has passed.
 */
const LATE_DRAIN_LIMIT_MS = 30_000;
const drainSignal = role === "late-drain" ? new Promise<void>((resolve) => process.once("SIGUSR2", () => resolve())) : undefined;

function report(r: object): void {
  (process.env.PEER_REPORT === "stderr" ? process.stderr : process.stdout).write(JSON.stringify(r) + "\n");
}

switch (role) {
  case "send":
  case "late-send":
  case "exit-after": {
    if (role === "late-send") await sleep(300);
    const buf = new Uint8Array(max);
    for (let i = 0; i < count; i++) {
      const size = sizeFor(i, max);
      ch.send(fillMessage(i, buf, size), { timeout: 30_000 });
      if (ackDue(size)) ch.recv({ timeout: 30_000 });
      if (burst > 0 && (i + 1) % burst === 0) await sleep(pauseMs);
    }
    if (role === "exit-after") process.exit(0); // no close(): the survivor must notice the exit itself
    ch.close();
    break;
  }
  case "recv": {
    const buf = new Uint8Array(max);
    let error = "";
    let got = 0;
    for (; got < count && !error; got++) {
      const n = ch.recvInto(buf, { timeout: 30_000 });
      error = checkMessage(got, buf.subarray(0, n), max);
      if (ackDue(n)) ch.send(ack);
    }
    report({ ok: !error, received: got, error });
    ch.close();
    break;
  }
  case "echo": {
    const buf = new Uint8Array(ch.caps.maxMessageSize);
    for (;;) {
      let n: number;
      try {
        n = ch.recvInto(buf, { timeout: 30_000 });
      } catch {
        break; // EOF: the test closed its end
      }
      ch.send(buf.subarray(0, n));
    }
    ch.close();
    break;
  }
  case "count-send":
  case "late-count-send": {
    if (role === "late-count-send") await sleep(300);
    for (let i = 0; i < count; i++) ch.send(countingMessage(ch, i), { timeout: 30_000 });
    report({ sent: count });
    ch.close();
    break;
  }
  case "count-recv": {
    const want = countingTotal(ch, count);
    let total = 0n;
    while (total < want) total += countingValue(ch, ch.recv({ timeout: 30_000 }));
    report({ ok: total === want, total: String(total) });
    ch.close();
    break;
  }
  case "late-drain": {
    // say ready, receive nothing until told to drain (the test fills the channel meanwhile),
    // then take everything up to the end mark (or until a second passes without a message, or EOF)
    report({ ready: true });
    let limit: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([drainSignal, new Promise((r) => (limit = setTimeout(r, LATE_DRAIN_LIMIT_MS)))]);
    clearTimeout(limit);
    const buf = new Uint8Array(ch.caps.maxMessageSize);
    let received = 0;
    try {
      for (;;) {
        const n = ch.recvInto(buf, { timeout: 1000 });
        if (n === END_MARK.length && buf[0] === END_MARK[0]) break;
        received++;
        if (ackDue(n)) ch.send(ack);
      }
    } catch {
      // ETIMEDOUT (all taken) or EOF
    }
    report({ received });
    ch.close();
    break;
  }
  case "idle":
  case "quiet": {
    report({ ready: true });
    if (/^fd:[01]\b/.test(address)) {
      // a command channel: stdin is the channel, or not ours to read; wait to be killed
      await new Promise(() => setInterval(() => {}, 1 << 30));
    }
    for await (const _ of process.stdin) {
      // wait until the test closes our stdin
    }
    ch.close();
    break;
  }
  default:
    throw new Error(`unknown peer role ${role}`);
}
