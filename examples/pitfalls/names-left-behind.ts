/**
 * Pitfall: named objects outlive their owner when it is killed with SIGKILL (no cleanup
 * can run). Fix: remove them by address (what `ipc-lab gc` automates), and prefer
 * anonymous objects (pipes, socketpairs, memfd) when the peer is a child.
 */
import { existsSync } from "node:fs";
import { remove } from "../../lib/index.ts";

const tag = `ipc-lab-pitfall-crash-${process.pid}`;
const names = [`shm:/${tag}`, `mq:/${tag}`, `sem:/${tag}`];
const lib = JSON.stringify(new URL("../../lib/index.ts", import.meta.url).pathname);
const child = Bun.spawn([
  process.execPath,
  "-e",
  `
  const { open } = await import(${lib});
  for (const a of ${JSON.stringify(names)}) open(a, { create: true });
  console.log("ready");
  await Bun.sleep(60000);`,
], { stdout: "pipe" });
await child.stdout.getReader().read();
child.kill("SIGKILL");
await child.exited;
console.log(`problem: the owner was killed with SIGKILL; /dev/shm/${tag} still exists: ${existsSync(`/dev/shm/${tag}`)}, and so do its queue and semaphore.`);
const removed = names.filter((a) => remove(a));
console.log(
  `fix: remove(address) deleted ${removed.length} of ${names.length} leftovers (${removed.join(", ")}); now /dev/shm/${tag} exists: ${
    existsSync(`/dev/shm/${tag}`)
  }.`,
);
