/**
 * Pitfall: two producers, one consumer. A ring (shm:) connects exactly two processes: a
 * second producer is refused (EBUSY) — and two writers on one ring would corrupt it. Fix: a
 * work queue (shm-queue:), made for many producers and many consumers: each message to
 * exactly one consumer, each producer's in its order.
 */
import { IpcError, open } from "../../lib/index.ts";

const [role, address, id] = process.argv.slice(2);
if (role === "produce") {
  using q = open(address!, { role: "writer" });
  for (let i = 0; i < 1000; i++) q.send(`${id}:${i}`);
} else {
  const name = `ipc-lab-pitfall-two-${process.pid}`;
  {
    using _ring = open(`shm:/${name}`, { create: true });
    using _first = open(`shm:/${name}`); // the one peer a ring has
    try {
      open(`shm:/${name}`);
    } catch (e) {
      console.log(`problem: a ring has exactly two ends: a second producer gets ${(e as IpcError).code}.`);
    }
  }
  using q = open(`shm-queue:/${name}`, { role: "reader" });
  const producers = ["a", "b"].map((p) => Bun.spawn([process.execPath, import.meta.path, "produce", q.address, p]));
  const last: Record<string, number> = {};
  let inOrder = true;
  for (let n = 0; n < 2000; n++) {
    const [p, i] = new TextDecoder().decode(q.recv({ timeout: 10_000 })).split(":") as [string, string];
    if (Number(i) !== (last[p] ?? -1) + 1) inOrder = false;
    last[p] = Number(i);
  }
  await Promise.all(producers.map((p) => p.exited));
  console.log(`fix: an shm-queue: 2 producers × 1000 messages all arrived, each producer's ${inOrder ? "in order" : "OUT OF ORDER"}.`);
}
