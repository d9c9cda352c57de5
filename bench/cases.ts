/**
 * What the benchmark runs: for each mechanism, how to open our two ends (send, receive)
 * and start the peer process. Duplex mechanisms use one object; one-way mechanisms (FIFO,
 * queues, semaphores, signals, files) one object per direction.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { open, spawnWithEventfd, spawnWithMemfd, spawnWithPipes, spawnWorker, type Channel, type SpawnOptions } from "../lib/index.ts";
import { scriptCommand, spawnProcess, type ChildProcess } from "../ffi/process.ts";
import { cpusFor, type Placement } from "./usage.ts";

const peerScript = join(dirname(fileURLToPath(import.meta.url)), "peer.ts");
const workerScript = new URL("./worker-peer.ts", import.meta.url);

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
  /** start the peer in `mode` for n messages (after `warm` warm-up ones); resolves once it is ready */
  start(mode: string, n: number, placement: Placement, warm?: number): Promise<BenchPair>;
}

const tag = `ipcl-bench-${process.pid}`;
let serial = 0;
const fresh = () => `${tag}-${++serial}`;

function peerEnv(placement: Placement): Record<string, string> {
  const cpu = cpusFor(placement)[1];
  return cpu >= 0 ? { BENCH_CPU: String(cpu) } : {};
}

/** Wait for the peer's ready message, then hand over the pair. */
async function ready(tx: Channel, rx: Channel, peer: { kill(): void; exited: Promise<number> } | { terminate(): Promise<number> }, finish: () => Promise<PeerCost | undefined>): Promise<BenchPair> {
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

function spawnPeer(mode: string, inAddr: string, outAddr: string, n: number, placement: Placement, warm = 0) {
  return spawnProcess(scriptCommand(peerScript, [mode, inAddr, outAddr, String(n), String(warm)]), {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...peerEnv(placement) },
  });
}

/** A duplex named object: we create it, the peer opens it. */
function duplex(name: string, c: string | undefined, maxSize: number, address: () => string, opts: object = {}, fdBased = false): BenchCase {
  return {
    name, c, maxSize, fdBased,
    async start(mode, n, placement, warm) {
      const ch = open(address(), { create: true, ...opts });
      const peer = spawnPeer(mode, ch.address, ch.address, n, placement, warm);
      return ready(ch, ch, peer, async () => {
        ch.close();
        return costOf(peer);
      });
    },
  };
}

/** A one-way mechanism: one object per direction. */
function oneWay(name: string, c: string | undefined, maxSize: number, address: () => string, fdBased = false): BenchCase {
  return {
    name, c, maxSize, fdBased,
    async start(mode, n, placement, warm) {
      const toPeer = open(address(), { create: true });
      // our read end opens now (a FIFO reader never blocks), so the peer's writer can open
      const fromPeer = open(address(), { create: true, role: "reader" });
      const peer = spawnPeer(mode, toPeer.address, fromPeer.address, n, placement, warm);
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
    name, c, maxSize, fdBased, noStream,
    async start(mode, n, placement, warm = 0) {
      const { channel, child } = spawn(scriptCommand(peerScript, [mode, "inherit", "inherit", String(n), String(warm)]), {
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
  name: "signal", maxSize: 7,
  async start(mode, n, placement, warm) {
    const rx = open("signal:self:SIGRTMIN+8");
    const peer = spawnPeer(mode, "signal:self:SIGRTMIN+9", `signal:${process.pid}:SIGRTMIN+8`, n, placement, warm);
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
  name: "worker", maxSize: 1 << 20, inProcess: true,
  async start(mode, n, placement, warm = 0) {
    const { channel, worker } = spawnWorker(workerScript, { data: { mode, n, warm, cpu: cpusFor(placement)[1] } });
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

const MiB = 1 << 20;
/** Every mechanism the benchmark measures. */
export const benchCases: BenchCase[] = [
  inherited("pipe", "pipe", MiB, spawnWithPipes, true),
  oneWay("fifo", "fifo", MiB, () => `fifo:${join(tmpdir(), fresh())}`, true),
  duplex("unix", "unix", MiB, () => `unix:@${fresh()}`, {}, true),
  duplex("tcp", "tcp", MiB, () => "tcp:127.0.0.1:0", {}, true),
  duplex("unix-dgram", undefined, 65536, () => `unix-dgram:@${fresh()}`, {}, true),
  { ...duplex("udp", undefined, 65507, () => "udp:127.0.0.1:0", {}, true), noStream: "unreliable: datagrams a slow reader misses are lost, so a stream would measure loss; round trips only" },
  oneWay("mq", "mq", 8192, () => `mq:/${fresh()}`, true),
  oneWay("sysv-mq", "sysv-mq", 8192, () => `sysv-mq:${0x4000000 + ((process.pid & 0xffff) << 8) + (++serial & 0xff)}`),
  duplex("shm", "shm", MiB, () => `shm:/${fresh()}`),
  duplex("shm (semaphore)", "shm-sem", MiB, () => `shm:/${fresh()}`, { wait: "semaphore" }),
  duplex("sysv-shm", "shm", MiB, () => `sysv-shm:${0x5000000 + ((process.pid & 0xffff) << 8) + (++serial & 0xff)}`),
  inherited("memfd", "shm", MiB, spawnWithMemfd),
  inherited("eventfd", "eventfd", 8, spawnWithEventfd, true, "values merge: round trips only"),
  oneWay("sem", undefined, 0, () => `sem:/${fresh()}`),
  signalCase,
  oneWay("file", undefined, MiB, () => `file:${join(tmpdir(), fresh())}`, true),
  workerCase,
];
