/**
 * A work queue under load: 2 producer processes and 2 consumer processes, 64 B messages,
 * through an shm-queue and through a POSIX message queue (which takes many producers and
 * consumers too) — messages per second from "go" until both consumers are done.
 *   bun bench/queue-stream.ts produce|consume ADDRESS CONTROL N   (one participant)
 */
import { fileURLToPath } from "node:url";
import { open, SharedMemory } from "../lib/index.ts";
import { type Row, throughput } from "./measure.ts";
import { cpusFor, pinProcess, type Placement, startParticipant } from "./usage.ts";
import { isMainModule } from "../ffi/process.ts";

let serial = 0;
const STOP = new Uint8Array(1); // a consumer ends at a 1-byte message

/** `perProducer` messages from each of 2 producers to 2 consumers through `kind`; one stream row. */
export async function queueStream(kind: "shm-queue" | "mq", perProducer: number, placement: Placement): Promise<Row> {
  const tag = `ipcl-bench-wq-${process.pid}-${++serial}`;
  const address = kind === "mq" ? `mq:/${tag}` : `shm-queue:/${tag}`;
  using control = new SharedMemory(`shm:/${tag}-go`, { create: true, size: 4096 });
  const go = new Int32Array(control.buffer, 0, 1);
  using q = open(address, kind === "mq" ? { create: true } : { role: "writer", capacity: 1 << 20 });
  const [a, b] = cpusFor(placement);
  const script = fileURLToPath(import.meta.url);
  const start = (role: string, cpu: number) => startParticipant(script, [role, address, control.address, String(perProducer)], cpu, `a ${kind} ${role} peer`);
  // one producer and one consumer on each CPU across CPUs; all on CPU 0 on one
  const peers = [start("consume", a), start("consume", b >= 0 ? b : a), start("produce", a), start("produce", b >= 0 ? b : a)];
  try {
    for (const x of peers) await x.line(); // "ready"
    const t0 = performance.now();
    Atomics.store(go, 0, 1);
    await Promise.all(peers.slice(2).map((x) => x.line())); // the producers are done
    for (let i = 0; i < 2; i++) q.send(STOP, { timeout: 20_000 });
    await Promise.all(peers.slice(0, 2).map((x) => x.line())); // so are the consumers
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
  const go = new Int32Array(control.buffer, 0, 1);
  using q = open(address, address.startsWith("mq:") ? {} : { role: role === "produce" ? "writer" : "reader" });
  process.stdout.write("ready\n");
  while (Atomics.load(go, 0) === 0);
  if (role === "produce") {
    const msg = new Uint8Array(64);
    for (let i = 0; i < Number(n); i++) q.send(msg);
  } else {
    const buf = new Uint8Array(q.caps.maxMessageSize);
    while (q.recvInto(buf) !== 1);
  }
  process.stdout.write("done\n");
}
