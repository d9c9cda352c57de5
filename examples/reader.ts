/**
 * The reader of a writer/reader pair, for any addressable mechanism. Run it first (it
 * creates the object and removes it when it exits), then examples/writer.ts in a second
 * terminal with the same address (docs/examples.md lists an address per mechanism).
 *
 *   bun examples/reader.ts mq:/demo
 *   deno run -A examples/reader.ts mq:/demo
 */
import { open } from "../lib/index.ts";

const address = process.argv[2] ?? "mq:/ipc-lab-demo";
using ch = open(address, { create: true, role: "reader" });
console.log(`reading ${ch.address} (${ch.caps.mechanism}: ${ch.caps.boundaries}, max ${ch.caps.maxMessageSize} B); Ctrl-C to stop`);
if (ch.address.startsWith("signal:self")) console.log(`send with: bun examples/writer.ts signal:${process.pid}${ch.address.slice("signal:self".length)}`);
for await (const msg of ch) console.log(`got ${msg.byteLength} B: ${new TextDecoder().decode(msg)}`);
console.log("the writer closed: end of stream");
