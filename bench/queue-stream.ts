/**
 * A work queue under load: 2 producer processes and 2 consumer processes, 64 B messages,
 * through an shm-queue and through a POSIX message queue (which takes many producers and
 * consumers too) — messages per second over the timed part, after a warm-up.
 *
 * The warm-up is the other streams' (bench/stream-plan.ts: 300 ms in a full run, none with
 * --quick or --count): the producers send warm-up messages until it has passed, and the
 * clock starts once the consumers have taken them all. Without it the row timed four cold
 * processes: 200 000 messages through an shm-queue on one CPU ran at 0.7 M msg/s, two
 * million at 2.1 M (mq: 0.17 and 0.19 M), as the runtimes' JIT tiers settled. A warm-up
 * message starts with byte 1, and consumers count those in the control page; timed ones
 * start with 0 and are not counted (no shared counter bouncing between CPUs while the clock
 * runs).
 *   bun bench/queue-stream.ts produce|consume ADDRESS CONTROL N   (one participant)
 */
import { fileURLToPath } from "node:url";
import { open, SharedMemory } from "../lib/index.ts";
import { type Row, throughput } from "./measure.ts";
import { cpusFor, pinProcess, type Placement, startParticipant } from "./usage.ts";
import { isMainModule, sleepSync } from "../ffi/process.ts";

let serial = 0;
const STOP = new Uint8Array(1); // a consumer ends at a 1-byte message
/** The control page's words: the phase, and the warm-up messages consumed. */
const PHASE = 0, TAKEN = 1;
/** Phases: waiting for go, warming up, warm-up over (producers stop and report), timed. */
const WAIT = 0, WARM = 1, WARM_OVER = 2, TIMED = 3;
const WARM_BYTE = 1;

/**
 * `perProducer` timed messages from each of 2 producers to 2 consumers through `kind`,
 * after `warmMs` of warm-up (0: none); one stream row.
 */
export async function queueStream(kind: "shm-queue" | "mq", perProducer: number, placement: Placement, warmMs: number): Promise<Row> {
  const tag = `ipcl-bench-wq-${process.pid}-${++serial}`;
  const address = kind === "mq" ? `mq:/${tag}` : `shm-queue:/${tag}`;
  using control = new SharedMemory(`shm:/${tag}-go`, { create: true, size: 4096 });
  const words = new Int32Array(control.buffer, 0, 2);
  using q = open(address, kind === "mq" ? { create: true } : { role: "writer", capacity: 1 << 20 });
  const [a, b] = cpusFor(placement);
  const script = fileURLToPath(import.meta.url);
  const start = (role: string, cpu: number) => startParticipant(script, [role, address, control.address, String(perProducer)], cpu, `a ${kind} ${role} peer`);
  // one producer and one consumer on each CPU across CPUs; all on CPU 0 on one
  const peers = [start("consume", a), start("consume", b >= 0 ? b : a), start("produce", a), start("produce", b >= 0 ? b : a)];
  const producers = peers.slice(2), consumers = peers.slice(0, 2);
  try {
    for (const x of peers) await x.line(); // "ready"
    if (warmMs > 0) {
      Atomics.store(words, PHASE, WARM);
      await new Promise((r) => setTimeout(r, warmMs));
      Atomics.store(words, PHASE, WARM_OVER);
      let sent = 0;
      for (const x of producers) sent += Number((await x.line()).split(" ")[1]); // "warm N"
      const by = performance.now() + 20_000;
      while (Atomics.load(words, TAKEN) < sent) {
        if (performance.now() > by) throw new Error(`${kind} 2×2 stream: the consumers took ${Atomics.load(words, TAKEN)} of ${sent} warm-up messages in 20 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const t0 = performance.now();
    Atomics.store(words, PHASE, TIMED);
    await Promise.all(producers.map((x) => x.line())); // the producers are done
    for (let i = 0; i < 2; i++) q.send(STOP, { timeout: 20_000 });
    await Promise.all(consumers.map((x) => x.line())); // so are the consumers
    const seconds = (performance.now() - t0) / 1000;
    const count = 2 * perProducer;
    return {
      impl: "ipc-lab",
      mechanism: `${kind} (2 producers, 2 consumers)`,
      pattern: "stream",
      mode: "sync",
      placement,
      ...throughput(count, 64, seconds),
    };
  } finally {
    for (const x of peers) x.p.kill();
    await Promise.all(peers.map((x) => x.p.exited));
  }
}

if (isMainModule(import.meta)) {
  const [role, address, controlAddress, n] = process.argv.slice(2) as [string, string, string, string];
  if (process.env.BENCH_CPU) pinProcess(Number(process.env.BENCH_CPU));
  using control = new SharedMemory(controlAddress);
  const words = new Int32Array(control.buffer, 0, 2);
  using q = open(address, address.startsWith("mq:") ? {} : { role: role === "produce" ? "writer" : "reader" });
  process.stdout.write("ready\n");
  while (Atomics.load(words, PHASE) === WAIT);
  if (role === "produce") {
    const msg = new Uint8Array(64);
    if (Atomics.load(words, PHASE) !== TIMED) {
      msg[0] = WARM_BYTE;
      let sent = 0;
      do {
        for (let i = 0; i < 1000; i++) q.send(msg);
        sent += 1000;
      } while (Atomics.load(words, PHASE) === WARM);
      process.stdout.write(`warm ${sent}\n`);
      msg[0] = 0;
      // asleep while the consumers drain the warm-up (on one CPU a spin would slow them)
      while (Atomics.load(words, PHASE) !== TIMED) sleepSync(0.2);
    }
    for (let i = 0; i < Number(n); i++) q.send(msg);
  } else {
    const buf = new Uint8Array(q.caps.maxMessageSize);
    for (;;) {
      const len = q.recvInto(buf);
      if (len === 1) break;
      if (buf[0] === WARM_BYTE) Atomics.add(words, TAKEN, 1);
    }
  }
  process.stdout.write("done\n");
}
