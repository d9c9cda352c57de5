/**
 * Leak checks shared by the test files: every name a test made carries a unique prefix,
 * and at the end nothing with that prefix may remain, nor anything else the kernel shows
 * that was not there before the file ran (./system-state.ts), nor any descendant process.
 * Every test file ends with checkLeaks() (./check-leaks.ts); test/leaks.test.ts plants each kind of leak and
 * shows that the check fails.
 */
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "../../lib/index.ts";
import { IpcError } from "../../lib/errors.ts";
import { watchStopSignals } from "../../lib/os/stop.ts";
import { entries, registryDir, unregister } from "../../lib/names/registry.ts";
import { cstr, libc, shim } from "../../ffi/runtime.ts";
import { idleWaiterFds } from "../../ffi/waiter.ts";
import { natsThreadFds } from "../../lib/channels/nats.ts";
import { added, killEach, liveDescendants, openFds, snapshot, type SystemState } from "./system-state.ts";

/** A prefix unique to this test process: "ipcl-t<pid>-<file tag>-". */
export function testPrefix(tag: string): string {
  return `ipcl-t${process.pid}-${tag}-`;
}

/** Private directories made by this module instance: the file's last leak check reports what is in them and removes them. */
const privateDirs = new Set<string>();

/** A private temporary directory for FIFOs and sockets; removed by the file's last leak check (helpers make it again when they need it). */
export function privateDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), testPrefix(tag)));
  privateDirs.add(dir);
  // a process that made one and ends without its file's leak check (a peer or probe script
  // importing a test helper, a Deno module): the directory goes with it
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What leak checks need of a child process (Bun.Subprocess and ipc-lab's ChildProcess both fit). */
interface Tracked {
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signalCode: string | number | null;
  readonly exited: Promise<unknown>;
  kill(signal?: number): void;
}

const children = new Set<Tracked>();

/** Spawn a process and remember it so assertNoLeaks can check it is gone. */
export function track<T extends Tracked>(p: T): T {
  children.add(p);
  return p;
}

/** Names a test used under mq: (they cannot be listed: /dev/mqueue is usually not mounted). */
const mqNames = new Set<string>();

/** Remember an mq address so assertNoLeaks can check the queue is gone. */
export function noteMq(address: string): string {
  mqNames.add(address);
  return address;
}

/** Other named objects to check: a description, whether it still exists, how to remove it. */
const probes: { what: string; exists: () => boolean; remove: () => void }[] = [];

/** Check at the end that `what` is gone (and remove it if not, after reporting it). */
export function noteProbe(what: string, exists: () => boolean, remove: () => void): void {
  probes.push({ what, exists, remove });
}

/** A unique System V key for this test process (pid and a counter; never 0). */
let keySerial = 0;
export function testKey(): number {
  return ((process.pid & 0xffff) << 12) | (++keySerial & 0xfff) | 0x40000000;
}

// What the library keeps for the life of the process is part of the starting state, not a
// leak: the stop-signal pipe and thread, and the runtime's own signal descriptors.
watchStopSignals();
/** The machine as the previous check left it (taken when this module loads, then after each check). */
let baseline: SystemState = snapshot();

/** Descriptors the library keeps open on purpose (idle waiter slots' cancel pipes; what the runtime opened for the NATS thread). */
function keptOpen(): Set<string> {
  const kept = [...idleWaiterFds(), ...natsThreadFds()].flatMap((fd) => {
    try {
      return [`fd ${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`];
    } catch {
      return []; // closed since
    }
  });
  return new Set(kept);
}

/** What shared helpers started for the whole file (a nats-server) and stop before the check. */
const beforeCheck: (() => Promise<void>)[] = [];

/** Run `hook` (once) before the next leak check: a helper that started something for the whole file stops it there. */
export function beforeLeakCheck(hook: () => Promise<void>): void {
  beforeCheck.push(hook);
}

/**
 * Everything this test process left behind; [] when clean. Kills stray children (every
 * live descendant, tracked or not) and removes what it can, so one leak is reported once.
 */
export async function leftovers(prefix: string, dirs: string[] = [], endOfFile = false): Promise<string[]> {
  for (const hook of beforeCheck.splice(0)) await hook();
  const out: string[] = [];
  // every descendant, listed before any is killed: a killed child's own children (a server it
  // started) are handed to init at once and would no longer show as ours
  const descendants = liveDescendants();
  const tracked = new Set([...children].map((p) => p.pid));
  for (const p of children) {
    if (p.exitCode === null && p.signalCode === null) {
      out.push(`child process ${p.pid} still running`);
      p.kill(9);
      await p.exited;
    }
  }
  children.clear();
  // descendants nobody tracked: a grandchild, or a child spawned around the helpers
  const untracked = [...descendants].filter(([pid]) => !tracked.has(pid)); // (the tracked ones: reported above)
  for (const [, what] of untracked) out.push(what);
  killEach(untracked.map(([pid]) => pid));
  for (const f of readdirSync("/dev/shm")) if (f.includes(prefix)) out.push(`/dev/shm/${f}`);
  for (const a of mqNames) {
    try {
      open(a).close();
      out.push(`queue ${a}`);
      libc.mq_unlink(cstr(a.slice("mq:".length))); // report it, but leave the machine clean
    } catch (e) {
      if (!(e instanceof IpcError && e.code === "ENOENT")) throw e;
    }
  }
  mqNames.clear();
  for (const p of probes.splice(0)) {
    if (p.exists()) {
      out.push(p.what);
      p.remove();
    }
  }
  // the registry of owned names: a name this test owned must have been unregistered
  for (const e of entries()) {
    if (!e.address.includes(prefix)) continue;
    out.push(`registry entry ${e.address}`);
    unregister(e.address);
  }
  const openers = join(registryDir(), "openers");
  for (const f of existsSync(openers) ? readdirSync(openers) : []) {
    if (!decodeURIComponent(f).includes(prefix)) continue;
    out.push(`registry opener record ${decodeURIComponent(f)}`);
    rmSync(join(openers, f), { force: true });
  }
  // a test file's own directories; at the end of a file, also those its helpers made (a Deno
  // module runs on a thread of its own, whose end runs no process "exit" handler)
  for (const d of new Set([...dirs, ...(endOfFile ? privateDirs : [])])) {
    if (!existsSync(d)) continue; // another suite sharing the directory checked it first
    for (const f of readdirSync(d)) out.push(join(d, f));
    rmSync(d, { recursive: true, force: true });
  }
  // what the kernel shows that was not there before, whatever its name
  const kept = keptOpen();
  const now = await settled(snapshot(), kept);
  for (const x of added(baseline, now)) if (!kept.has(x) && !out.includes(x)) out.push(x);
  removeLeaked(added(baseline, now));
  baseline = snapshot();
  return out;
}

/**
 * `now`, with the descriptors that closed within a second taken out. A runtime closes a
 * finished child's piped stdio (Bun.spawn's socketpairs) from its own threads a little after
 * the child's exit is seen — later under load — so a descriptor is a leak only once it
 * has stayed open past that.
 */
async function settled(now: SystemState, kept: Set<string>): Promise<SystemState> {
  const extra = () => added(baseline, now).filter((x) => x.startsWith("fd ") && !kept.has(x));
  for (let i = 0; i < 100 && extra().length > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const still = openFds();
    now = { ...now, fds: new Set([...now.fds].filter((x) => still.has(x))) };
  }
  return now;
}

/** Remove leaked names the kernel listed, so that the next file starts clean. */
function removeLeaked(items: string[]): void {
  for (const x of items) {
    let m: RegExpExecArray | null;
    if ((m = /^\/dev\/shm\/(.+)$/.exec(x))) rmSync(x, { force: true });
    else if ((m = /^queue mq:(\/.+)$/.exec(x))) libc.mq_unlink(cstr(m[1]!));
    else if ((m = /^System V (shm|msg|sem) key -?\d+ id (\d+)$/.exec(x))) {
      ({ shm: shim.ipcl_shm_remove, msg: shim.ipcl_msg_remove, sem: shim.ipcl_sem_remove })[m[1] as "shm"](Number(m[2]));
    } else if ((m = /^(?:FIFO|socket|directory) (\/.+)$/.exec(x))) rmSync(m[1]!, { force: true, recursive: true });
  }
}
