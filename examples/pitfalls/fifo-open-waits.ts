/**
 * Pitfall: open(2) of a FIFO for writing blocks until a reader opens it — a program that
 * opens both ends in the wrong order hangs. Fix: ipc-lab waits with a timeout, and the
 * reader's open never blocks.
 */
import { rmSync } from "node:fs";
import { IpcError, open } from "../../lib/index.ts";

const path = `/tmp/ipc-lab-pitfall-fifo-${process.pid}`;
using creator = open(`fifo:${path}`, { create: true });
void creator; // held open (and removed at the end) by `using`
try {
  open(`fifo:${path}`, { role: "writer", timeout: 200 });
} catch (e) {
  console.log(`problem: with no reader, opening for writing waits; ipc-lab stops after the timeout (${(e as IpcError).code}) instead of hanging.`);
}
using reader = open(`fifo:${path}`, { role: "reader" });
using writer = open(`fifo:${path}`, { role: "writer", timeout: 200 });
writer.send("now it works");
console.log(`fix: open the reader first (it never blocks): "${new TextDecoder().decode(reader.recv())}".`);
rmSync(path, { force: true });
