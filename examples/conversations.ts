/**
 * Conversations, two processes each (this file starts the other one): the README's patterns,
 * runnable.
 *
 *   bun examples/conversations.ts request [ADDRESS]   serve + Client/request (default mq:/ipc-lab-demo)
 *   bun examples/conversations.ts values              typed values with a codec, over shm:
 *   bun examples/conversations.ts accept [ADDRESS]    listen/accept: a duplex channel per client
 *   bun examples/conversations.ts select              one process waits on a queue and a ring at once
 *   (or deno run -A examples/conversations.ts …)
 */
import { fileURLToPath } from "node:url";
import { Client, connect, listen, open, request, select, serve } from "../lib/index.ts";
import { scriptCommand, spawnProcess } from "../ffi/process.ts";

const [pattern = "request", address = pattern === "accept" ? "unix:@ipc-lab-demo" : "mq:/ipc-lab-demo", role] = process.argv.slice(2);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** Run this file again as the other process (same runtime); it prints its own lines. */
const other = (...args: string[]) => spawnProcess(scriptCommand(fileURLToPath(import.meta.url), [pattern, address, ...args]));

interface Job {
  id: number;
  file: string;
  sizes: number[];
}

if (pattern === "request") {
  if (role === "server") {
    // answers every client until it is stopped (Ctrl-C would do the same: the names go)
    const server = serve(address, (req: Uint8Array) => text(req).toUpperCase());
    process.on("SIGTERM", () => server.close());
    console.log(`server: serving ${server.address}`);
    await server.done;
  } else {
    const server = other("server");
    console.log(`one request: ${text(await request(address, "hello", { timeout: 5000 }))}`);
    using client = new Client(address);
    for (const word of ["again", "and again"]) console.log(`over one Client: ${text(await client.request(word))}`);
    server.kill("SIGTERM");
    await server.exited;
  }
} else if (pattern === "values") {
  const at = "shm:/ipc-lab-demo-values";
  if (role === "server") {
    const server = serve<Job, { id: number; thumbnails: string[] }>(at, (job) => ({ id: job.id, thumbnails: job.sizes.map((s) => `${job.file}@${s}`) }), {
      codec: "msgpack",
    });
    process.on("SIGTERM", () => server.close());
    await server.done;
  } else {
    const server = other("server");
    const job: Job = { id: 7, file: "cat.jpg", sizes: [64, 256] };
    const done = await request<Job, { id: number; thumbnails: string[] }>(at, job, { codec: "msgpack", timeout: 5000 });
    console.log(`job ${done.id}: ${done.thumbnails.join(", ")}`);
    server.kill("SIGTERM");
    await server.exited;
  }
} else if (pattern === "accept") {
  if (role === "client") {
    // a duplex channel to the server: here, a stream of messages until it closes
    using ch = connect(address, { timeout: 5000 });
    ch.send("subscribe");
    for await (const m of ch) console.log(`client: ${text(m)}`);
  } else {
    using listener = listen(address);
    const client = other("client");
    for await (const peer of listener) {
      console.log(`server: a client asked to ${text(await peer.recvAsync())}`);
      for (let i = 1; i <= 3; i++) await peer.sendAsync(`tick ${i}`);
      peer.close(); // the client's loop ends (EOF)
      break;
    }
    await client.exited;
  }
} else if (pattern === "select") {
  const [queue, ring] = ["mq:/ipc-lab-demo-select", "shm:/ipc-lab-demo-select"];
  if (role === "sender") {
    using q = open(queue, { timeout: 5000 });
    using r = open(ring, { timeout: 5000 });
    q.send("from the queue");
    await new Promise((res) => setTimeout(res, 100));
    r.send("from the ring");
    await new Promise((res) => setTimeout(res, 100)); // the ring's peer stays until both were read
  } else {
    using q = open(queue, { create: true });
    using r = open(ring, { create: true });
    const sender = other("sender");
    for (let i = 0; i < 2; i++) {
      const got = select([q, r], { timeout: 5000 });
      console.log(`select: channel ${got.index} (${got.channel.address}) — ${text(got.message)}`);
    }
    await sender.exited;
  }
} else {
  console.error(`unknown pattern '${pattern}': request, values, accept or select`);
  process.exit(2);
}
