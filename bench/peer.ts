/**
 * The other process of a benchmark run.
 *   bun bench/peer.ts MODE IN OUT N [PLAN]
 * MODE: echo (send back each of N messages), echo-async (the same with recvAsync and
 * sendAsync, as an async server would), echo-loan (read each in place with recvView and
 * answer with a loan of the same size, committed unwritten: zero-copy both ways), sink (take the
 * batches PLAN posts — warm-up rounds, then the timed part — acking each; bench/stream-plan.ts),
 * sink-async (the same with recvAsync), sink-batch (the same with tryRecvManyInto, 64 at a time). IN/OUT: addresses ("inherit" = IPC_LAB_CHANNEL; the same address
 * twice = one duplex channel). BENCH_CPU pins the process. It first sends one "ready"
 * message, and at the end prints its cost per message as JSON on stdout.
 */
import { type Channel, open } from "../lib/index.ts";
import { counterValue } from "../lib/public/mechanisms.ts";
import { perMessage, pinProcess, usage } from "./usage.ts";
import { followPlan, sinkTake, StreamPlan } from "./stream-plan.ts";
import { echo } from "./echo.ts";

const [mode, inAddr, outAddr, nArg, planArg] = process.argv.slice(2) as [string, string, string, string, string?];
if (process.env.BENCH_CPU) pinProcess(Number(process.env.BENCH_CPU));
const resolve = (a: string) => (a === "inherit" ? process.env.IPC_LAB_CHANNEL! : a);
const rx: Channel = open(resolve(inAddr), { timeout: 10_000, role: "reader" });
const tx: Channel = outAddr === inAddr ? rx : open(resolve(outAddr), { timeout: 10_000, role: "writer" });
let n = Number(nArg);
const buf = new Uint8Array(Math.max(rx.caps.maxMessageSize, 8));
const empty = tx.caps.boundaries === "counter" || tx.caps.boundaries === "token" && tx.caps.maxMessageSize >= 8 ? counterValue(1) : new Uint8Array(0);

tx.send(empty, { timeout: 10_000 }); // ready (a datagram server learns our address from it)
let u0 = usage();
if (mode === "echo") {
  echo(rx, tx, buf, n);
} else if (mode === "echo-loan") {
  for (let i = 0; i < n; i++) {
    tx.loan(rx.recvView().byteLength);
    tx.commit();
    rx.release();
  }
} else if (mode === "echo-async") {
  for (let i = 0; i < n; i++) await tx.sendAsync(await rx.recvAsync());
} else {
  const take = sinkTake(mode, rx, buf); // (an unknown mode throws)
  using plan = StreamPlan.open(planArg!);
  n = await followPlan(plan, take, () => tx.send(empty), () => (u0 = usage()));
}
const cost = perMessage(u0, usage(), n);
process.stdout.write(JSON.stringify(cost) + "\n");
rx.close();
if (tx !== rx) tx.close();
