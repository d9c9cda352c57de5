/**
 * Compiles the shim (ffi/shim/*.c) with the system C compiler on first use, into a cache directory
 * keyed by the hash of the sources, so no npm postinstall step is needed and a changed
 * shim is rebuilt automatically. Concurrent first uses (many test processes) are safe:
 * each compiles to a private temporary name and renames it into place atomically.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { sourceFile } from "./paths.ts";

const shimDir = sourceFile("ffi/shim");

/**
 * The C sources the shim is built from, one file per concern (their contents make the cache
 * key). Listed when asked, not at import, so that a missing permission (Deno) fails where
 * ffi/runtime.ts can say which flags to give.
 */
export function shimSources(): string[] {
  return [
    ...readdirSync(shimDir)
      .filter((f) => f.endsWith(".c") || f.endsWith(".h"))
      .sort()
      .map((f) => join(shimDir, f)),
    sourceFile("ffi/ipcl_ring.h"),
  ];
}

/** Where compiled shims live: $IPC_LAB_CACHE, else $XDG_CACHE_HOME/ipc-lab, else ~/.cache/ipc-lab. */
function cacheDir(): string {
  const env = process.env;
  if (env.IPC_LAB_CACHE) return env.IPC_LAB_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "ipc-lab");
}

/** The C compiler to use: $CC, else `cc`. */
function compilerName(): string {
  return process.env.CC || "cc";
}

/**
 * A 64-bit hash of `parts` (each one's length, then its bytes), as 16 hex digits: two 32-bit
 * lanes mixed with Math.imul (cyrb53's mixing). A cache key that changes when a source does,
 * not a digest against tampering — and no node:crypto (its only use), whose import every
 * process loading the shim paid: the library's import fell 148 → 132 ms on Node, 73 → 68
 * on Bun, with msgpackr loaded lazily beside it (lib/values/codec.ts).
 */
export function contentKey(parts: Uint8Array[]): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  const mix = (b: number) => {
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  };
  for (const p of parts) {
    mix(p.length & 0xff), mix((p.length >>> 8) & 0xff), mix((p.length >>> 16) & 0xff), mix(p.length >>> 24);
    for (let i = 0; i < p.length; i++) mix(p[i]!);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0");
}

/**
 * Compile `source` (plus extra flags) into a shared object or executable in the cache, once
 * per content hash, and return its path. Used for the shim and for the C baselines.
 */
export function compileCached(opts: { name: string; sources: string[]; flags: string[]; ext: string }): string {
  const key = contentKey([...opts.sources.map((s) => readFileSync(s)), new TextEncoder().encode(opts.flags.join(" "))]);
  const dir = cacheDir();
  const out = join(dir, `${opts.name}-${key}${opts.ext}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const cc = compilerName();
  const cFiles = opts.sources.filter((s) => s.endsWith(".c"));
  const res = spawnSync(cc, [...opts.flags, "-o", tmp, ...cFiles], { encoding: "utf8" });
  if (res.error && (res.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error(
      `ipc-lab needs a C compiler to build its native shim, and '${cc}' was not found. ` +
        `Install one (Debian/Ubuntu: apt-get install gcc; Fedora: dnf install gcc) or set CC to its path.`,
    );
  }
  if (res.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`ipc-lab could not compile ${cFiles.join(" ")} with '${cc}':\n${res.stderr || res.error}`);
  }
  renameSync(tmp, out);
  return out;
}

/** Path of the compiled shim, building it if this version has not been built yet. */
export function shimLibraryPath(): string {
  return compileCached({
    name: "shim",
    sources: shimSources(),
    // -z nodelete: the shim starts threads (stop signals, the test watchdog) and installs
    // signal handlers; Deno's test runner closes a module's FFI libraries when the module
    // ends, and unmapping the code under them crashed the next module (SIGSEGV)
    flags: ["-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-pthread", "-Wl,-z,nodelete"],
    ext: ".so",
  });
}
