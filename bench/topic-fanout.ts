/**
 * One publisher, K subscribers in other processes: each round the publisher sends one
 * message and waits until every subscriber has acknowledged it (on a second topic the
 * subscribers publish to). The round trip to the last subscriber, for K = 1, 4, 8 —
 * against the two-process ring's round trip in the report's targets.
 *   bun bench/topic-fanout.ts TOPIC ACKS N   (the subscriber side; BENCH_CPU pins it)
 */
import { fileURLToPath } from "node:url";
import { isMainModule, nanoseconds, scriptCommand } from "../ffi/process.ts";
import { spawnChild } from "./children.ts";
import { open } from "../lib/index.ts";
import type { Row } from "./measure.ts";
import { summarize } from "./stats.ts";
import { cpusFor, pinProcess, type Placement } from "./usage.ts";

let serial = 0;

/** Publish `count` (after a warm-up) 64 B messages to `k` subscribers; a round ends with all k acks. */
export async function topicFanout(k: number, count: number, placement: Placement): Promise<Row> {
  const tag = `ipcl-bench-fan-${process.pid}-${++serial}`;
  const warm = 20_000;
  const pub = open(`topic:/${tag}`, { role: "writer" });
  const acks = open(`topic:/${tag}-acks`, { role: "reader" });
  const [ours, theirs] = cpusFor(placement);
  const env = { ...process.env, ...(theirs >= 0 ? { BENCH_CPU: String(theirs) } : {}) };
  const script = fileURLToPath(import.meta.url);
  const peers = Array.from(
    { length: k },
    () => spawnChild(scriptCommand(script, [pub.address, acks.address, String(warm + count)]), { stdio: ["ignore", "ignore", "inherit"], env }),
  );
  if (ours >= 0) pinProcess(ours);
  try {
    const buf = new Uint8Array(64);
    for (let i = 0; i < k; i++) acks.recvInto(buf, { timeout: 20_000 }); // each has subscribed
    const msg = new Uint8Array(64);
    const round = () => {
      pub.send(msg);
      for (let i = 0; i < k; i++) acks.recvInto(buf, { timeout: 20_000 });
    };
    for (let i = 0; i < warm; i++) round();
    const samples = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const t0 = nanoseconds();
      round();
      samples[i] = nanoseconds() - t0;
    }
    return {
      ...summarize(samples),
      impl: "ipc-lab",
      mechanism: `topic → ${k} subscriber${k > 1 ? "s" : ""}`,
      pattern: "rtt",
      mode: "sync",
      placement,
      size: 64,
      count,
    };
  } finally {
    if (ours >= 0) pinProcess(-1);
    for (const p of peers) p.kill();
    await Promise.all(peers.map((p) => p.exited));
    pub.close();
    acks.close();
  }
}

if (isMainModule(import.meta)) {
  const [topic, ackTopic, n] = process.argv.slice(2) as [string, string, string];
  if (process.env.BENCH_CPU) pinProcess(Number(process.env.BENCH_CPU));
  const sub = open(topic, { role: "reader" });
  const ack = open(ackTopic, { role: "writer" });
  const buf = new Uint8Array(64);
  const empty = new Uint8Array(0);
  ack.send(empty); // subscribed
  for (let i = 0; i < Number(n); i++) {
    sub.recvInto(buf);
    ack.send(empty);
  }
  sub.close();
  ack.close();
}
