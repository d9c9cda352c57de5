/**
 * Pitfall: standard signals merge — 1000 SIGUSR2 sent while the receiver cannot run arrive
 * as one. Fix: realtime signals (SIGRTMIN+N) queue, each with a payload.
 */
import { readdirSync, readFileSync } from "node:fs";

const lib = JSON.stringify(new URL("../../lib/index.ts", import.meta.url).pathname);
async function count(sig: string): Promise<number> {
  const child = Bun.spawn([
    process.execPath,
    "-e",
    `
    const { open } = await import(${lib});
    const ch = open("signal:self:${sig}");
    console.log("ready");
    for await (const _ of console) break;
    let n = 0;
    while (ch.tryRecv() !== undefined) n++;
    console.log(n);`,
  ], { stdin: "pipe", stdout: "pipe" });
  const reader = child.stdout.getReader();
  await reader.read(); // ready
  child.kill("SIGSTOP");
  // SIGSTOP stops each thread in its own time: wait until all of them are stopped
  const stopped = () => readdirSync(`/proc/${child.pid}/task`).every((t) => /\) T/.test(readFileSync(`/proc/${child.pid}/task/${t}/stat`, "utf8")));
  while (!stopped()) await Bun.sleep(1);
  const { open } = await import("../../lib/index.ts");
  using tx = open(`signal:${child.pid}:${sig}`);
  for (let i = 0; i < 1000; i++) tx.send(new Uint8Array(tx.caps.maxMessageSize ? 1 : 0));
  child.kill("SIGCONT");
  await Bun.sleep(200);
  child.stdin.write("go\n");
  child.stdin.end();
  const { value } = await reader.read();
  await child.exited;
  return Number(new TextDecoder().decode(value).trim());
}
console.log(`problem: 1000 SIGUSR2 sent to a stopped process arrive as ${await count("SIGUSR2")}: standard signals merge.`);
console.log(`fix: 1000 SIGRTMIN+1 arrive as ${await count("SIGRTMIN+1")}: realtime signals queue, in order, with a payload.`);
