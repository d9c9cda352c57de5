/** The Worker of the postMessage baseline: echoes every message (a Web Worker on Bun and Deno, a worker_threads Worker on Node). */
import { parentPort } from "node:worker_threads";

declare const self: Worker;
if (typeof self === "undefined") parentPort!.on("message", (m: unknown) => parentPort!.postMessage(m));
else self.onmessage = (e: MessageEvent) => self.postMessage(e.data);
