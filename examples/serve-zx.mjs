#!/usr/bin/env zx
/**
 * `ipc-lab serve` and `ipc-lab request` scripted with zx: a server that upper-cases with
 * `tr`, four clients asking at once, then Ctrl-C's signal to stop it (its names go).
 *
 *   npx zx examples/serve-zx.mjs [--address shm:/ipc-lab-zx]
 */
import { $, argv, path } from "zx";

const cli = path.join(import.meta.dirname, "..", "bin", "ipc-lab.mjs");
const address = String(argv.address ?? "shm:/ipc-lab-zx");
$.verbose = false;

const server = $`node ${cli} serve ${address} -- tr a-z A-Z`.nothrow();
// the server prints the address it serves once it listens (tcp:HOST:0 gets its real port)
const served = await new Promise((resolve) => server.stdout.once("data", (d) => resolve(String(d).trim())));
const replies = await Promise.all([1, 2, 3, 4].map((c) => $`node ${cli} request ${served} ${`hello from client ${c}`} --timeout 10000`));
for (const r of replies) console.log(r.stdout.trim());
server.kill("SIGINT");
console.log(`server stopped: exit ${(await server).exitCode}`);
