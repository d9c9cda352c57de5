/**
 * What a message costs ipc-lab beyond C, with no scheduler in the way: in one process, send
 * one message and receive it again, N times, per mechanism — beside the same loop in C
 * (`bench/c/baseline.c MECH inproc …`) and a getpid() loop through the FFI (the crossing's
 * own cost). Both ends in one process means no wake-up, no context switch: what is left is
 * the kernel call and, for ipc-lab, the JavaScript around it and the FFI crossing. Each row
 * runs in a fresh process (`inprocInChild`), as a program using one mechanism would: in the
 * benchmark's own process, hundreds of earlier rows have made the channel code's call sites
 * polymorphic, which cost up to 1.5× more per message.
 *
 *   bun bench/inproc.ts MECH|getpid|shm-js SIZE COUNT     prints the row as JSON
 */
import type { Channel } from "../lib/index.ts";
import { listen, open } from "../lib/index.ts";
import { createEventfd, pipePair, socketPair } from "../lib/public/mechanisms.ts";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ffiCallNs } from "./ffi-cost.ts";
import { isMainModule, scriptCommand } from "../ffi/process.ts";
import type { Row } from "./measure.ts";

/** The mechanisms measured in one process, each with a C counterpart of the same name. */
export const INPROC_MECHS = ["pipe", "unix", "tcp", "mq", "sysv-mq", "eventfd", "shm"] as const;
export type InprocMech = (typeof INPROC_MECHS)[number];

/**
 * The shm row once more with the ring's other way of copying (RingTuning.hotPath "js": the
 * JavaScript over the mapping, the default on Node; Bun and Deno default to the shim's one
 * call per send or receive): both measured side by side, as the choice was made.
 */
export const RING_JS_ROW = "shm (js hot path)";

/** A sender and a receiver in this process (the same channel where the mechanism is a shared queue). */
function pairOf(m: InprocMech, tag: string, hotPath?: "js"): { tx: Channel; rx: Channel; close(): void } {
  const both = (tx: Channel, rx: Channel, more: () => void = () => {}) => ({ tx, rx, close: () => (tx.close(), rx.close(), more()) });
  switch (m) {
    case "pipe": {
      const [a, b] = pipePair();
      return both(a, b);
    }
    case "unix": {
      const [a, b] = socketPair();
      return both(a, b);
    }
    case "tcp": {
      const l = listen("tcp:127.0.0.1:0");
      const a = open(l.address, { timeout: 5000 });
      const b = l.accept({ timeout: 5000 })!;
      return both(a, b, () => l.close());
    }
    case "mq": {
      const q = open(`mq:/ipcl-inproc-${tag}`, { create: true });
      return { tx: q, rx: q, close: () => q.close() };
    }
    case "sysv-mq": {
      const q = open(`sysv-mq:${0x49500000 + (process.pid & 0xfffff)}`, { create: true });
      return { tx: q, rx: q, close: () => q.close() };
    }
    case "eventfd": {
      const e = createEventfd();
      return { tx: e, rx: e, close: () => e.close() };
    }
    case "shm": {
      const a = open(`shm:/ipcl-inproc-${tag}`, { create: true, hotPath });
      const b = open(`shm:/ipcl-inproc-${tag}`, { hotPath });
      return both(a, b);
    }
  }
}

/** ns per send + receive of one `size`-byte message (eventfd: its 8 B counter), in this process. */
export function inprocRow(m: InprocMech, size: number, count: number, hotPath?: "js"): Row {
  const { tx, rx, close } = pairOf(m, `${process.pid}-${m}`, hotPath);
  const s = m === "eventfd" ? 8 : size;
  const msg = m === "eventfd" ? new Uint8Array(new BigUint64Array([1n]).buffer) : new Uint8Array(s);
  const buf = new Uint8Array(Math.max(rx.caps.maxMessageSize, 8));
  try {
    const loop = (n: number) => {
      for (let i = 0; i < n; i++) {
        tx.send(msg);
        rx.recvInto(buf);
      }
    };
    loop(Math.min(20_000, count)); // warm: the JIT compiles the loop
    const t0 = performance.now();
    loop(count);
    const ns = ((performance.now() - t0) * 1e6) / count;
    return {
      impl: "ipc-lab",
      mechanism: hotPath ? RING_JS_ROW : m,
      pattern: "inproc",
      mode: "sync",
      placement: "unpinned",
      size: s,
      count,
      mean_ns: ns,
      p50_ns: ns,
    };
  } finally {
    close();
  }
}

/** ns per getpid() through the FFI (bench/ffi-cost.ts, the header's figure): the crossing's own cost. */
export function ffiRow(): Row {
  const ns = ffiCallNs();
  return {
    impl: "ipc-lab",
    mechanism: "getpid (FFI)",
    pattern: "inproc",
    mode: "sync",
    placement: "unpinned",
    size: 0,
    count: 1_000_000,
    mean_ns: ns,
    p50_ns: ns,
  };
}

/**
 * How many fresh processes measure each in-process row, ipc-lab's and C's alike. A process
 * settles in one of two modes and keeps it (under Node, send + receive on the ring's
 * JavaScript path read 148–159 ns in some processes and 265–282 in others, alternating at
 * random); one process a row let a full run's table swing by up to 1.4×.
 */
export const INPROC_PROCESSES = 3;

/** The fastest of INPROC_PROCESSES measurements of a row (each in a process of its own). */
export function fastestOf(measure: () => Row): Row {
  let best: Row | undefined;
  for (let i = 0; i < INPROC_PROCESSES; i++) {
    const r = measure();
    if (best === undefined || (r.mean_ns ?? Infinity) < (best.mean_ns ?? Infinity)) best = r;
  }
  return best!;
}

/** The same row measured in a fresh process of this runtime (see the top of this file). */
export function inprocInChild(m: InprocMech | "getpid" | "shm-js", size: number, count: number): Row {
  const [bin, ...args] = scriptCommand(fileURLToPath(import.meta.url), [m, String(size), String(count)]);
  const r = spawnSync(bin!, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`in-process ${m} failed: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout.trim()) as Row;
}

if (isMainModule(import.meta)) {
  const [m, size, count] = process.argv.slice(2);
  const row = m === "getpid"
    ? ffiRow()
    : m === "shm-js"
    ? inprocRow("shm", Number(size), Number(count), "js")
    : inprocRow(m as InprocMech, Number(size), Number(count));
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
