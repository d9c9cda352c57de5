/**
 * Pitfall: two processes incrementing a counter in shared memory with a plain `x++` lose
 * updates (read-modify-write races). Fix: an atomic add (Atomics.add) loses none.
 */
import { SharedMemory } from "../../lib/index.ts";

const N = 5_000_000;
const address = process.argv[3] ?? `shm:/ipc-lab-pitfall-counter-${process.pid}`;
const PLAIN = 0, ATOMIC = 1, READY = 2, GO = 3;

/** Both processes run this at the same moment (a start barrier in the shared memory). */
function race(cell: Int32Array, leader: boolean): void {
  Atomics.add(cell, READY, 1);
  if (leader) {
    while (Atomics.load(cell, READY) < 2);
    Atomics.store(cell, GO, 1);
  }
  while (Atomics.load(cell, GO) === 0);
  for (let i = 0; i < N; i++) cell[PLAIN] = cell[PLAIN]! + 1; // load, add, store: another process can slip in between
  for (let i = 0; i < N; i++) Atomics.add(cell, ATOMIC, 1);
}

if (process.argv[2] === "child") {
  using mem = new SharedMemory(address);
  race(new Int32Array(mem.buffer, 0, 4), false);
} else {
  using mem = new SharedMemory(address, { create: true, size: 4096 });
  const cell = new Int32Array(mem.buffer, 0, 4);
  const child = Bun.spawn([process.execPath, import.meta.path, "child", address]);
  race(cell, true);
  await child.exited;
  console.log(
    `problem: two processes each did ${N} plain increments at the same time: the counter says ${cell[PLAIN]}, not ${2 * N} (${
      2 * N - cell[PLAIN]!
    } updates lost).`,
  );
  console.log(`fix: with Atomics.add it says ${cell[ATOMIC]}.`);
}
