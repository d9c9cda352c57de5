/**
 * The Worker side of the in-process baseline: like bench/peer.ts, over `worker:parent`.
 */
import { parentPort } from "node:worker_threads";
import { open } from "../lib/index.ts";
import { workerChannelData } from "../lib/public/mechanisms.ts";
import { perMessage, pinThread, usage } from "./usage.ts";

const { mode, n, warm, cpu } = workerChannelData() as { mode: string; n: number; warm: number; cpu: number };
if (cpu >= 0) pinThread(cpu);
const ch = open("worker:parent");
const buf = new Uint8Array(ch.caps.maxMessageSize);
const empty = new Uint8Array(0);
ch.send(empty); // ready
let u0 = usage();
if (mode === "echo") { for (let i = 0; i < n; i++) ch.send(buf.subarray(0, ch.recvInto(buf))); }
else if (mode === "echo-async") { for (let i = 0; i < n; i++) await ch.sendAsync(await ch.recvAsync()); }
else if (mode === "sink-batch") {
  for (let i = 0; i < warm; i++) ch.recvInto(buf);
  ch.send(empty);
  u0 = usage();
  const lengths = new Uint32Array(64);
  for (let i = 0; i < n;) {
    const got = ch.tryRecvManyInto(buf, lengths);
    i += got > 0 ? got : ch.recvInto(buf) >= 0 ? 1 : 0;
  }
  ch.send(empty);
} else if (mode === "sink") {
  for (let i = 0; i < warm; i++) ch.recvInto(buf);
  ch.send(empty);
  u0 = usage();
  for (let i = 0; i < n; i++) ch.recvInto(buf);
  ch.send(empty);
} else {
  for (let i = 0; i < warm; i++) await ch.recvAsync();
  ch.send(empty);
  u0 = usage();
  for (let i = 0; i < n; i++) await ch.recvAsync();
  ch.send(empty);
}
// getrusage is per process here: the figure covers both threads (said in bench/README.md)
parentPort!.postMessage(perMessage(u0, usage(), n));
ch.close();
