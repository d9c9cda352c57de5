/**
 * The README's quick start, runnable: one process creates a queue, a child opens the same
 * address and answers.
 *
 *   bun examples/quickstart.ts
 *   deno run -A examples/quickstart.ts
 */
import { fileURLToPath } from "node:url";
import { open } from "../lib/index.ts";
import { scriptCommand, spawnProcess } from "../ffi/process.ts";

if (process.argv[2] === "child") {
  using jobs = open("mq:/ipc-lab-quickstart-jobs", { timeout: 5000 });
  using replies = open("mq:/ipc-lab-quickstart-replies", { timeout: 5000 });
  const job = new TextDecoder().decode(jobs.recv({ timeout: 5000 }));
  replies.send(`done: ${job}`);
} else {
  using jobs = open("mq:/ipc-lab-quickstart-jobs", { create: true });
  using replies = open("mq:/ipc-lab-quickstart-replies", { create: true });
  // the child runs this file on the same runtime (bun FILE, or deno run -A FILE)
  const child = spawnProcess(scriptCommand(fileURLToPath(import.meta.url), ["child"]));
  jobs.send(new TextEncoder().encode("hello"));
  console.log(new TextDecoder().decode(replies.recv({ timeout: 5000 })));
  await child.exited;
}
