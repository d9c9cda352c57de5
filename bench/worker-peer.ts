/**
 * The Worker side of the in-process baseline: like bench/peer.ts, over `worker:parent`.
 */
import { parentPort } from "node:worker_threads";
import { open } from "../lib/index.ts";
import { workerChannelData } from "../lib/public/mechanisms.ts";
import { perMessage, pinThread, usage } from "./usage.ts";
import { followPlan, sinkTake, StreamPlan } from "./stream-plan.ts";
import { echo } from "./echo.ts";

const { mode, plan, cpu, ...data } = workerChannelData() as { mode: string; n: number; plan: string; cpu: number };
let n = data.n;
if (cpu >= 0) pinThread(cpu);
const ch = open("worker:parent");
const buf = new Uint8Array(ch.caps.maxMessageSize);
const empty = new Uint8Array(0);
ch.send(empty); // ready
let u0 = usage();
if (mode === "echo") echo(ch, ch, buf, n);
else if (mode === "echo-async") { for (let i = 0; i < n; i++) await ch.sendAsync(await ch.recvAsync()); }
else {
  using p = StreamPlan.open(plan);
  n = await followPlan(p, sinkTake(mode, ch, buf), () => ch.send(empty), () => (u0 = usage()));
}
// getrusage is per process here: the figure covers both threads (said in bench/README.md)
parentPort!.postMessage(perMessage(u0, usage(), n));
ch.close();
