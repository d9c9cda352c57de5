/**
 * Request/response and values, as a program would use them: a server process (serve(),
 * echoing each request) and a client process with 1 or 8 concurrent Clients, each asking
 * and awaiting in turn; per-request latency (p50, p99) and requests per second over all
 * clients. Values: a small object round-trips with each codec over shm, against the ways a
 * program would otherwise send objects — Bun.spawn's IPC (structured clone) and node:net
 * with newline-delimited JSON.
 *   bun bench/conversations.ts serve ADDRESS [CODEC]        (the server; prints its address)
 *   bun bench/conversations.ts client ADDRESS N K [CODEC]   (K clients × N requests; prints a report)
 *   bun bench/conversations.ts bun-ipc N | net-json N        (the baselines, each its own client)
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createConnection, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { isMainModule, runtime, scriptCommand } from "../ffi/process.ts";
import { Client, serve } from "../lib/index.ts";
import { type Mechanism, mechanismOf, mechanisms } from "../lib/public/extend.ts";
import type { Row } from "./measure.ts";
import { summarize } from "./stats.ts";
import { cpusFor, pinProcess, type Placement, startParticipant } from "./usage.ts";

/**
 * The mechanisms whose request/response the benchmark measures: every one that can serve
 * many clients (its descriptor's `converse`) and has a fresh address of its own (`sample`).
 */
export const REQUEST_SCHEMES: readonly string[] = (mechanisms as readonly Mechanism[]).filter((m) => m.converse && m.sample).map((m) => m.scheme);
/** The object the values rows send: a typical small job (~150 B of JSON). */
const SAMPLE_VALUE = {
  id: 12345,
  kind: "resize",
  path: "/srv/images/2026/11/cat.jpg",
  sizes: [64, 128, 256],
  opts: { quality: 0.82, strip: true, owner: null },
};
/** Requests each client makes before the timed ones (the JIT, the connection, the first rings). */
const WARMUP = 300;

let serial = 0;
const script = fileURLToPath(import.meta.url);

/** A fresh address of a scheme for one run, from its descriptor. */
function addressFor(scheme: string): string {
  const tag = `ipcl-bench-rr-${process.pid}-${++serial}`;
  const key = 0x5e000000 + ((process.pid & 0xfff) << 8) + (serial & 0xff);
  return mechanismOf(scheme)!.sample!({ tag, dir: tmpdir(), key });
}

/** Start this script with `args` on CPU `cpu` (-1: unpinned). */
const participant = (args: string[], cpu: number) => startParticipant(script, args, cpu, `bench participant ${args[0]}`);

/** What a client process reports. */
interface ClientReport {
  samples: number[];
  seconds: number;
}

export function rowFrom(
  mechanism: string,
  pattern: "request" | "values",
  clients: number,
  placement: Placement,
  size: number,
  r: ClientReport,
  impl = "ipc-lab",
): Row {
  const s = summarize(Float64Array.from(r.samples));
  return { impl, mechanism, pattern, mode: clients === 1 ? "1 client" : `${clients} clients`, placement, size, ...s, msgs_per_s: r.samples.length / r.seconds };
}

/**
 * Request/response over `scheme`: a server process and a client process with `clients`
 * concurrent Clients × `count` requests of `size` bytes (server on the peer CPU, clients on ours).
 */
export async function requestResponse(scheme: string, clients: number, count: number, size: number, placement: Placement, codec?: string): Promise<Row> {
  const [a, b] = cpusFor(placement);
  const server = participant(["serve", addressFor(scheme), ...(codec ? [codec] : [])], b);
  try {
    const address = await server.line();
    const client = participant(["client", address, String(count), String(clients), String(size), ...(codec ? [codec] : [])], a);
    const report = JSON.parse(await client.line()) as ClientReport;
    await client.p.exited;
    const mechanism = codec ? `${scheme} + ${codec}` : scheme;
    return rowFrom(mechanism, codec ? "values" : "request", clients, placement, codec ? JSON.stringify(SAMPLE_VALUE).length : size, report);
  } finally {
    server.p.kill("SIGINT");
    await server.p.exited;
  }
}

/** The baselines for values: Bun.spawn's IPC (structured clone) and node:net with JSON lines. */
export async function valuesBaseline(kind: "bun-ipc" | "net-json", count: number, placement: Placement): Promise<Row> {
  const [a] = cpusFor(placement);
  const client = participant([kind, String(count), String(cpusFor(placement)[1])], a);
  const report = JSON.parse(await client.line()) as ClientReport;
  await client.p.exited;
  const mechanism = kind === "bun-ipc" ? "Bun.spawn ipc (structured clone)" : "node:net unix socket + JSON";
  return rowFrom(mechanism, "values", 1, placement, JSON.stringify(SAMPLE_VALUE).length, report, kind);
}

/** `n` awaited round trips after WARMUP untimed ones: per-request ns, and when the timed part began and ended (ms). */
export async function timed(n: number, ask: () => Promise<unknown>): Promise<{ samples: number[]; start: number; end: number }> {
  for (let i = 0; i < WARMUP; i++) await ask();
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await ask();
    samples.push((performance.now() - t0) * 1e6);
  }
  return { samples, start, end: performance.now() };
}

/** The report of timed runs (requests per second over the span from the first timed request to the last). */
export function report(runs: { samples: number[]; start: number; end: number }[]): string {
  const start = Math.min(...runs.map((r) => r.start));
  const end = Math.max(...runs.map((r) => r.end));
  return JSON.stringify({ samples: runs.flatMap((r) => r.samples), seconds: (end - start) / 1000 }) + "\n";
}

async function clientRole(address: string, n: number, k: number, size: number, codec?: string): Promise<void> {
  const clients = Array.from({ length: k }, () => new Client<unknown, unknown>(address, codec ? { codec: codec as "json" } : {}));
  const msg = codec ? SAMPLE_VALUE : new Uint8Array(size);
  const runs = await Promise.all(clients.map((c) => timed(n, () => c.request(msg, { timeout: 30_000 }))));
  for (const c of clients) c.close();
  process.stdout.write(report(runs));
}

async function bunIpcRole(n: number, peerCpu: number): Promise<void> {
  if (runtime !== "bun") throw new Error("the Bun.spawn IPC baseline runs on Bun");
  let answer: (v: unknown) => void = () => {};
  const child = Bun.spawn(scriptCommand(script, ["bun-ipc-echo"]), {
    ipc: (m) => answer(m),
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...(peerCpu >= 0 ? { BENCH_CPU: String(peerCpu) } : {}) },
  });
  const ask = () => new Promise((resolve) => ((answer = resolve), child.send(SAMPLE_VALUE)));
  const run = await timed(n, ask);
  child.kill();
  await child.exited;
  process.stdout.write(report([run]));
}

async function netJsonRole(n: number, peerCpu: number): Promise<void> {
  const path = `/tmp/ipcl-bench-net-${process.pid}.sock`;
  const server = startParticipant(script, ["net-json-echo", path], peerCpu, "the node:net echo server");
  await server.line(); // "ready"
  const sock = createConnection(path);
  await new Promise((r) => sock.once("connect", r));
  let answer: (v: unknown) => void = () => {};
  let rest = "";
  sock.on("data", (d) => {
    rest += d.toString();
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      answer(JSON.parse(line));
    }
  });
  const ask = () => new Promise((resolve) => ((answer = resolve), sock.write(JSON.stringify(SAMPLE_VALUE) + "\n")));
  const run = await timed(n, ask);
  sock.destroy();
  server.p.kill();
  await server.p.exited;
  rmSync(path, { force: true });
  process.stdout.write(report([run]));
}

function netJsonEcho(path: string): void {
  const server = createServer((sock) => {
    let rest = "";
    sock.on("data", (d) => {
      rest += d.toString();
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const value = JSON.parse(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
        sock.write(JSON.stringify(value) + "\n");
      }
    });
    sock.on("error", () => {});
  });
  server.listen(path, () => process.stdout.write("ready\n"));
  const bye = () => server.close(() => process.exit(0));
  process.on("SIGTERM", bye);
  process.on("SIGINT", bye);
}

if (isMainModule(import.meta)) {
  const [role, x, y, z, w, v] = process.argv.slice(2) as [string, string, string?, string?, string?, string?];
  if (process.env.BENCH_CPU) pinProcess(Number(process.env.BENCH_CPU));
  if (role === "serve") {
    const server = y ? serve(x, (req: unknown) => req, { codec: y as "json" }) : serve(x, (req: Uint8Array) => req);
    await server.ready;
    process.stdout.write(`${server.address}\n`);
    await server.done;
  } else if (role === "client") await clientRole(x, Number(y), Number(z), Number(w), v);
  else if (role === "bun-ipc") await bunIpcRole(Number(x), Number(y));
  else if (role === "bun-ipc-echo") process.on("message", (m) => process.send!(m));
  else if (role === "net-json") await netJsonRole(Number(x), Number(y));
  else if (role === "net-json-echo") netJsonEcho(x);
}
