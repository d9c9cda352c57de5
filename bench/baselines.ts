/**
 * Baselines measured in the same run: small C programs (bench/c/baseline.c, compiled with
 * cc on first use) doing the same round trip and stream, and the runtimes' own IPC —
 * node:net over a unix socket and a Worker's postMessage on every runtime; Bun.spawn ipc
 * with process.send and Bun.listen/Bun.connect on Bun; Deno.listen/Deno.connect on Deno;
 * child_process IPC (serialization "json" and "advanced") on Node.
 */
import { spawn as nodeSpawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker as ThreadWorker } from "node:worker_threads";
import { compileCached, shimSources } from "../ffi/build.ts";
import { runnablePath, siblingModule, sourceFile } from "../ffi/paths.ts";
import { nanoseconds, runtime, type RuntimeName, scriptCommand } from "../ffi/process.ts";
import { spawnChild } from "./children.ts";
import { denoConnect } from "./deno-net.ts";
import type { Row } from "./measure.ts";
import { summarize } from "./stats.ts";
import { FIXED, type StreamTiming } from "./stream-plan.ts";
import { cpusFor, perMessage, pinProcess, pinThread, type Placement, usage } from "./usage.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** Path of the compiled C baseline (built once per source hash). */
export function cBaseline(): string {
  return compileCached({
    name: "baseline",
    sources: [sourceFile("bench/c/baseline.c"), ...shimSources()],
    flags: ["-O2", "-pthread", "-Wall"],
    ext: "",
  });
}

/** The C row for a mechanism, pattern, size and placement (a stream sized by `timing`, as ipc-lab's). */
export function runC(
  mechanism: string,
  pattern: "rtt" | "stream" | "inproc",
  size: number,
  count: number,
  placement: Placement,
  timing: StreamTiming = FIXED,
): Row {
  const plan = pattern === "stream" ? [timing.warmMs, timing.timedMs, timing.maxGrowth].map(String) : [];
  const r = spawnSync(cBaseline(), [mechanism, pattern, String(size), String(count), placement, ...plan], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`C baseline ${mechanism} ${pattern} failed: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout.trim()) as Row;
}

/** A runtime's own IPC, measured as round trips of `size`-byte messages. */
export interface RuntimeBaseline {
  impl: string;
  /** the runtime it belongs to (absent: both) */
  only?: RuntimeName;
  mechanism: string;
  run(size: number, count: number, placement: Placement): Promise<Row>;
}

const peer = join(here, "runtime-peer.ts");

/** Time `count` round trips of `once()` after a warm-up. */
async function timed(impl: string, mechanism: string, size: number, count: number, placement: Placement, once: () => Promise<void>): Promise<Row> {
  const warm = Math.min(1000, Math.ceil(count / 10));
  for (let i = 0; i < warm; i++) await once();
  const samples = new Float64Array(count);
  const u0 = usage();
  for (let i = 0; i < count; i++) {
    const t0 = nanoseconds();
    await once();
    samples[i] = nanoseconds() - t0;
  }
  const cost = perMessage(u0, usage(), count);
  return {
    ...summarize(samples),
    impl,
    mechanism,
    pattern: "rtt",
    mode: "async",
    placement,
    size,
    count,
    cpu_ns_per_msg: { parent: cost.cpu_ns_per_msg },
    ctx_switches_per_msg: { parent: cost.ctx_switches_per_msg },
  };
}

function env(placement: Placement): Record<string, string> {
  const cpu = cpusFor(placement)[1];
  return { ...(process.env as Record<string, string>), ...(cpu >= 0 ? { BENCH_CPU: String(cpu) } : {}) };
}

/** Pin ourselves for the run, and free the pin afterwards. */
async function pinned<T>(placement: Placement, body: () => Promise<T>, pin: (cpu: number) => void = pinProcess): Promise<T> {
  const ours = cpusFor(placement)[0];
  if (ours >= 0) pin(ours);
  try {
    return await body();
  } finally {
    if (ours >= 0) pinProcess(-1);
  }
}

/** Bun.spawn with ipc: process.send in the child, the ipc callback in the parent. */
const bunIpc: RuntimeBaseline = {
  impl: "bun-ipc",
  mechanism: "spawn ipc",
  only: "bun",
  run: (size, count, placement) =>
    pinned(placement, async () => {
      let wake: (() => void) | undefined;
      const child = Bun.spawn([process.execPath, peer, "ipc"], { env: env(placement), stdio: ["ignore", "inherit", "inherit"], ipc: () => wake?.() });
      const msg = "x".repeat(size);
      const once = () =>
        new Promise<void>((resolve) => {
          wake = resolve;
          child.send(msg);
        });
      await once();
      const row = await timed("bun-ipc", "spawn ipc", size, count, placement, once);
      child.kill();
      await child.exited;
      return row;
    }),
};

/** A byte-echo server in the child over a unix socket, driven by `connect`. */
function socketBaseline(impl: string, serverKind: "node-net" | "bun-socket" | "deno-unix", only?: RuntimeName): RuntimeBaseline {
  return {
    impl,
    mechanism: "unix",
    only,
    run: (size, count, placement) =>
      pinned(placement, async () => {
        const path = `/tmp/ipcl-bench-${impl}-${process.pid}.sock`;
        const child = spawnChild(scriptCommand(peer, [serverKind, path]), { env: env(placement), stdio: ["ignore", "pipe", "inherit"] });
        const listening = child.stdout!.getReader();
        await listening.read();
        listening.releaseLock();
        let pending = 0;
        let wake: (() => void) | undefined;
        const onData = (n: number) => {
          pending -= n;
          if (pending <= 0) wake?.();
        };
        let write: (b: Uint8Array) => void;
        let end: () => void;
        if (serverKind === "node-net") {
          const net = await import("node:net");
          const s = net.createConnection(path);
          await new Promise((r) => s.once("connect", r));
          s.setNoDelay(true);
          s.on("data", (d: Buffer) => onData(d.byteLength));
          write = (b) => void s.write(b);
          end = () => s.destroy();
        } else if (serverKind === "deno-unix") {
          const s = await denoConnect(path, onData);
          write = s.write;
          end = s.close;
        } else {
          const s = await Bun.connect({ unix: path, socket: { data: (_s, d) => onData(d.byteLength) } });
          write = (b) => void s.write(b);
          end = () => s.end();
        }
        const msg = new Uint8Array(size);
        const once = () =>
          new Promise<void>((resolve) => {
            pending = size;
            wake = resolve;
            write(msg);
          });
        const row = await timed(impl, "unix", size, count, placement, once);
        end();
        child.kill();
        await child.exited;
        rmSync(path, { force: true }); // a killed server leaves its socket file
        return row;
      }),
  };
}

/** node:child_process IPC with process.send in the child, as Node programs talk to a child (Node only: Bun has no "advanced"). */
function nodeIpc(serialization: "json" | "advanced"): RuntimeBaseline {
  const impl = `node-ipc-${serialization}`;
  return {
    impl,
    mechanism: "spawn ipc",
    only: "node",
    run: (size, count, placement) =>
      pinned(placement, async () => {
        const child = nodeSpawn(process.execPath, [runnablePath(peer, false), "ipc"], {
          env: env(placement),
          stdio: ["ignore", "inherit", "inherit", "ipc"],
          serialization,
        });
        let wake: (() => void) | undefined;
        child.on("message", () => wake?.());
        const msg = serialization === "json" ? "x".repeat(size) : new Uint8Array(size);
        const once = () =>
          new Promise<void>((resolve) => {
            wake = resolve;
            child.send(msg);
          });
        await once();
        const row = await timed(impl, "spawn ipc", size, count, placement, once);
        const exited = new Promise((r) => child.once("exit", r));
        child.kill();
        await exited;
        return row;
      }),
  };
}

/** A Worker's postMessage (structured clone), the in-process runtime baseline (a worker_threads Worker on Node). */
const workerPost: RuntimeBaseline = {
  impl: "worker-postmessage",
  mechanism: "worker",
  run: (size, count, placement) =>
    pinned(placement, async () => {
      const url = siblingModule(import.meta.url, "runtime-worker");
      let wake: (() => void) | undefined;
      let post: (m: Uint8Array | number) => void;
      let end: () => unknown;
      if (runtime === "node") {
        const w = new ThreadWorker(url);
        w.on("message", () => wake?.());
        post = (m) => w.postMessage(m);
        end = () => w.terminate();
      } else {
        const w = new Worker(url.href, { type: "module" });
        w.onmessage = () => wake?.();
        post = (m) => w.postMessage(m);
        end = () => w.terminate();
      }
      // the Worker's thread goes to the peer's CPU itself (its first message), ours to our
      // CPU alone: pinning the process would put both threads on one CPU
      await new Promise<void>((resolve) => {
        wake = resolve;
        post(cpusFor(placement)[1]);
      });
      const msg = new Uint8Array(size);
      const once = () =>
        new Promise<void>((resolve) => {
          wake = resolve;
          post(msg);
        });
      const row = await timed("worker-postmessage", "worker", size, count, placement, once);
      await end();
      return row;
    }, pinThread),
};

/** Every runtime baseline of the runtime running the benchmark. */
export const runtimeBaselines: RuntimeBaseline[] = [
  bunIpc,
  socketBaseline("node-net", "node-net"),
  socketBaseline("bun-socket", "bun-socket", "bun"),
  socketBaseline("deno-socket", "deno-unix", "deno"),
  nodeIpc("json"),
  nodeIpc("advanced"),
  workerPost,
].filter((b) => !b.only || b.only === runtime);
