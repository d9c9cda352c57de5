/**
 * The registry of named objects ipc-lab created: one small file per object, in a private
 * directory ($XDG_RUNTIME_DIR/ipc-lab, else /tmp/ipc-lab-UID, mode 0700), holding the
 * address and the owner's pid. Owners add themselves on create and leave on close; what a
 * killed owner leaves is what `ipc-lab ls` shows and `ipc-lab gc` removes.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { C } from "../ffi/facts.ts";
import { errno, libc } from "../ffi/runtime.ts";

/** One registered object. */
export interface RegistryEntry {
  address: string;
  pid: number;
  created: string;
  /** whether the owner process still exists */
  alive: boolean;
}

/** The registry directory. */
export function registryDir(): string {
  const base = process.env.IPC_LAB_REGISTRY ?? (process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, "ipc-lab") : `/tmp/ipc-lab-${libc.geteuid()}`);
  return base;
}

/** Addresses that name nothing that could outlive a process (ports, abstract sockets). */
function nameless(address: string): boolean {
  return /^(tcp|udp|fd|eventfd|memfd|worker|signal|popen|spawn):/.test(address) || /^unix(-dgram)?:@/.test(address);
}

const fileOf = (address: string) => join(registryDir(), encodeURIComponent(address));

/** Record that this process owns `address`. Best effort: a registry failure never fails the channel. */
export function register(address: string): void {
  if (nameless(address)) return;
  try {
    mkdirSync(registryDir(), { recursive: true, mode: 0o700 });
    writeFileSync(fileOf(address), JSON.stringify({ address, pid: process.pid, created: new Date().toISOString() }), { mode: 0o600 });
  } catch {
    // an unwritable registry only costs `ipc-lab gc` its knowledge of this object
  }
}

/** The pid of the process that registered `address`, or undefined when none did (or it is unreadable). */
export function ownerOf(address: string): number | undefined {
  if (nameless(address)) return undefined;
  try {
    const pid = (JSON.parse(readFileSync(fileOf(address), "utf8")) as { pid?: unknown }).pid;
    return typeof pid === "number" && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Forget `address` (its owner removed it). */
export function unregister(address: string): void {
  if (nameless(address)) return;
  rmSync(fileOf(address), { force: true });
}

/** Is process pid alive? */
export function alive(pid: number): boolean {
  return libc.kill(pid, 0) === 0 || errno() !== C.ESRCH;
}

/** Every registered object. */
export function entries(): RegistryEntry[] {
  let files: string[];
  try {
    files = readdirSync(registryDir());
  } catch {
    return [];
  }
  const out: RegistryEntry[] = [];
  for (const f of files) {
    try {
      const e = JSON.parse(readFileSync(join(registryDir(), f), "utf8")) as Omit<RegistryEntry, "alive">;
      out.push({ ...e, alive: alive(e.pid) });
    } catch {
      // a half-written record: skip it
    }
  }
  return out;
}
