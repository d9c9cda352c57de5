/**
 * Pitfall: a process killed while it holds a lock (SIGKILL, the OOM killer, a crash) never
 * gives it back. With a semaphore used as a lock, everyone else waits forever. Fix: a
 * robust Mutex — the kernel hands the lock to the next locker with "owner-died", who
 * repairs the data, calls consistent() and carries on.
 */
import { Mutex, Semaphore } from "../../lib/index.ts";

const [role, address] = process.argv.slice(2);

if (role === "sem" || role === "mutex") {
  // the child: take the lock, say so, and hang there until killed
  if (role === "sem") new Semaphore(address!).wait();
  else new Mutex(address!).lock();
  console.log("held");
  setInterval(() => {}, 1000);
} else {
  /** Start a child that takes the lock at `addr`, wait until it holds it, then SIGKILL it. */
  const killHolder = async (kind: string, addr: string) => {
    const child = Bun.spawn([process.execPath, import.meta.path, kind, addr], { stdout: "pipe" });
    await child.stdout.getReader().read(); // "held"
    child.kill("SIGKILL");
    await child.exited;
  };

  using sem = new Semaphore(`sem:/ipc-lab-pitfall-lock-${process.pid}`, { create: true, value: 1 });
  await killHolder("sem", sem.address);
  console.log(
    `problem: its holder was killed, and the semaphore-as-lock is never given back: wait(300 ms) -> ${
      sem.wait({ timeout: 300 }) ? "got it" : "still waiting"
    }.`,
  );

  using mutex = new Mutex(`mutex:/ipc-lab-pitfall-lock-${process.pid}`, { create: true });
  await killHolder("mutex", mutex.address);
  const got = mutex.lock({ timeout: 300 });
  console.log(`fix: a robust Mutex: lock() -> "${got}" at once; repair the data it guards, then consistent() and unlock().`);
  if (got === "owner-died") mutex.consistent();
  mutex.unlock();
}
