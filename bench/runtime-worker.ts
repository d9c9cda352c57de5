/**
 * The Worker of the postMessage baseline: echoes every message (a Web Worker on Bun and
 * Deno, a worker_threads Worker on Node). The first message is the CPU this thread runs on
 * (-1: wherever the scheduler puts it), answered once the thread is pinned there: pinning
 * the process would put both threads on one CPU, and a "cross-cpu" row would not be.
 */
import { parentPort } from "node:worker_threads";
import { pinThread } from "./usage.ts";

declare const self: Worker;
let placed = false;
/** Echo `m` through `reply`; the first message places this thread instead. */
function echo(m: unknown, reply: (m: unknown) => void): void {
  if (!placed) {
    placed = true;
    if (typeof m === "number" && m >= 0) pinThread(m);
  }
  reply(m);
}
if (typeof self === "undefined") parentPort!.on("message", (m: unknown) => echo(m, (r) => parentPort!.postMessage(r)));
else self.onmessage = (e: MessageEvent) => echo(e.data, (r) => self.postMessage(r));
