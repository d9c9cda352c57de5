/**
 * The in-process baseline: a Worker thread and the main thread over a SharedArrayBuffer
 * ring (Atomics.wait). Prints the round-trip time, for comparison with the IPC mechanisms.
 *
 *   bun examples/worker.ts
 *   deno run -A examples/worker.ts
 */
import { isMainThread } from "node:worker_threads";
import { open } from "../lib/index.ts";
import { spawnWorker } from "../lib/public/mechanisms.ts";

if (!isMainThread) {
  using ch = open("worker:parent");
  const buf = new Uint8Array(ch.caps.maxMessageSize);
  try {
    for (;;) ch.send(buf.subarray(0, ch.recvInto(buf)));
  } catch {
    // EOF: the parent closed the ring
  }
} else {
  const { channel, worker } = spawnWorker(import.meta.url);
  const msg = new Uint8Array(64);
  const buf = new Uint8Array(channel.caps.maxMessageSize);
  const n = 100_000;
  for (let i = 0; i < 1000; i++) channel.send(msg), channel.recvInto(buf);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) channel.send(msg), channel.recvInto(buf);
  console.log(`worker ring round trip: ${(((performance.now() - t0) / n) * 1000).toFixed(2)} µs (64 B, ${n} round trips)`);
  channel.close();
  await worker.terminate();
}
