/**
 * The NATS rows: what leaving shared memory costs, and what ipc-lab's adapter costs beside
 * the official client doing the same work ("nats raw"), against a nats-server this run
 * starts on localhost (bench/nats-server.ts).
 *   - fan-out: one publisher, K subscriber processes that each acknowledge every message on
 *     a second subject; the round trip to the last one (K = 1, 4), as `topic → K`;
 *   - stream: one publisher process, one subscriber process, 64 B messages as fast as they
 *     go, messages per second until the subscriber has them all;
 *   - work queues: 2 producers and 2 consumers through a queue group and a durable queue,
 *     as `shm-queue (2 producers, 2 consumers)`;
 *   - request/reply: the raw client's request() against a raw responder, 1 and 8 clients
 *     (ipc-lab's serve/request over nats: runs like every scheme in bench/conversations.ts).
 * Participants (this file, run as a script): ROLE IMPL ARGS… where IMPL is ipc-lab or raw.
 */
import { fileURLToPath } from "node:url";
import { isMainModule, nanoseconds, sleepSync } from "../ffi/process.ts";
import { open, SharedMemory } from "../lib/index.ts";
import { type Row, throughput } from "./measure.ts";
import { summarize } from "./stats.ts";
import { cpusFor, participantsOn, pinProcess, type Placement, startParticipant } from "./usage.ts";
import { report, requestResponse, rowFrom, timed } from "./conversations.ts";
import { makeHosts, netnsUnavailable } from "./netns.ts";
import { type NatsServer, startNatsServer } from "./nats-server.ts";
import type { NatsLoopChannel } from "../lib/public/mechanisms.ts";

/** ipc-lab (the NATS thread: sync calls), loop (ipc-lab with { thread: false }: async calls on the caller's loop), or the raw client */
type Impl = "ipc-lab" | "loop" | "raw";
type RawClient = typeof import("@nats-io/transport-node");

const script = fileURLToPath(import.meta.url);
let serial = 0;
const tag = () => `ipcl-bench-nats-${process.pid}-${++serial}`;
const url = () => process.env.NATS_URL!;
const implName = (impl: Impl) => (impl === "raw" ? "nats raw" : "ipc-lab");
/** The row name of a NATS pattern for an implementation. */
export const natsName = (impl: Impl, what: string) => impl === "raw" ? `nats raw ${what}` : impl === "loop" ? `nats ${what} (thread: false)` : `nats ${what}`;
const participant = (args: string[], cpu: number) => startParticipant(script, args, cpu, `nats bench ${args[0]}`);
/**
 * The longest any wait of a row may last: core NATS delivers at most once (a server that
 * judges a client slow drops its messages), so a wait for a message without a bound could
 * hang the run; past this it fails, naming what it waited for.
 */
const STALL_MS = 30_000;

/**
 * `promise`, or an error naming `what` once `progress()` has stood still for STALL_MS (one
 * timer for the whole wait: nothing added per message to what a row times).
 */
async function unlessStalled<T>(promise: Promise<T>, progress: () => number, what: string): Promise<T> {
  let timer: ReturnType<typeof setInterval> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let last = progress();
    timer = setInterval(() => {
      const now = progress();
      if (now === last) reject(new Error(`bench/nats.ts: ${what}: at ${now}, nothing for ${STALL_MS / 1000} s (a message lost?)`));
      last = now;
    }, STALL_MS);
  });
  try {
    return await Promise.race([promise, stalled]);
  } finally {
    clearInterval(timer);
  }
}

/** Fan-out round trips: publish one 64 B message, wait for all `k` acknowledgements. */
export async function natsFanout(impl: Impl, k: number, count: number, placement: Placement): Promise<Row> {
  const subject = tag();
  const warm = Math.min(count, 500);
  const [ours, theirs] = cpusFor(placement);
  const peers = Array.from({ length: k }, () => participant(["ack", impl, subject, String(warm + count)], theirs));
  if (ours >= 0) pinProcess(ours);
  try {
    for (const p of peers) await p.line(); // subscribed
    const samples = new Float64Array(count);
    if (impl === "raw") {
      const nats: RawClient = await import("@nats-io/transport-node");
      const nc = await nats.connect({ servers: url() });
      let left = 0;
      let done: () => void = () => {};
      nc.subscribe(`${subject}.acks`, { callback: () => void (--left === 0 && done()) });
      await nc.flush();
      const msg = new Uint8Array(64);
      const round = () => new Promise<void>((resolve) => ((left = k), (done = resolve), nc.publish(subject, msg)));
      let rounds = 0;
      const all = async () => {
        for (; rounds < warm; rounds++) await round();
        for (let i = 0; i < count; i++, rounds++) {
          const t0 = nanoseconds();
          await round();
          samples[i] = nanoseconds() - t0;
        }
      };
      await unlessStalled(all(), () => rounds, `round trips to ${k} raw subscribers`);
      await nc.close();
    } else {
      using pub = open(`${url()}/${subject}`, { role: "writer" });
      using acks = open(`${url()}/${subject}.acks`, { role: "reader" });
      const buf = new Uint8Array(64);
      const round = () => {
        pub.send(buf.subarray(0, 64));
        for (let i = 0; i < k; i++) acks.recvInto(buf, { timeout: STALL_MS });
      };
      for (let i = 0; i < warm; i++) round();
      for (let i = 0; i < count; i++) {
        const t0 = nanoseconds();
        round();
        samples[i] = nanoseconds() - t0;
      }
    }
    const mechanism = `${impl === "raw" ? "nats raw" : "nats"} → ${k} subscriber${k > 1 ? "s" : ""}`;
    return { ...summarize(samples), impl: implName(impl), mechanism, pattern: "rtt", mode: impl === "raw" ? "async" : "sync", placement, size: 64, count };
  } finally {
    if (ours >= 0) pinProcess(-1);
    for (const p of peers) p.p.kill();
    await Promise.all(peers.map((p) => p.p.exited));
  }
}

/** One publisher process to one subscriber process, `count` 64 B messages: messages per second. */
export async function natsStream(impl: Impl, count: number, placement: Placement): Promise<Row> {
  const subject = tag();
  const [a, b] = cpusFor(placement);
  const sink = participant(["sink", impl, subject, String(count)], b);
  try {
    await sink.line(); // subscribed
    const source = participant(["source", impl, subject, String(count)], a);
    const { seconds } = JSON.parse(await sink.line()) as { seconds: number };
    await source.p.exited;
    return {
      impl: implName(impl),
      mechanism: natsName(impl, "pub/sub"),
      pattern: "stream",
      mode: impl === "ipc-lab" ? "sync" : "async",
      placement,
      ...throughput(count, 64, seconds),
    };
  } finally {
    sink.p.kill();
    await sink.p.exited;
  }
}

/** What a work-queue row measures (its row before the figures). */
export function natsQueueRow(kind: "queue" | "durable", placement: Placement) {
  const mechanism = `nats ${kind === "queue" ? "queue group" : "durable queue"} (2 producers, 2 consumers)`;
  return { impl: "ipc-lab", mechanism, pattern: "stream", mode: "sync", placement, size: 64 } as const;
}

/**
 * 2 producers × `perProducer` to 2 consumers through a queue group or a durable queue:
 * messages per second, after `warmPerProducer` warm-up messages from each (0: none) — as
 * the shm-queue row warms up (bench/queue-stream.ts), so that the two compare warm
 * processes. The producers start, connect and warm up before the clock; it starts once the
 * consumers have taken the warm-up, and stops when they have taken the rest.
 */
export async function natsQueueStream(kind: "queue" | "durable", perProducer: number, placement: Placement, warmPerProducer: number): Promise<Row> {
  const t = tag();
  const address = kind === "queue" ? `${url()}/${t}?queue=workers` : `${url()}/${t}?durable=D${t.replaceAll("-", "_")}`;
  using control = new SharedMemory(`shm:/${t}-go`, { create: true, size: 4096 });
  const phase = new Int32Array(control.buffer, 0, 1);
  const [a, b] = cpusFor(placement);
  const consumers = [participant(["consume", "ipc-lab", address], a), participant(["consume", "ipc-lab", address], b >= 0 ? b : a)];
  const producers: ReturnType<typeof participant>[] = [];
  // each consumer says how many it has every 20 ms (while that changes)
  const counts = [0, 0];
  let last = 0;
  const taken = async (total: number) => {
    await Promise.all(consumers.map(async (c, i) => {
      while (counts[0]! + counts[1]! < total) {
        const line = await Promise.race([c.line(), new Promise<string>((r) => setTimeout(() => r(""), 5000))]);
        if (!line) return; // nothing moved for 5 s: lost
        counts[i] = (JSON.parse(line) as { got: number }).got;
        last = performance.now();
      }
    }));
  };
  try {
    for (const c of consumers) await c.line(); // subscribed
    const args = [String(perProducer), control.address, String(warmPerProducer)];
    producers.push(participant(["produce", "ipc-lab", address, ...args], a), participant(["produce", "ipc-lab", address, ...args], b >= 0 ? b : a));
    for (const p of producers) await p.line(); // connected
    const warm = 2 * warmPerProducer;
    if (warm > 0) {
      Atomics.store(phase, 0, PRODUCE_WARM);
      for (const p of producers) await p.line(); // warm-up sent
      await taken(warm);
    }
    const t0 = performance.now();
    Atomics.store(phase, 0, PRODUCE_TIMED);
    await taken(warm + 2 * perProducer);
    const seconds = (last - t0) / 1000;
    const got = counts[0]! + counts[1]! - warm;
    return {
      ...natsQueueRow(kind, placement),
      ...throughput(got, 64, seconds),
    };
  } finally {
    for (const x of [...consumers, ...producers]) x.p.kill();
    await Promise.all([...consumers, ...producers].map((x) => x.p.exited));
  }
}
/** A queue row's producers: waiting for "go" (0), sending the warm-up (1), the timed part (2). */
const PRODUCE_WARM = 1, PRODUCE_TIMED = 2;

/** The raw client's request/reply: a raw responder process, a process with `clients` raw requesters × `count`. */
export async function natsRawRequest(clients: number, count: number, size: number, placement: Placement): Promise<Row> {
  const subject = tag();
  const [a, b] = cpusFor(placement);
  const server = participant(["respond", "raw", subject], b);
  try {
    await server.line();
    const client = participant(["ask", "raw", subject, String(count), String(clients), String(size)], a);
    const r = JSON.parse(await client.line()) as { samples: number[]; seconds: number };
    await client.p.exited;
    return rowFrom("nats raw", "request", clients, placement, size, r, "nats raw");
  } finally {
    server.p.kill();
    await server.p.exited;
  }
}

/**
 * The rows across hosts: two test hosts in network namespaces (bench/netns.ts) and the
 * server on a third; request/reply (ipc-lab and the raw client, the server's process on
 * one host, the client's on another) and the pub/sub stream with { thread: false } (the
 * sink on one host, the source on the other). Root only: elsewhere one row says why not.
 */
export async function natsAcrossHosts(count: number, streamCount: number): Promise<Row[]> {
  const tag = `ipclb${process.pid % 100000}`;
  const why = netnsUnavailable(tag);
  const across = (r: Row): Row => ({ ...r, mechanism: `${r.mechanism} across hosts` });
  if (why) {
    return [{
      impl: "ipc-lab",
      mechanism: "nats across hosts",
      pattern: "request",
      mode: "1 client",
      placement: "unpinned",
      size: 64,
      count: 0,
      skipped: `not measured: ${why}`,
    }];
  }
  const hosts = makeHosts(tag, `10.214.${process.pid % 250}`, 3);
  const before = process.env.NATS_URL;
  let server: NatsServer | undefined;
  try {
    server = await startNatsServer({ netns: hosts.names[0], host: hosts.addresses[0] });
    process.env.NATS_URL = server.url;
    participantsOn(hosts.names.slice(1));
    const rows = [
      await requestResponse("nats", 1, count, 64, "unpinned"),
      await natsRawRequest(1, count, 64, "unpinned"),
      await natsStream("loop", streamCount, "unpinned"),
      await natsStream("raw", streamCount, "unpinned"),
    ];
    return rows.map(across);
  } finally {
    participantsOn([]);
    process.env.NATS_URL = before;
    await server?.stop();
    hosts.remove();
  }
}

// ---- participants ---------------------------------------------------------------------

async function rawConnect() {
  const nats: RawClient = await import("@nats-io/transport-node");
  return nats.connect({ servers: url() });
}

async function participantMain(role: string, impl: Impl, args: string[]): Promise<void> {
  const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");
  if (role === "ack" && impl === "raw") {
    const [subject, n] = args as [string, string];
    const nc = await rawConnect();
    let left = Number(n);
    let finished: () => void = () => {};
    const all = new Promise<void>((resolve) => (finished = resolve));
    nc.subscribe(subject, {
      callback: () => {
        nc.publish(`${subject}.acks`, new Uint8Array(0));
        if (--left === 0) finished();
      },
    });
    await nc.flush();
    say("ready");
    await unlessStalled(all, () => left, `the raw acknowledger's messages left`);
    await nc.close();
  } else if (role === "ack") {
    const [subject, n] = args as [string, string];
    const sub = open(`${url()}/${subject}`, { role: "reader" });
    const ack = open(`${url()}/${subject}.acks`, { role: "writer" });
    say("ready");
    const buf = new Uint8Array(64);
    for (let i = 0; i < Number(n); i++) (sub.recvInto(buf, { timeout: STALL_MS }), ack.send(buf.subarray(0, 0)));
    sub.close();
    ack.close();
  } else if (role === "sink") {
    const [subject, n] = args as [string, string];
    const count = Number(n);
    let t0 = 0;
    if (impl === "raw") {
      const nc = await rawConnect();
      let got = 0;
      let resolve: () => void = () => {};
      const all = new Promise<void>((r) => (resolve = r));
      nc.subscribe(subject, {
        callback: () => {
          if (got++ === 0) t0 = performance.now();
          if (got === count) resolve();
        },
      });
      await nc.flush();
      say("ready");
      await unlessStalled(all, () => got, `the raw sink's messages of ${count}`);
      await nc.close();
    } else if (impl === "loop") {
      using sub = open(`${url()}/${subject}`, { role: "reader", thread: false }) as NatsLoopChannel;
      await sub.ready;
      say("ready");
      let got = (await sub.recvManyAsync(1024, { timeout: STALL_MS })).length;
      t0 = performance.now();
      while (got < count) got += (await sub.recvManyAsync(1024, { timeout: STALL_MS })).length;
    } else {
      using sub = open(`${url()}/${subject}`, { role: "reader" });
      say("ready");
      const buf = new Uint8Array(64);
      sub.recvInto(buf, { timeout: STALL_MS });
      t0 = performance.now();
      for (let i = 1; i < count; i++) sub.recvInto(buf, { timeout: STALL_MS });
    }
    say({ seconds: (performance.now() - t0) / 1000 });
  } else if (role === "source") {
    const [subject, n] = args as [string, string];
    const msg = new Uint8Array(64);
    if (impl === "raw") {
      const nc = await rawConnect();
      for (let i = 0; i < Number(n); i++) nc.publish(subject, msg);
      await nc.flush();
      await nc.close();
    } else if (impl === "loop") {
      using pub = open(`${url()}/${subject}`, { role: "writer", thread: false }) as NatsLoopChannel;
      await pub.ready;
      for (let i = 0; i < Number(n); i++) pub.send(msg);
      await pub.flush();
    } else {
      using pub = open(`${url()}/${subject}`, { role: "writer" });
      for (let i = 0; i < Number(n); i++) pub.send(msg);
    }
  } else if (role === "produce") {
    // connects, says so, then sends its warm-up and its timed part as the control page says
    const [address, n, controlAddress, warm] = args as [string, string, string, string];
    using q = open(address, { role: "writer" });
    using control = new SharedMemory(controlAddress);
    const phase = new Int32Array(control.buffer, 0, 1);
    const until = (p: number) => {
      while (Atomics.load(phase, 0) < p) sleepSync(0.2);
    };
    say("ready");
    const msg = new Uint8Array(64);
    if (Number(warm) > 0) {
      until(PRODUCE_WARM);
      for (let i = 0; i < Number(warm); i++) q.send(msg);
      say("warm");
    }
    until(PRODUCE_TIMED);
    for (let i = 0; i < Number(n); i++) q.send(msg);
  } else if (role === "consume") {
    // says how many it has taken, every 20 ms while that changes, until killed
    const [address] = args as [string];
    const q = open(address, { role: "reader" });
    say("ready");
    let got = 0;
    let said = 0;
    setInterval(() => got !== said && say({ got: said = got }), 20);
    for (;;) got += (await q.recvManyAsync(256)).length;
  } else if (role === "respond") {
    const [subject] = args as [string];
    const nc = await rawConnect();
    nc.subscribe(subject, { callback: (_e, m) => void m.respond(m.data) });
    await nc.flush();
    say("ready");
    await new Promise(() => setInterval(() => {}, 1 << 30)); // answers until killed
  } else if (role === "ask") {
    const [subject, n, k, size] = args as [string, string, string, string];
    const nc = await rawConnect();
    const msg = new Uint8Array(Number(size));
    const runs = await Promise.all(Array.from({ length: Number(k) }, () => timed(Number(n), () => nc.request(subject, msg, { timeout: STALL_MS }))));
    process.stdout.write(report(runs));
    await nc.close();
  } else throw new Error(`bench/nats.ts: unknown role ${role}`);
}

if (isMainModule(import.meta)) {
  if (process.env.BENCH_CPU) pinProcess(Number(process.env.BENCH_CPU));
  const [role, impl, ...args] = process.argv.slice(2) as [string, Impl, ...string[]];
  await participantMain(role, impl, args);
  process.exit(0);
}
