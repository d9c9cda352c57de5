/**
 * The conformance suite: the Channel contract, checked against every mechanism with the
 * peer in a separate process (test/support/peer.ts). Each mechanism's entry says only how
 * to open its two ends; every test below runs against all of them.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { open, spawnWithMemfd, spawnWithPipes, spawnWithSocketpair, IpcError, type Channel, type CommandChannel, type SpawnOptions } from "../lib/index.ts";
import { shim } from "../ffi/runtime.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { lineReader, type LineReader } from "./support/lines.ts";
import { leftovers, noteMq, noteProbe, privateDir, testKey, testPrefix, track } from "./support/leaks.ts";
import { ackWindow, checkMessage, fillMessage, sizeFor } from "./support/sequence.ts";

const prefix = testPrefix("conf");
const dir = privateDir("conf");
const peerScript = join(import.meta.dir, "support", "peer.ts");
let serial = 0;

/** One side of a conversation: our channel, the peer process, and the peer's stdout lines. */
interface Session {
  here: Channel;
  peer: Bun.Subprocess<"pipe", "pipe", "inherit">;
  out: LineReader;
  /** call after receiving each message of the peer's sequence: acknowledges when the window says so (UDP) */
  received(size: number): void;
}

/** A Session around our end and the peer, pacing with acks when the mechanism needs it. */
function session(t: Traits, here: Channel, peer: Session["peer"], reports: ReadableStream<Uint8Array> = peer.stdout): Session {
  const ackDue = t.window ? ackWindow(t.window) : () => false;
  return {
    here,
    peer,
    out: lineReader(reports),
    received: (size) => {
      if (ackDue(size)) here.send(new Uint8Array(0));
    },
  };
}

/** What sets a mechanism apart in the suite; the tests are the same for all. */
interface Traits {
  /** our end may both send and receive with the peer */
  duplex: boolean;
  /** the kernel or protocol tells us when the peer has gone (EOF) */
  seesPeerExit?: boolean;
  /** a sender can fill it (trySend reaches false); UDP and files are unbounded */
  bounded?: boolean;
  /** datagrams: the peer first says hello so our bound socket learns where to reply */
  hello?: boolean;
  /** unreliable: pace bulk transfers with an acknowledgement every this many bytes */
  window?: number;
}

/** How a mechanism is opened. */
interface Mechanism extends Traits {
  name: string;
  /** start a peer with `role` and return our end (opened so that it talks to the peer) */
  start(role: string, count?: number, max?: number): Session | Promise<Session>;
  /** the name that must vanish when the creator closes, and how to see it */
  nameExists?(ch: Channel): boolean;
}

function peerEnv(t: Traits): Record<string, string> {
  const env: Record<string, string> = {};
  if (t.hello) env.PEER_HELLO = "1";
  if (t.window) env.PEER_WINDOW = String(t.window);
  return env;
}

function spawnPeer(t: Traits, role: string, address: string, count = 0, max?: number) {
  const args = [process.execPath, peerScript, role, address, String(count)];
  if (max !== undefined) args.push(String(max));
  // stdin stays open: an idle peer waits for it to close
  return track(Bun.spawn(args, { stdin: "pipe", stdout: "pipe", stderr: "inherit", env: { ...process.env, ...peerEnv(t) } }));
}

/** Consume the peer's hello (datagram mechanisms), so our end knows where to reply. */
function greet(t: Traits, here: Channel): void {
  if (t.hello) expect(here.recv({ timeout: 10_000 }).byteLength).toBe(0);
}

/** A named mechanism: we create the object, the peer opens it by address. */
function named(name: string, makeAddress: () => string, traits: Traits, exists?: (address: string) => boolean, opts = {}): Mechanism {
  return {
    name,
    seesPeerExit: true,
    bounded: true,
    ...traits,
    start(role, count, max) {
      // a FIFO end takes its direction from our first send/recv, after the peer is started
      const here = open(makeAddress(), { create: true, ...opts });
      // the real address: tcp/udp with port 0 learn theirs when bound
      const peer = spawnPeer(traits, role, here.address, count, max);
      greet(traits, here);
      return session(traits, here, peer);
    },
    nameExists: exists && ((ch) => exists(ch.address)),
  };
}

type Spawner = (cmd: string[], opts: SpawnOptions) => { channel: Channel; child: Bun.Subprocess };

/** An anonymous mechanism: the peer inherits its descriptors (IPC_LAB_CHANNEL tells it which). */
function inherited(name: string, spawn: Spawner, duplex: boolean): Mechanism {
  return {
    name,
    duplex,
    seesPeerExit: true,
    bounded: true,
    start(role, count = 0, max) {
      const args = [process.execPath, peerScript, role, "inherit", String(count)];
      if (max !== undefined) args.push(String(max));
      const { channel, child } = spawn(args, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
      return session(this, channel, track(child) as Session["peer"]);
    },
  };
}

const sysvGet = { shm: (key: number) => shim.ipcl_shmget(key, 0, 0), msg: (key: number) => shim.ipcl_msgget(key, 0) };
const sysvWhich = { shm: 0, msg: 1 };

function sysvExists(kind: "shm" | "msg", key: number): boolean {
  return sysvGet[kind](key) >= 0;
}

/** A fresh System V address whose object must be gone at the end. */
function sysvAddress(scheme: "sysv-shm" | "sysv-mq"): string {
  const key = testKey();
  const kind = scheme === "sysv-shm" ? "shm" : "msg";
  noteProbe(`${scheme}:${key}`, () => sysvExists(kind, key), () => shim.ipcl_ipc_rmid(sysvWhich[kind], sysvGet[kind](key)));
  return `${scheme}:${key}`;
}

/** Roles in which the peer receives (so it must be listening before we send). */
const peerReceives = (role: string) => role === "recv" || role === "idle" || role === "echo";

/**
 * Realtime signals: whoever receives listens on its own pid (signal:self:SIG); the sender
 * addresses that pid. When the peer receives we learn its pid once it says it is ready.
 */
const signalMechanism: Mechanism = {
  name: "signal (realtime, sigqueue)",
  duplex: false,
  seesPeerExit: false,
  bounded: true,
  async start(role, count = 0, max) {
    const sig = "SIGRTMIN+3";
    const args = (address: string) => [process.execPath, peerScript, role, address, String(count), ...(max === undefined ? [] : [String(max)])];
    if (!peerReceives(role)) {
      const here = open(`signal:self:${sig}`);
      const peer = track(Bun.spawn(args(`signal:${process.pid}:${sig}`), { stdin: "pipe", stdout: "pipe", stderr: "inherit" }));
      return session(this, here, peer);
    }
    const peer = track(Bun.spawn(args(`signal:self:${sig}`), { stdin: "pipe", stdout: "pipe", stderr: "inherit", env: { ...process.env, PEER_READY: "1" } }));
    const s = session(this, open(`signal:${peer.pid}:${sig}`), peer);
    if (role !== "idle") expect(JSON.parse(await s.out.line())).toEqual({ ready: true });
    return s;
  },
};

/**
 * Commands as peers: spawn: (duplex, the peer speaks over its stdin+stdout as fd:0,1) and
 * popen: (one direction: type "r" when the peer sends on its stdout, "w" when it reads its
 * stdin). The peer's reports go to its stderr.
 */
function commandMechanism(scheme: "spawn" | "popen"): Mechanism {
  return {
    name: scheme,
    duplex: scheme === "spawn",
    seesPeerExit: true,
    bounded: true,
    start(role, count = 0, max) {
      const receives = peerReceives(role);
      const address = scheme === "spawn" ? "fd:0,1" : receives ? "fd:0" : "fd:1";
      // exec: the shell becomes the peer, so killing the child kills the peer
      const cmd = ["exec", process.execPath, peerScript, role, address, String(count), ...(max === undefined ? [] : [String(max)])].join(" ");
      const here = open(`${scheme}:${cmd}`, { type: receives ? "w" : "r", stderr: "pipe", env: { PEER_REPORT: "stderr" } }) as CommandChannel;
      const peer = track(here.child) as unknown as Session["peer"];
      return session(this, here, peer, here.child.stderr as ReadableStream<Uint8Array>);
    },
  };
}

const mechanisms: Mechanism[] = [
  inherited("pipe", spawnWithPipes, true),
  inherited("memfd", spawnWithMemfd, true),
  inherited("socketpair", spawnWithSocketpair, true),
  named("fifo", () => `fifo:${dir}/${prefix}${++serial}`, { duplex: false }, (a) => existsSync(a.slice(5))),
  named("mq", () => noteMq(`mq:/${prefix}${++serial}`), { duplex: false, seesPeerExit: false }, (a) => {
    try {
      open(a).close();
      return true;
    } catch {
      return false;
    }
  }),
  named("shm", () => `shm:/${prefix}${++serial}`, { duplex: true }, (a) => readdirSync("/dev/shm").includes(a.slice(5))),
  named("shm (semaphore wait)", () => `shm:/${prefix}${++serial}`, { duplex: true }, (a) => readdirSync("/dev/shm").includes(a.slice(5)), { wait: "semaphore" }),
  named("sysv-shm", () => sysvAddress("sysv-shm"), { duplex: true }, (a) => sysvExists("shm", Number(a.slice("sysv-shm:".length)))),
  named("sysv-mq", () => sysvAddress("sysv-mq"), { duplex: false, seesPeerExit: false }, (a) => sysvExists("msg", Number(a.slice("sysv-mq:".length)))),
  named("unix", () => `unix:${dir}/${prefix}${++serial}`, { duplex: true }, (a) => existsSync(a.slice(5))),
  named("unix (abstract)", () => `unix:@${prefix}${++serial}`, { duplex: true }),
  named("tcp", () => "tcp:127.0.0.1:0", { duplex: true }),
  named("unix-dgram", () => `unix-dgram:${dir}/${prefix}${++serial}`, { duplex: true, seesPeerExit: false, hello: true }, (a) => existsSync(a.slice(11))),
  named("udp", () => "udp:127.0.0.1:0", { duplex: true, seesPeerExit: false, bounded: false, hello: true, window: 64 * 1024 }),
  signalMechanism,
  named("file", () => `file:${dir}/${prefix}${++serial}`, { duplex: false, seesPeerExit: false, bounded: false }, (a) => existsSync(a.slice(5))),
  commandMechanism("spawn"),
  commandMechanism("popen"),
];

/** The peer's JSON report (its last line), after it exits. */
async function peerReport(s: Session): Promise<Record<string, unknown>> {
  const text = await s.out.rest();
  await s.peer.exited;
  const line = text.trim().split("\n").pop() ?? "";
  return line ? JSON.parse(line) : { exitCode: s.peer.exitCode };
}

/** Wait for the peer's {"ready":true} line (it has opened its end). */
async function peerReady(s: Session): Promise<void> {
  expect(JSON.parse(await s.out.line())).toEqual({ ready: true });
}

/** Run body with a fresh session; always close our end and reap the peer. */
async function withPeer(m: Mechanism, role: string, count: number, body: (s: Session) => Promise<void> | void): Promise<void> {
  const s = await m.start(role, count);
  try {
    await body(s);
  } finally {
    s.here.close();
    s.peer.kill();
    await s.peer.exited;
  }
}

for (const m of mechanisms) {
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
        expect(s.here.caps.detectsPeerExit).toBe(m.seesPeerExit!);
        if (m.seesPeerExit) expectIpcError(() => s.here.recv({ timeout: 10_000 }), "EOF");
        else expect(s.here.tryRecv()).toBeUndefined();
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
        expect(waited).toBeGreaterThanOrEqual(140);
        expect(waited).toBeLessThan(10_000);
        expectIpcError(() => s.here.recvInto(new Uint8Array(s.here.caps.maxMessageSize), { timeout: 50 }), "ETIMEDOUT");
        t0 = performance.now();
        const err = await s.here.recvAsync({ timeout: 150 }).catch((e) => e);
        waited = performance.now() - t0;
        expect(err).toBeInstanceOf(IpcError);
        expect(err.code).toBe("ETIMEDOUT");
        expect(waited).toBeGreaterThanOrEqual(140);
      }));

    // UDP never fills (a full receiver drops datagrams): caps.capacity is Infinity there
    test.skipIf(!m.bounded)("trySend returns false when the channel is full, without blocking", () =>
      withPeer(m, "idle", 0, async (s) => {
        await peerReady(s);
        const msg = new Uint8Array(Math.min(1024, s.here.caps.maxMessageSize));
        let sent = 0;
        // TCP grows its buffers as they fill: full is when trySend stays false after a pause
        for (let quiet = 0; quiet < 3; quiet++) {
          while (s.here.trySend(msg)) {
            sent++;
            quiet = 0;
            if (sent > 10_000_000) throw new Error("trySend never reported a full channel");
          }
          await Bun.sleep(50);
        }
        expect(sent).toBeGreaterThan(0);
        expect(s.here.trySend(msg)).toBeFalse();
        const t0 = performance.now();
        expectIpcError(() => s.here.send(msg, { timeout: 100 }), "ETIMEDOUT");
        expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
      }));

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
          if (!m.seesPeerExit && i === 50) break;
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
    test.skipIf(!m.seesPeerExit)("a peer that exits without closing is seen: EOF after its last message", () =>
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

afterAll(async () => {
  expect(await leftovers(prefix, [dir])).toEqual([]);
});
