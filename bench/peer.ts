/**
 * The other process of a benchmark run. Usage:
 *   bun bench/peer.ts echo IN OUT        send back every message received on IN, on OUT
 *   bun bench/peer.ts sink IN OUT N      say "ready" on OUT, receive N messages on IN, then ack on OUT
 * IN/OUT "inherit" means the pipe pair passed by spawnWithPipes (fd:3,4). It stops at
 * end of stream (or after N messages).
 */
import { open, IpcError, type Channel } from "../lib/index.ts";

const [mode, inAddr, outAddr, countArg] = process.argv.slice(2);
const resolve = (a: string) => (a === "inherit" ? process.env.IPC_LAB_CHANNEL! : a);
const rx: Channel = open(resolve(inAddr!), { timeout: 10_000, role: "reader" });
const tx: Channel = outAddr === inAddr ? rx : open(resolve(outAddr!), { timeout: 10_000, role: "writer" });
const buf = new Uint8Array(rx.caps.maxMessageSize);

try {
  if (mode === "echo") {
    for (;;) tx.send(buf.subarray(0, rx.recvInto(buf)));
  } else if (mode === "sink") {
    const n = Number(countArg);
    tx.send(buf.subarray(0, 0)); // ready: the producer starts its clock after this
    for (let i = 0; i < n; i++) rx.recvInto(buf);
    tx.send(buf.subarray(0, 0));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (e) {
  if (!(e instanceof IpcError && (e.code === "EOF" || e.code === "EPIPE"))) throw e;
} finally {
  rx.close();
  tx.close();
}
