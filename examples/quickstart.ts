/**
 * The README's quick start in one file: this process serves (upper-casing each request),
 * a child — the same file, on the same runtime — is the client: it asks once, then twice
 * over one connection, and prints HELLO, BRAVE and WORLD.
 *
 *   bun examples/quickstart.ts
 *   deno run -A examples/quickstart.ts
 *   node dist/examples/quickstart.js        (after npm install, which builds dist/)
 */
import { fileURLToPath } from "node:url";
import { Client, request, serve } from "../lib/index.ts";
import { scriptCommand, spawnProcess } from "../ffi/process.ts";

const address = "mq:/ipc-lab-quickstart";
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

if (process.argv[2] === "client") {
  // client.ts of the README
  console.log(text(await request(address, "hello", { timeout: 5000 })));
  using client = new Client(address);
  for (const word of ["brave", "world"]) console.log(text(await client.request(word)));
} else {
  // server.ts of the README; closing it (here, when the client is done) removes the queue
  using server = serve(address, (req: Uint8Array) => text(req).toUpperCase());
  await server.ready;
  const child = spawnProcess(scriptCommand(fileURLToPath(import.meta.url), ["client"]), { stdio: ["ignore", "inherit", "inherit"] });
  const code = await child.exited;
  if (code !== 0) throw new Error(`the client exited ${code}`);
}
