/**
 * The contending process of bench/locks.ts:
 *   bun bench/lock-peer.ts KIND LOCK CONTROL
 * Takes and gives back the lock of KIND (mutex, sem, flock) at LOCK in a loop, counting
 * its pairs in word 1 of the SharedMemory CONTROL, until word 0 says stop. BENCH_CPU pins it.
 */
import { SharedMemory } from "../lib/index.ts";
import { type LockKind, openLock } from "./locks.ts";
import { pinProcess } from "./usage.ts";

const [kind, address, controlAddress] = process.argv.slice(2) as [LockKind, string, string];
if (process.env.BENCH_CPU) pinProcess(Number(process.env.BENCH_CPU));
const l = openLock(kind, address, false);
using control = new SharedMemory(controlAddress);
const flags = new Int32Array(control.buffer, 0, 2);
while (Atomics.load(flags, 0) === 0) {
  l.lock();
  l.unlock();
  Atomics.add(flags, 1, 1);
}
l.close();
