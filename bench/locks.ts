/**
 * Locks, side by side: a lock+unlock pair of the robust Mutex, a POSIX semaphore
 * (wait+post) and flock(2) (LOCK_EX+LOCK_UN on a file) — uncontended in one process, and
 * contended, with a peer process (bench/lock-peer.ts) taking the same lock in a loop on
 * the other CPU (or the same one) meanwhile.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { C } from "../ffi/facts.ts";
import { cstr, libc, shim } from "../ffi/runtime.ts";
import { nanoseconds, scriptCommand } from "../ffi/process.ts";
import { spawnChild } from "./children.ts";
import { Mutex, Semaphore, SharedMemory } from "../lib/index.ts";
import type { Row } from "./measure.ts";
import { cpusFor, pinProcess, type Placement } from "./usage.ts";

/** The locks compared. */
export const LOCK_KINDS = ["mutex", "sem", "flock"] as const;
/** One of them. */
export type LockKind = (typeof LOCK_KINDS)[number];

/** A lock to take and give back, and how to let it go. */
export interface BenchLock {
  lock(): void;
  unlock(): void;
  close(): void;
}

/** Make (create: true) or open the lock of `kind` at `address`. */
export function openLock(kind: LockKind, address: string, create: boolean): BenchLock {
  if (kind === "mutex") {
    const m = new Mutex(address, { create });
    return { lock: () => void m.lock(), unlock: () => m.unlock(), close: () => m.close() };
  }
  if (kind === "sem") {
    const s = new Semaphore(address, { create, value: create ? 1 : undefined });
    return { lock: () => void s.wait(), unlock: () => s.post(), close: () => s.close() };
  }
  return lockFile(address);
}

/** flock(2) on a file: LOCK_EX, LOCK_UN. */
function lockFile(path: string): BenchLock {
  const fd = shim.ipcl_open(cstr(path), C.O_RDWR | C.O_CLOEXEC, 0);
  if (fd < 0) throw new Error(`cannot open ${path} for flock (errno ${-fd})`);
  const op = (how: number) => {
    const r = shim.ipcl_flock(fd, how);
    if (r < 0) throw new Error(`flock ${path}: errno ${-r}`);
  };
  return { lock: () => op(C.LOCK_EX), unlock: () => op(C.LOCK_UN), close: () => void libc.close(fd) };
}

const peerScript = fileURLToPath(new URL("./lock-peer.ts", import.meta.url));

/** ns per lock+unlock pair over `count` pairs. */
function timePairs(l: BenchLock, count: number): number {
  for (let i = 0; i < Math.min(10_000, count); i++) {
    l.lock();
    l.unlock();
  }
  const t0 = nanoseconds();
  for (let i = 0; i < count; i++) {
    l.lock();
    l.unlock();
  }
  return (nanoseconds() - t0) / count;
}

/**
 * Lock+unlock pairs of `kind`: uncontended (one process), or contended (a peer process
 * loops on the same lock throughout our timed pairs). Rows of pattern "lock".
 */
export async function lockPairs(kind: LockKind, count: number, placement: Placement, contended: boolean): Promise<Row> {
  const tag = `ipcl-bench-lock-${process.pid}-${kind}`;
  const dir = mkdtempSync(join(tmpdir(), tag));
  const address = kind === "mutex" ? `mutex:/${tag}` : kind === "sem" ? `sem:/${tag}` : join(dir, "lock");
  if (kind === "flock") writeFileSync(address, "");
  const l = openLock(kind, address, true);
  const control = contended ? new SharedMemory(`shm:/${tag}-go`, { create: true, size: 4096 }) : undefined;
  const [ours, theirs] = cpusFor(placement);
  if (ours >= 0) pinProcess(ours);
  try {
    if (!control) return row(kind, placement, "uncontended", count, timePairs(l, count));
    const flags = new Int32Array(control.buffer, 0, 2); // [0]: stop, [1]: the peer's pairs so far
    const peer = spawnChild(scriptCommand(peerScript, [kind, address, control.address]), {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, ...(theirs >= 0 ? { BENCH_CPU: String(theirs) } : {}) },
    });
    try {
      const started = performance.now();
      while (Atomics.load(flags, 1) < 10_000) {
        if (performance.now() - started > 20_000) throw new Error(`the ${kind} lock peer did not start`);
        await new Promise((r) => setTimeout(r, 1));
      }
      const ns = timePairs(l, count);
      return row(kind, placement, "contended", count, ns);
    } finally {
      Atomics.store(flags, 0, 1);
      await peer.exited;
    }
  } finally {
    if (ours >= 0) pinProcess(-1);
    l.close();
    control?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function row(kind: LockKind, placement: Placement, mode: "uncontended" | "contended", count: number, ns: number): Row {
  return { impl: "ipc-lab", mechanism: kind, pattern: "lock", mode, placement, size: 0, count, mean_ns: ns, msgs_per_s: 1e9 / ns };
}
