/**
 * The in-process baseline: a Worker thread and its parent talking over the same duplex ring
 * as shm:, but in a SharedArrayBuffer, sleeping with real Atomics.wait/notify. No system
 * call on the fast path and no process boundary: what is left when IPC costs nothing, for
 * the benchmark to compare against. The parent calls spawnWorker(url); the Worker opens
 * `worker:parent`.
 */
import { Worker, workerData } from "node:worker_threads";
import type { Address } from "../address.ts";
import { ipcError } from "../errors.ts";
import { RingChannel } from "../ring/channel.ts";
import { checkRingTuning, initRingHeader, readRingHeader, ringGeometry, ringObjectSize, type RingTuning, ringTuningNames } from "../ring/layout.ts";
import { mechanism, usualTraits } from "../mechanism.ts";

/** Options for spawnWorker. */
export interface WorkerOptions extends RingTuning {
  /** bytes per direction, a power of two (default 2 MiB) */
  capacity?: number;
  /** largest message (default min(1 MiB, capacity/2)) */
  maxMessageSize?: number;
  /** extra data for the worker (node:worker_threads workerData, under `data`) */
  data?: unknown;
}

/** The key under which the ring travels in workerData. */
const RING_KEY = "ipcLabRing";

/** Start `url` as a Worker with a ring to it; the Worker opens `worker:parent`. */
export function spawnWorker(url: string | URL, opts: WorkerOptions = {}): { channel: RingChannel; worker: Worker } {
  checkRingTuning(opts, "worker:");
  const g = ringGeometry(opts.capacity, opts.maxMessageSize, "worker:");
  const size = ringObjectSize(g);
  const sab = new SharedArrayBuffer(size);
  initRingHeader(sab, g);
  const channel = new RingChannel("worker:child", "worker", { base: sab, size, release: () => {}, peerExitVisible: false }, 0, g, opts);
  // node:worker_threads wants a path or a URL object, and import.meta.url is a file:// string
  const target = typeof url === "string" && url.startsWith("file:") ? new URL(url) : url;
  const worker = new Worker(target, { workerData: { [RING_KEY]: sab, data: opts.data } });
  return { channel, worker };
}

/** The data the parent passed in WorkerOptions.data (inside a Worker started by spawnWorker). */
export function workerChannelData(): unknown {
  return (workerData as { data?: unknown } | null)?.data;
}

/** Open `worker:parent`: inside a Worker started by spawnWorker, the ring to the parent. */
function openWorker(addr: Address, opts: RingTuning): RingChannel {
  const sab = (workerData as Record<string, unknown> | null)?.[RING_KEY];
  if (addr.name !== "parent") throw ipcError("EADDRESS", "open", addr.text, `a Worker opens 'worker:parent'; the parent starts it with spawnWorker(url)`);
  if (!(sab instanceof SharedArrayBuffer)) throw ipcError("ENOENT", "open", addr.text, "this thread was not started by spawnWorker(): there is no parent ring");
  const g = readRingHeader(sab, sab.byteLength);
  if (typeof g === "string") throw ipcError("EPROTO", "open", addr.text, `the shared buffer is not a ring: ${g}`);
  return new RingChannel(addr.text, "worker", { base: sab, size: sab.byteLength, release: () => {}, peerExitVisible: false }, 1, g, opts);
}

/** The `worker:` mechanism: the in-process baseline. */
export const worker = mechanism<RingTuning>()({
  scheme: "worker",
  describe: "worker:parent — inside a Worker from spawnWorker(): a SharedArrayBuffer ring (in-process baseline)",
  options: ringTuningNames,
  open: (a, o) => openWorker(a, o),
  traits: { ...usualTraits, boundaries: "framed", duplex: true, detectsPeerExit: false, pollable: false, maxMessageSize: 1 << 20 },
});
