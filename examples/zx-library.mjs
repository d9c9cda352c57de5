#!/usr/bin/env zx
/**
 * ipc-lab as a library inside a zx script (zx runs on Node): this script serves requests
 * itself — `serve()` from "ipc-lab", answering in this Node process — while zx starts
 * four `ipc-lab request` clients at once; then it streams 2000 messages over a
 * shared-memory ring it owns to an `ipc-lab recv` child that zx starts.
 *
 *   npx zx examples/zx-library.mjs [--address shm:/ipc-lab-zx-lib]
 */
import { $, argv, path } from "zx";
import { open, serve } from "ipc-lab";

const cli = path.join(import.meta.dirname, "..", "bin", "ipc-lab.mjs");
const address = String(argv.address ?? "shm:/ipc-lab-zx-lib");
const text = (b) => new TextDecoder().decode(b);
$.verbose = false;

// 1. requests: served here, asked by four CLI processes at once
const server = serve(address, (req) => text(req).toUpperCase());
await server.ready;
try {
  const replies = await Promise.all([1, 2, 3, 4].map((c) => $`node ${cli} request ${address} ${`hello from client ${c}`} --timeout 10000`));
  for (const r of replies) console.log(r.stdout.trim());
} finally {
  server.close();
}

// 2. a stream: 2000 messages to a child (`ipc-lab recv --count`), over a ring this script owns
const ring = open(`${address}-stream`, { create: true });
try {
  const child = $`node ${cli} recv ${ring.address} --count 2000`.nothrow();
  for (let i = 0; i < 2000; i++) ring.send(`message ${i}`, { timeout: 10_000 });
  const lines = (await child).stdout.trim().split("\n");
  console.log(`child received ${lines.length} messages, the last: ${lines.at(-1)}`);
} finally {
  ring.close();
}
