/**
 * What one FFI call costs on each runtime: a loop of getpid() through the runtime's FFI
 * (bun:ffi, Deno.dlopen, koffi on Node), in ns per call — the floor under every message a
 * kernel mechanism sends (one or more calls per operation). For the report's header.
 *
 *   bun bench/ffi-cost.ts        prints {"runtime":"bun","ns":…}
 */
import { spawnSync } from "node:child_process";
import { isMainModule, nanoseconds, runtime, runtimeBinary, type RuntimeName, scriptCommand } from "../ffi/process.ts";
import { libc } from "../ffi/runtime.ts";

const CALLS = 1_000_000;

/** ns per getpid() call on this runtime: the best of 5 rounds of CALLS / 5 (after a warm-up round). */
export function ffiCallNs(): number {
  const round = CALLS / 5;
  let best = Infinity;
  for (let r = 0; r < 6; r++) {
    const t0 = nanoseconds();
    for (let i = 0; i < round; i++) libc.getpid();
    if (r > 0) best = Math.min(best, (nanoseconds() - t0) / round);
  }
  return best;
}

/** The same on every runtime that is there (this one in-process, the others as a child): runtime → ns. */
export function ffiCallCosts(): Partial<Record<RuntimeName, number>> {
  const out: Partial<Record<RuntimeName, number>> = { [runtime]: ffiCallNs() };
  for (const which of ["bun", "deno", "node"] as const) {
    if (which === runtime) continue;
    try {
      const [cmd, ...args] = scriptCommand(new URL(import.meta.url).pathname, [], which);
      const r = spawnSync(cmd ?? runtimeBinary(which), args, { encoding: "utf8", timeout: 60_000 });
      if (r.status === 0) out[which] = (JSON.parse(r.stdout.trim()) as { ns: number }).ns;
    } catch {
      // that runtime is not here (or not built for Node): the header leaves it out
    }
  }
  return out;
}

if (isMainModule(import.meta)) console.log(JSON.stringify({ runtime, ns: ffiCallNs() }));
