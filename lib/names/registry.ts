/**
 * The registry of named objects ipc-lab created: one small file per object, in a private
 * directory ($XDG_RUNTIME_DIR/ipc-lab, else /tmp/ipc-lab-UID, mode 0700), holding the
 * address and the owner's pid. Only names that outlive a process are recorded: callers pass
 * no address for ports and abstract sockets. Owners add themselves on create and leave on close; what a
 * killed owner leaves is what `ipc-lab ls` shows and `ipc-lab gc` removes.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { C } from "../../ffi/facts.ts";
import { libc, sys } from "../../ffi/runtime.ts";

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

const fileOf = (address: string) => join(registryDir(), encodeURIComponent(address));

/**
 * Record that this process (or `pid`: a topic's last participant hands the record on to one
 * still there) owns `address`. Best effort: a registry failure never fails the channel.
 */
export function register(address: string, pid = process.pid): void {
  try {
    mkdirSync(registryDir(), { recursive: true, mode: 0o700 });
    writeFileSync(fileOf(address), JSON.stringify({ address, pid, created: new Date().toISOString() }), { mode: 0o600 });
  } catch {
    // an unwritable registry only costs `ipc-lab gc` its knowledge of this object
  }
}

/** The pid of the process that registered `address`, or undefined when none did (or it is unreadable). */
export function ownerOf(address: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(fileOf(address), "utf8")) as { pid?: unknown }).pid;
    return typeof pid === "number" && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Forget `address` (its owner removed it), and the openers recorded for it. */
export function unregister(address: string): void {
  rmSync(fileOf(address), { force: true });
  for (const pid of openersOf(address)) forgetOpenerRecord(address, pid);
}

// Openers of queues and semaphores record themselves too (in openers/, which entries()
// skips), so that a creator can tell when every process that opened its object has died.
const openersDir = () => join(registryDir(), "openers");
const openerFile = (address: string, pid: number) => join(openersDir(), `${encodeURIComponent(address)}@${pid}`);

/** Record that this process has `address` open (not as its creator). Best effort. */
export function registerOpener(address: string): void {
  try {
    mkdirSync(openersDir(), { recursive: true, mode: 0o700 });
    writeFileSync(openerFile(address, process.pid), "", { mode: 0o600 });
  } catch {
    // without the record the creator's waits end by their timeout only
  }
}

/** Remove the record that process `pid` has `address` open. */
export function forgetOpenerRecord(address: string, pid: number): void {
  rmSync(openerFile(address, pid), { force: true });
}

/** The pids recorded as openers of `address` (alive or not). */
export function openersOf(address: string): number[] {
  const head = `${encodeURIComponent(address)}@`;
  try {
    return readdirSync(openersDir())
      .filter((f) => f.startsWith(head))
      .map((f) => Number(f.slice(head.length)))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/** Remove the records of openers that have died; returns how many. */
export function forgetDeadOpeners(): number {
  let n = 0;
  let files: string[] = [];
  try {
    files = readdirSync(openersDir());
  } catch {
    return 0;
  }
  for (const f of files) {
    const at = f.lastIndexOf("@");
    const pid = Number(f.slice(at + 1));
    if (at > 0 && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      rmSync(join(openersDir(), f), { force: true });
      n++;
    }
  }
  return n;
}

/**
 * Is process pid alive? A zombie is not: it has exited, and kill(2) still finds it only
 * until its parent reaps it — a server that took a SIGKILLed client for alive in that
 * window let it "close" instead of dying, and left its reply FIFO behind.
 */
export function alive(pid: number): boolean {
  if (sys.kill(pid, 0) === -C.ESRCH) return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch (e) {
    return (e as { code?: string }).code !== "ENOENT"; // gone meanwhile; no /proc: kill(2) is all we know
  }
  const state = stat[stat.lastIndexOf(")") + 2]; // "PID (COMM) S ...": COMM may hold spaces and parentheses
  return state !== "Z" && state !== "X";
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
