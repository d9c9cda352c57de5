/**
 * Pitfall: a writer blocks when the pipe is full (64 KiB by default) and nobody reads.
 * Fix: read concurrently, bound the wait with a timeout, or ask for a larger pipe.
 */
import { IpcError } from "../../lib/index.ts";
import { pipePair } from "../../lib/public/mechanisms.ts";

const [writer, reader] = pipePair();
const msg = new Uint8Array(1000);
let sent = 0;
while (writer.trySend(msg)) sent++;
console.log(`problem: after ${sent} messages (${writer.caps.capacity} B pipe) the pipe is full; a plain send() would now block forever.`);
try {
  writer.send(msg, { timeout: 100 });
} catch (e) {
  console.log(`fix 1: send({ timeout }) gives up cleanly: ${(e as IpcError).code}.`);
}
reader.recv();
writer.send(msg, { timeout: 100 });
console.log("fix 2: once the reader takes one message, the send goes through.");
const [big] = pipePair({ capacity: 1 << 20 });
console.log(`fix 3: pipePair({ capacity }) asks the kernel for a bigger pipe: ${big.caps.capacity} B.`);
for (const c of [writer, reader, big]) c.close();
