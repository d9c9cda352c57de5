/**
 * The writer of a writer/reader pair: sends a few messages to ADDRESS (waiting up to 10 s
 * for the reader to have created it), one per second.
 *
 *   bun examples/writer.ts mq:/demo [COUNT]
 *   deno run -A examples/writer.ts mq:/demo [COUNT]     (either end may run on either runtime)
 */
import { setTimeout as sleep } from "node:timers/promises";
import { open } from "../lib/index.ts";

const address = process.argv[2] ?? "mq:/ipc-lab-demo";
const count = Number(process.argv[3] ?? 5);
using ch = open(address, { timeout: 10_000, role: "writer" });
// datagram servers answer the last sender; a token or signal channel carries no (or 7) bytes
const max = ch.caps.maxMessageSize;
for (let i = 1; i <= count; i++) {
  const text = `hello #${i} from ${process.pid}`;
  ch.send(new TextEncoder().encode(text).subarray(0, max), { timeout: 10_000 });
  console.log(`sent: ${text.slice(0, max)}`);
  await sleep(1000);
}
