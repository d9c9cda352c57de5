/**
 * How each mechanism is opened for a two-process test: our end, the peer process
 * (test/support/peer.ts) and what sets the mechanism apart. Shared by the conformance suite
 * and the soak (test/soak.ts), so both run against exactly the same list.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildProcess, spawnProcess } from "../../ffi/process.ts";
import { type Channel, open, parseAddress } from "../../lib/index.ts";
import { type CommandChannel, type SpawnOptions, spawnWithSocketpair, spawnWorker } from "../../lib/public/mechanisms.ts";
import type { Mechanism as LibMechanism } from "../../lib/mechanism.ts";
import { mechanisms as libMechanisms, type Scheme } from "../../lib/mechanisms.ts";
import { shm as shmDescriptor } from "../../lib/channels/shm.ts";
import { unix as unixDescriptor } from "../../lib/channels/socket.ts";
import { topic as topicDescriptor } from "../../lib/channels/topic.ts";
import { shmQueue as shmQueueDescriptor } from "../../lib/channels/shm-queue.ts";
import { nats as natsDescriptor } from "../../lib/channels/nats.ts";
import { type NatsServer, natsSkip, startNatsServer } from "./nats-server.ts";
import { type LineReader, lineReader } from "./lines.ts";
import { beforeLeakCheck, noteProbe, privateDir, testKey, testPrefix, track } from "./leaks.ts";
import { peerCommand } from "./runtimes.ts";
import { runSync } from "./run-sync.ts";
import { ackWindow } from "./sequence.ts";

/** The name prefix of every object made through this list (checked for leaks at the end). */
export const prefix = testPrefix("conf");
/** The private directory for FIFOs, sockets and files. */
export const dir = privateDir("conf");
const peerScript = join(dirname(fileURLToPath(import.meta.url)), "peer.ts");
let serial = 0;

/** One side of a conversation: our channel, the peer process, and the peer's stdout lines. */
export interface Session {
  here: Channel;
  peer: ChildProcess;
  out: LineReader;
  /** call after receiving each message of the peer's sequence: acknowledges when the window says so (UDP) */
  received(size: number): void;
  /** tell a late-drain peer to start draining now (SIGUSR2 to a process, a message to a Worker) */
  drainNow(): void;
}

/** A Session around our end and the peer, pacing with acks when the mechanism needs it. */
export function session(
  t: Traits,
  here: Channel,
  peer: Session["peer"],
  reports: ReadableStream<Uint8Array> = peer.stdout!,
  drainNow: () => void = () => peer.kill("SIGUSR2"),
): Session {
  const ackDue = t.window ? ackWindow(t.window) : () => false;
  return {
    here,
    peer,
    out: lineReader(reports),
    received: (size) => {
      if (ackDue(size)) here.send(new Uint8Array(0));
    },
    drainNow,
  };
}

/** What sets a mechanism apart in the suite; the tests are the same for all. */
export interface Traits {
  /** our end may both send and receive with the peer */
  duplex: boolean;
  /** the kernel or protocol tells us when the peer has gone (EOF) */
  detectsPeerExit?: boolean;
  /** a sender can fill it (trySend reaches false); UDP and files are unbounded */
  bounded?: boolean;
  /** datagrams: the peer first says hello so our bound socket learns where to reply */
  hello?: boolean;
  /** unreliable: pace bulk transfers with an acknowledgement every this many bytes */
  window?: number;
  /** publish-subscribe: a receiver that dies is dropped, and senders go on (they never see it) */
  dropsDeadReceivers?: boolean;
}

/** How a mechanism is opened. */
export interface Mechanism extends Traits {
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
  const args = peerCommand(peerScript, role, address, String(count));
  if (max !== undefined) args.push(String(max));
  // stdin stays open: an idle peer waits for it to close
  return track(spawnProcess(args, { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...peerEnv(t) } }));
}

/** Consume the peer's hello (datagram mechanisms), so our end knows where to reply. */
function greet(t: Traits, here: Channel): void {
  if (t.hello && here.recv({ timeout: 10_000 }).byteLength !== 0) throw new Error("the peer's hello should be an empty datagram");
}

/** A named mechanism: we create the object, the peer opens it by address. */
function named(name: string, makeAddress: () => string, traits: Traits, exists?: (address: string) => boolean, opts = {}): Mechanism {
  return {
    name,
    detectsPeerExit: true,
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

type Spawner = (cmd: string[], opts: SpawnOptions) => { channel: Channel; child: ChildProcess };

/** An anonymous mechanism: the peer inherits its descriptors (IPC_LAB_CHANNEL tells it which). */
function inherited(name: string, spawn: Spawner, duplex: boolean): Mechanism {
  return {
    name,
    duplex,
    detectsPeerExit: true,
    bounded: true,
    start(role, count = 0, max) {
      const args = peerCommand(peerScript, role, "inherit", String(count));
      if (max !== undefined) args.push(String(max));
      const { channel, child } = spawn(args, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
      return session(this, channel, track(child));
    },
  };
}

/** A fresh address for a named mechanism; its object must be gone at the end (checked, and removed if not). */
function freshAddress(m: LibMechanism): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // made again if a suite's leak check removed it
  const address = m.sample!({ tag: `${prefix}${++serial}`, dir, key: testKey() });
  const names = m.names;
  if (names) {
    const addr = parseAddress(address);
    if (names.lasts?.(addr) ?? true) noteProbe(address, () => names.exists(addr), () => void names.remove(addr));
  }
  return address;
}

/** The suite's traits of a mechanism, from its descriptor. */
function traitsOf(m: LibMechanism): Traits {
  const t = m.traits;
  return {
    duplex: t.duplex,
    detectsPeerExit: t.detectsPeerExit,
    bounded: t.bounded,
    hello: t.connectionless,
    window: t.reliable === false ? 64 * 1024 : undefined,
  };
}

/** A named mechanism, as its descriptor says (we create the object, the peer opens it). */
function fromDescriptor(m: LibMechanism, opts = {}, name = m.title ?? m.scheme, address = () => freshAddress(m), lasting = true): Mechanism {
  const names = lasting ? m.names : undefined;
  return named(name, address, traitsOf(m), names && ((a) => names.exists(parseAddress(a))), opts);
}

/** Roles in which the peer receives (so it must be listening before we send). */
export const peerReceives = (role: string) => role === "recv" || role === "idle" || role === "echo" || role === "late-drain";

/** RLIMIT_SIGPENDING of a receiving signal peer in a user namespace of its own. */
const PEER_SIGPENDING = 4096;
let userNamespaces: boolean | undefined;

/**
 * A receiving signal peer with a pending-signal count of its own. A realtime signal's room
 * is the receiver's RLIMIT_SIGPENDING, checked against its user's count of queued signals —
 * and the kernel keeps that count per user *namespace*: the parallel test jobs all run as
 * root in one, so another job's peer draining its signals gave room to this job's "full"
 * channel (a CI run failed so). In a user namespace of its own (root mapped to root: the
 * same permissions) with a limit of PEER_SIGPENDING, the peer is full exactly when its own
 * signals fill it; the count its namespace may take from the shared one is the ~96 000 it
 * was made with, far above a few jobs' 4096. Both tools exec, so the pid is the runtime's.
 * Where unshare cannot make a user namespace, the peer runs as it is (and shares the count).
 */
function ownSignalCount(command: string[]): string[] {
  return signalPeersCountAlone() ? [...OWN_SIGNAL_COUNT, ...command] : command;
}
const OWN_SIGNAL_COUNT = ["unshare", "--user", "--map-root-user", "--", "prlimit", `--sigpending=${PEER_SIGPENDING}`, "--"];

/** Whether a receiving signal peer gets a pending-signal count of its own here (see ownSignalCount). */
export function signalPeersCountAlone(): boolean {
  const [tool, ...args] = OWN_SIGNAL_COUNT as [string, ...string[]];
  userNamespaces ??= runSync(tool, [...args, "true"], 10_000).status === 0;
  return userNamespaces;
}

/**
 * Realtime signals: whoever receives listens on its own pid (signal:self:SIG); the sender
 * addresses that pid. When the peer receives we learn its pid once it says it is ready.
 */
const signalMechanism: Mechanism = {
  name: "signal (realtime, sigqueue)",
  duplex: false,
  detectsPeerExit: false,
  bounded: true,
  async start(role, count = 0, max) {
    const sig = "SIGRTMIN+3";
    const args = (address: string) => peerCommand(peerScript, role, address, String(count), ...(max === undefined ? [] : [String(max)]));
    if (!peerReceives(role)) {
      const here = open(`signal:self:${sig}`);
      const peer = track(spawnProcess(args(`signal:${process.pid}:${sig}`), { stdio: ["pipe", "pipe", "inherit"] }));
      return session(this, here, peer);
    }
    const peer = track(
      spawnProcess(ownSignalCount(args(`signal:self:${sig}`)), { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, PEER_READY: "1" } }),
    );
    const s = session(this, open(`signal:${peer.pid}:${sig}`), peer);
    if (role !== "idle" && role !== "late-drain" && (await s.out.line()) !== JSON.stringify({ ready: true })) {
      throw new Error("the signal peer did not say it was ready");
    }
    return s;
  },
};

/**
 * Topics: a subscriber receives only what is published after it subscribed (at open), so
 * when the peer receives we wait for it to say it is open before we publish; when we
 * receive, we subscribe (create) before the peer starts. The name lives while either side
 * has it open, so the "creator removes the name" test does not apply.
 */
const topicMechanism: Mechanism = {
  name: "topic",
  duplex: false,
  detectsPeerExit: false,
  bounded: true,
  dropsDeadReceivers: true,
  async start(role, count = 0, max) {
    const address = freshAddress(topicDescriptor as LibMechanism);
    const receives = peerReceives(role);
    const here = open(address, { role: receives ? "writer" : "reader" });
    const args = peerCommand(peerScript, role, address, String(count), ...(max === undefined ? [] : [String(max)]));
    const env = receives ? { PEER_READY: "1", PEER_READY_ALL: "1" } : {};
    const peer = track(spawnProcess(args, { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } }));
    const s = session(this, here, peer);
    if (receives && (await s.out.line()) !== JSON.stringify({ ready: true })) throw new Error("the topic peer did not say it had subscribed");
    return s;
  },
};

/** Work queues: open-or-create, one-way by role; the name lives while either side has it open. */
const queueMechanism: Mechanism = {
  name: "shm-queue",
  duplex: false,
  detectsPeerExit: false,
  bounded: true,
  start(role, count = 0, max) {
    const address = freshAddress(shmQueueDescriptor as LibMechanism);
    const here = open(address, { role: peerReceives(role) ? "writer" : "reader" });
    const args = peerCommand(peerScript, role, address, String(count), ...(max === undefined ? [] : [String(max)]));
    return session(this, here, track(spawnProcess(args, { stdio: ["pipe", "pipe", "inherit"] })));
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
    detectsPeerExit: true,
    bounded: true,
    start(role, count = 0, max) {
      const receives = peerReceives(role);
      const address = scheme === "spawn" ? "fd:0,1" : receives ? "fd:0" : "fd:1";
      // exec: the shell becomes the peer, so killing the child kills the peer
      const cmd = ["exec", ...peerCommand(peerScript, role, address, String(count), ...(max === undefined ? [] : [String(max)]))].join(" ");
      const here = open(`${scheme}:${cmd}`, { type: receives ? "w" : "r", stderr: "pipe", env: { PEER_REPORT: "stderr" } }) as CommandChannel;
      return session(this, here, track(here.child), here.child.stderr!);
    },
  };
}

const workerPeer = new URL("./worker-conformance-peer.ts", import.meta.url);

/**
 * The in-process baseline: the peer is a Worker thread of this process
 * (./worker-conformance-peer.ts) over a SharedArrayBuffer ring. Its reports, posted to us,
 * become the peer's stdout lines; "killing" it terminates the Worker. Only in the
 * conformance suite: it has no process to put on another runtime or to SIGKILL.
 */
export const workerMechanism: Mechanism = {
  name: "worker (in-process baseline)",
  duplex: true,
  detectsPeerExit: false, // a Worker that ends without close() shares our pid: nothing to see
  bounded: true,
  start(role, count = 0, max) {
    const { channel, worker } = spawnWorker(workerPeer, { data: { role, count, max } });
    const encoder = new TextEncoder();
    let report!: ReadableStreamDefaultController<Uint8Array>;
    const stdout = new ReadableStream<Uint8Array>({ start: (c) => void (report = c) });
    let exitCode: number | null = null;
    worker.on("message", (m: unknown) => report.enqueue(encoder.encode(JSON.stringify(m) + "\n")));
    const exited = new Promise<number>((resolve) =>
      worker.once("exit", (code: number) => {
        exitCode = code;
        report.close();
        resolve(code);
      })
    );
    const peer: ChildProcess = {
      pid: process.pid,
      exited,
      get exitCode() {
        return exitCode;
      },
      signalCode: null,
      stdout,
      stderr: null,
      kill: () => void worker.terminate(),
    };
    return session(this, channel, peer, stdout, () => worker.postMessage("drain"));
  },
};

/**
 * NATS subjects, on the suite's own nats-server (./nats-server.ts, started on first use and
 * stopped by stopNatsForTests before the leak check). Like topics, a subscriber hears what
 * is published after it subscribed: we open (subscribe) before the peer starts, and when
 * the peer receives we wait for it to say it has subscribed. Both ends publish and
 * subscribe (a channel never hears itself), and core NATS is at most once: the suite paces
 * bulk transfers with acknowledgements, as for UDP.
 */
const natsMechanism: Mechanism = {
  name: "nats",
  duplex: true,
  detectsPeerExit: false,
  bounded: false,
  window: 64 * 1024,
  async start(role, count = 0, max) {
    const address = natsDescriptor.sample!({ tag: `${prefix}${++serial}`, dir, key: 0 });
    // the command first: the peer's runtime is read now (the cross-runtime test sets it around this call)
    const args = peerCommand(peerScript, role, address, String(count), ...(max === undefined ? [] : [String(max)]));
    await natsForTests();
    const receives = peerReceives(role);
    const here = open(address);
    // the peer subscribes whatever its role (acknowledgements come back to it), and says when it has
    const env = {
      PEER_OPEN_OPTS: JSON.stringify({ role: null }),
      PEER_WINDOW: String(64 * 1024),
      ...(receives ? { PEER_READY: "1", PEER_READY_ALL: "1" } : {}),
    };
    const peer = track(spawnProcess(args, { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } }));
    const s = session(this, here, peer);
    if (receives && (await s.out.line()) !== JSON.stringify({ ready: true })) throw new Error("the nats peer did not say it had subscribed");
    return s;
  },
};

let natsServer: Promise<NatsServer> | undefined;

/** The suite's nats-server, started on first use and stopped before the file's leak check; NATS_URL names it (peers inherit it). */
export async function natsForTests(): Promise<void> {
  if (!natsServer) {
    natsServer = startNatsServer();
    beforeLeakCheck(async () => {
      const server = natsServer;
      natsServer = undefined;
      await (await server)?.stop();
    });
  }
  process.env.NATS_URL = (await natsServer).url;
}

/** Mechanisms the suite runs its own way: a pid for an address, or a command as the peer. */
const custom: Partial<Record<Scheme, Mechanism>> = {
  signal: signalMechanism,
  spawn: commandMechanism("spawn"),
  popen: commandMechanism("popen"),
  topic: topicMechanism,
  "shm-queue": queueMechanism,
  nats: natsMechanism,
};

/** How the suite runs one mechanism of lib/mechanisms.ts; a mechanism with no way is a failure, not a skip. */
function conformanceOf(m: LibMechanism): Mechanism | undefined {
  if (m.scheme === "nats" && natsSkip) return undefined; // no nats-server here: ./nats-server.ts said so once
  if (m.traits.boundaries === "counter" || m.traits.boundaries === "token") return undefined; // eventfd values and semaphore tokens merge: not byte messages
  if (m.scheme === "worker") return undefined; // a thread, not a process: workerMechanism, run where Workers clean up
  const c = custom[m.scheme as Scheme];
  if (c) return c;
  if (m.inherit) return inherited(m.title ?? m.scheme, m.inherit, m.traits.duplex);
  if (m.sample) return fromDescriptor(m);
  throw new Error(`test/support/mechanisms.ts: no way to run ${m.scheme}: give its descriptor sample() or inherit(), or add it to custom`);
}

/** Every mechanism of lib/mechanisms.ts as the suite runs it, and variants that take another path. */
export const mechanisms: Mechanism[] = [
  ...libMechanisms.map((m) => conformanceOf(m as LibMechanism)).filter((m) => m !== undefined),
  fromDescriptor(shmDescriptor, { wait: "semaphore" }, "shm (semaphore wait)"),
  fromDescriptor(unixDescriptor, {}, "unix (abstract)", () => `unix:@${prefix}${++serial}`, false),
  inherited("socketpair", spawnWithSocketpair, true),
];
