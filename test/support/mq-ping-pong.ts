/**
 * Two processes playing ping-pong over two POSIX queues, for test/mq.test.ts to count the
 * receives' system calls from outside (`perf stat` on a tracepoint):
 *   mq-ping-pong.ts ADDRESS N      makes ADDRESS-a and ADDRESS-b, starts the other side
 *                                  (itself with "answer"), sends N pings, takes N answers
 *   mq-ping-pong.ts ADDRESS N answer
 * Both sides block in receive with no timeout, as a server does. The other side runs on the
 * same runtime and inherits this process's CPU mask.
 */
import { fileURLToPath } from "node:url";
import { open } from "../../lib/index.ts";
import { scriptCommand, spawnProcess } from "../../ffi/process.ts";

const [address, nArg, role] = process.argv.slice(2) as [string, string, string?];
const n = Number(nArg);
const msg = new Uint8Array(64);
const buf = new Uint8Array(8192);
if (role === "answer") {
  using pings = open(`${address}-a`, { timeout: 10_000 });
  using answers = open(`${address}-b`, { timeout: 10_000 });
  for (let i = 0; i < n; i++) {
    pings.recvInto(buf);
    answers.send(msg);
  }
} else {
  using pings = open(`${address}-a`, { create: true });
  using answers = open(`${address}-b`, { create: true });
  const other = spawnProcess(scriptCommand(fileURLToPath(import.meta.url), [address, nArg, "answer"]));
  for (let i = 0; i < n; i++) {
    pings.send(msg);
    answers.recvInto(buf);
  }
  const code = await other.exited;
  if (code !== 0) throw new Error(`the answering side exited with ${code}`);
}
