/**
 * Anonymous mechanisms need no name: the parent makes the object and the child inherits
 * it as a descriptor. KIND is pipe, socketpair, memfd or eventfd.
 *
 *   bun examples/parent-child.ts memfd
 *   deno run -A examples/parent-child.ts memfd
 */
import { fileURLToPath } from "node:url";
import { open } from "../lib/index.ts";
import { counterValue, readCounter, spawnWithEventfd, spawnWithMemfd, spawnWithPipes, spawnWithSocketpair } from "../lib/public/mechanisms.ts";
import { scriptCommand } from "../ffi/process.ts";

if (process.env.IPC_LAB_CHANNEL) {
  // the child: its channel is the address the parent put in IPC_LAB_CHANNEL
  using ch = open(process.env.IPC_LAB_CHANNEL);
  const msg = ch.recv({ timeout: 5000 });
  if (ch.caps.boundaries === "counter") ch.send(counterValue(readCounter(msg) * 2n));
  else ch.send(`child ${process.pid} got "${new TextDecoder().decode(msg)}" over ${ch.address}`);
  process.exit(0);
}

const kind = process.argv[2] ?? "pipe";
const spawners = { pipe: spawnWithPipes, socketpair: spawnWithSocketpair, memfd: spawnWithMemfd, eventfd: spawnWithEventfd };
const spawn = spawners[kind as keyof typeof spawners];
if (!spawn) throw new Error(`KIND must be one of ${Object.keys(spawners).join(", ")}`);
const { channel, child } = spawn(scriptCommand(fileURLToPath(import.meta.url)));
if (kind === "eventfd") {
  channel.send(counterValue(21));
  console.log(`eventfd: sent 21, the child doubled it: ${readCounter(channel.recv({ timeout: 5000 }))}`);
} else {
  channel.send(`hello from ${process.pid}`);
  console.log(new TextDecoder().decode(channel.recv({ timeout: 5000 })));
}
channel.close();
await child.exited;
