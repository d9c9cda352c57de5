/**
 * What the benchmark runs: for each mechanism, how to open our two ends (send, receive)
 * and start the peer process. Duplex mechanisms use one object; one-way mechanisms (FIFO,
 * queues, semaphores, signals, files) one object per direction.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { type Channel, open } from "../lib/index.ts";
import { type SpawnOptions, spawnWorker } from "../lib/public/mechanisms.ts";
import type { Mechanism } from "../lib/mechanism.ts";
import { mechanisms, type Scheme } from "../lib/mechanisms.ts";
import { type ChildProcess, scriptCommand } from "../ffi/process.ts";
import { spawnChild } from "./children.ts";
import { cpusFor, type Placement } from "./usage.ts";
import { siblingModule } from "../ffi/paths.ts";

const peerScript = join(dirname(fileURLToPath(import.meta.url)), "peer.ts");
const workerScript = siblingModule(import.meta.url, "worker-peer");

/** The peer's own cost per message, as it reports it. */
export interface PeerCost {
  cpu_ns_per_msg: number;
  ctx_switches_per_msg: number;
}

/** A running pair: our ends, and how to end the run (returns the peer's cost). */
export interface BenchPair {
  tx: Channel;
  rx: Channel;
  /** end a completed run: the peer reports and exits */
  finish(): Promise<PeerCost | undefined>;
  /** end a failed run: stop the peer and close everything */
  abort(): Promise<void>;
}

/** One mechanism as the benchmark sees it. */
export interface BenchCase {
  /** the mechanism name in the table (the C baseline of the same name is its comparison) */
  name: string;
  /** the C baseline's mechanism, when there is one */
  c?: string;
  /** largest message (sizes above are skipped, and said so) */
  maxSize: number;
  /** why this mechanism has no stream measurement (eventfd values merge; UDP loses what a slow reader misses) */
  noStream?: string;
  /** the async path waits on a descriptor (the ≤ 1.3× async target applies) */
  fdBased?: boolean;
  /** the peer is a thread of this process: pin only our thread, never the whole process */
  inProcess?: boolean;
  /** start the peer in `mode` for n messages (a stream's sink: the batches of the StreamPlan at `plan`); resolves once it is ready */
  start(mode: string, n: number, placement: Placement, plan?: string): Promise<BenchPair>;
}

const tag = `ipcl-bench-${process.pid}`;
let serial = 0;
const fresh = () => `${tag}-${++serial}`;

function peerEnv(placement: Placement): Record<string, string> {
  const cpu = cpusFor(placement)[1];
  return cpu >= 0 ? { BENCH_CPU: String(cpu) } : {};
}

/** Wait for the peer's ready message, then hand over the pair. */
async function ready(
  tx: Channel,
  rx: Channel,
  peer: { kill(): void; exited: Promise<number> } | { terminate(): Promise<number> },
  finish: () => Promise<PeerCost | undefined>,
): Promise<BenchPair> {
  const abort = async () => {
    if ("kill" in peer) {
      peer.kill();
      await peer.exited;
    } else await peer.terminate();
    tx.close();
    rx.close();
  };
  try {
    rx.recv({ timeout: 20_000 });
  } catch (e) {
    await abort();
    throw e;
  }
  return { tx, rx, finish, abort };
}

/** Read the peer's JSON cost line and reap it. */
async function costOf(peer: ChildProcess): Promise<PeerCost | undefined> {
  const text = await new Response(peer.stdout).text();
  const code = await peer.exited;
  const line = text.trim().split("\n").pop();
  return code === 0 && line ? (JSON.parse(line) as PeerCost) : undefined;
}

function spawnPeer(mode: string, inAddr: string, outAddr: string, n: number, placement: Placement, plan = "") {
  return spawnChild(scriptCommand(peerScript, [mode, inAddr, outAddr, String(n), plan]), {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...peerEnv(placement) },
  });
}

/** A duplex named object: we create it, the peer opens it. */
function duplex(name: string, c: string | undefined, maxSize: number, address: () => string, opts: object = {}, fdBased = false): BenchCase {
  return {
    name,
    c,
    maxSize,
    fdBased,
    async start(mode, n, placement, plan) {
      const ch = open(address(), { create: true, ...opts });
      const peer = spawnPeer(mode, ch.address, ch.address, n, placement, plan);
      return ready(ch, ch, peer, async () => {
        ch.close();
        return costOf(peer);
      });
    },
  };
}

/** A one-way mechanism: one object per direction. */
function oneWay(name: string, c: string | undefined, maxSize: number, address: () => string, fdBased = false, sendOpts: object = {}): BenchCase {
  return {
    name,
    c,
    maxSize,
    fdBased,
    async start(mode, n, placement, plan) {
      const toPeer = open(address(), { create: true, ...sendOpts });
      // our read end opens now (a FIFO reader never blocks), so the peer's writer can open
      const fromPeer = open(address(), { create: true, role: "reader" });
      const peer = spawnPeer(mode, toPeer.address, fromPeer.address, n, placement, plan);
      return ready(toPeer, fromPeer, peer, async () => {
        const cost = await costOf(peer);
        toPeer.close();
        fromPeer.close();
        return cost;
      });
    },
  };
}

/** A spawn helper of lib/ (spawnWithPipes, spawnWithMemfd, ...). */
type Spawner = (cmd: string[], opts: SpawnOptions) => { channel: Channel; child: ChildProcess };

/** A mechanism handed to the child as descriptors (IPC_LAB_CHANNEL). */
function inherited(name: string, c: string | undefined, maxSize: number, spawn: Spawner, fdBased = false, noStream?: string): BenchCase {
  return {
    name,
    c,
    maxSize,
    fdBased,
    noStream,
    async start(mode, n, placement, plan = "") {
      const { channel, child } = spawn(scriptCommand(peerScript, [mode, "inherit", "inherit", String(n), plan]), {
        stdout: "pipe",
        env: peerEnv(placement),
      });
      return ready(channel, channel, child, async () => {
        const cost = await costOf(child);
        channel.close();
        return cost;
      });
    },
  };
}

/** Realtime signals: each side listens on its own pid. */
const signalCase: BenchCase = {
  name: "signal",
  maxSize: 7,
  async start(mode, n, placement, plan) {
    const rx = open("signal:self:SIGRTMIN+8");
    const peer = spawnPeer(mode, "signal:self:SIGRTMIN+9", `signal:${process.pid}:SIGRTMIN+8`, n, placement, plan);
    const tx = open(`signal:${peer.pid}:SIGRTMIN+9`);
    return ready(tx, rx, peer, async () => {
      const cost = await costOf(peer);
      tx.close();
      rx.close();
      return cost;
    });
  },
};

/** The in-process baseline: a Worker thread over a SharedArrayBuffer ring. */
const workerCase: BenchCase = {
  name: "worker",
  maxSize: 1 << 20,
  inProcess: true,
  async start(mode, n, placement, plan = "") {
    const { channel, worker } = spawnWorker(workerScript, { data: { mode, n, plan, cpu: cpusFor(placement)[1] } });
    const done = new Promise<PeerCost | undefined>((resolve) => worker.once("message", (m: PeerCost) => resolve(m)));
    return ready(channel, channel, worker, async () => {
      let expire!: (v: undefined) => void;
      const timeout = new Promise<undefined>((resolve) => (expire = resolve));
      const timer = setTimeout(() => expire(undefined), 20_000);
      const cost = await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
      channel.close();
      await worker.terminate();
      return cost;
    });
  },
};

/** The C baseline that measures the same thing, per scheme (bench/c/baseline.c). */
const cBaseline: Partial<Record<Scheme, string>> = {
  fd: "pipe",
  fifo: "fifo",
  unix: "unix",
  tcp: "tcp",
  mq: "mq",
  "sysv-mq": "sysv-mq",
  shm: "shm",
  "sysv-shm": "shm",
  memfd: "shm",
  eventfd: "eventfd",
};

/** Mechanisms measured their own way: a pid for an address, a thread for a peer. */
const custom: Partial<Record<Scheme, BenchCase>> = { signal: signalCase, worker: workerCase };

/** Mechanisms not measured, and why (`--mech` says so when asked for one). */
export const notMeasured: Partial<Record<Scheme, string>> = {
  popen: "a command's stdin or stdout: the pipes fd: measures",
  spawn: "a command's stdin and stdout: the pipes fd: measures",
};

/** Options for our sending end of a one-way mechanism: a topic end subscribes at open unless it only publishes. */
const sendingEnd: Partial<Record<Scheme, object>> = { topic: { role: "writer" }, "shm-queue": { role: "writer" } };

/** Why a mechanism has no stream row, beyond what its traits say. */
const noStream: Partial<Record<Scheme, string>> = { eventfd: "values merge: round trips only" };

/** A fresh address for a mechanism (its descriptor's sample, under this run's tag). */
function freshAddress(m: Mechanism): string {
  return m.sample!({ tag: fresh(), dir: tmpdir(), key: 0x4000000 + ((process.pid & 0xffff) << 8) + (++serial & 0xff) });
}

/** How the benchmark runs one mechanism of lib/mechanisms.ts; a mechanism with no way is an error, not a gap. */
function caseOf(m: Mechanism): BenchCase | undefined {
  const scheme = m.scheme as Scheme;
  if (notMeasured[scheme]) return undefined;
  if (custom[scheme]) return custom[scheme];
  const name = m.title ?? m.scheme;
  const c = cBaseline[scheme];
  const base = m.inherit
    ? inherited(name, c, m.traits.maxMessageSize, m.inherit, m.traits.pollable)
    : m.sample && m.traits.duplex
    ? duplex(name, c, m.traits.maxMessageSize, () => freshAddress(m), {}, m.traits.pollable)
    : m.sample
    ? oneWay(name, c, m.traits.maxMessageSize, () => freshAddress(m), m.traits.pollable, sendingEnd[scheme])
    : undefined;
  if (!base) throw new Error(`bench/cases.ts: no way to measure ${m.scheme}: give its descriptor sample() or inherit(), or list it in custom or notMeasured`);
  const why = m.traits.reliable === false ? `unreliable: ${m.traits.unreliableWhy}, so a stream would measure loss; round trips only` : noStream[scheme];
  return why ? { ...base, noStream: why } : base;
}

/** Every mechanism the benchmark measures: the list of lib/mechanisms.ts, and the shm ring waiting on semaphores. */
export const benchCases: BenchCase[] = mechanisms.flatMap((m) => {
  const measured = caseOf(m as Mechanism);
  if (!measured) return [];
  if (m.scheme !== "shm") return [measured];
  return [measured, duplex("shm (semaphore)", "shm-sem", m.traits.maxMessageSize, () => freshAddress(m as Mechanism), { wait: "semaphore" })];
});

/**
 * The cases that answer in 1–10 µs (rings, topics): their round trips warm up for 50 000 round
 * trips rather than 1000 (background JIT compilation of the hot path goes on for ~150 ms
 * and, on a shared CPU, stalls the timed part), and their async round trips run 40× the
 * usual count, so that the 1 ms timer measured meanwhile ticks often enough for a p99.
 */
export const fastRing = (c: BenchCase) => c.c === "shm" || c.c === "shm-sem" || c.name === "worker" || c.name === "topic" || c.name === "shm-queue";
