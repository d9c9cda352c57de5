/**
 * What a test process can leave on the machine, read from the kernel rather than from a
 * list of names the tests remembered: /dev/shm entries, POSIX queues (listed through a
 * private mount of the mqueue filesystem, since /dev/mqueue is usually not mounted),
 * System V objects of this user, FIFOs and sockets under the temporary directories (and
 * ipc-lab's private socket directory),
 * abstract unix names, bound TCP/UDP ports, this process's open descriptors, and its live
 * descendants. leaks.ts compares a snapshot against the one taken before.
 */
import { spawn } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../ffi/runtime.ts";
import { sleepSync } from "../../ffi/process.ts";
import { runSync } from "./run-sync.ts";

/** Everything leak-worthy, each as a set of human-readable descriptions. */
export interface SystemState {
  shm: Set<string>;
  /** undefined when queues cannot be listed here (no unshare): then registry and noted names only */
  mqueues: Set<string> | undefined;
  sysv: Set<string>;
  tmpNodes: Set<string>;
  abstract: Set<string>;
  ports: Set<string>;
  fds: Set<string>;
}

const uid = libc.geteuid();

/**
 * POSIX queues of this IPC namespace, through a private mount of the mqueue filesystem:
 * a helper process in a mount namespace of its own with the mqueue filesystem on its /tmp,
 * read through /proc/PID/root — one helper per test process (shared by a Deno run's
 * modules through the environment), not a child per snapshot; it ends with this process
 * (tail --pid). Where no helper can start (no unshare, not root), a child per listing, as
 * before; undefined when neither works.
 */
function listQueues(): Set<string> | undefined {
  const names = queueHelper ? readQueueDir(queueHelper) : undefined;
  if (names) return new Set(names.map((n) => `queue mq:/${n}`));
  // a private mount point: /dev/mqueue may not even exist, and mounting there would change the machine
  const script = 'd=$(mktemp -d) && mount -t mqueue none "$d" && ls -A "$d"; s=$?; umount "$d" 2>/dev/null; rmdir "$d"; exit $s';
  const r = runSync("unshare", ["-m", "sh", "-c", script]);
  if (r.status !== 0) return undefined;
  return new Set(r.stdout.split("\n").filter((l) => l !== "").map((n) => `queue mq:/${n}`));
}

/** The queue helper's mount, as /proc/PID/root/tmp: its entries, or undefined once it is gone. */
function readQueueDir(pid: number): string[] | undefined {
  try {
    return readdirSync(`/proc/${pid}/root/tmp`);
  } catch {
    return undefined;
  }
}

const HELPER_ENV = "IPCL_TEST_QUEUE_HELPER";

/** Start the queue helper, or find the one this process already has; its pid, or undefined. */
function startQueueHelper(): number | undefined {
  const known = Number(process.env[HELPER_ENV] ?? 0);
  if (known > 0 && readQueueDir(known) !== undefined && readFileSync(`/proc/${known}/stat`, "utf8").split(" ")[3] === String(process.pid)) return known;
  // the mount is private to the helper's namespace (unshare makes mounts private): the machine's /tmp is untouched
  const script = `mount -t mqueue none /tmp && exec tail --pid=${process.pid} -f /dev/null`;
  const child = spawn("unshare", ["-m", "sh", "-c", script], { stdio: "ignore" });
  child.unref();
  child.on("error", () => {});
  const pid = child.pid;
  if (!pid) return undefined;
  for (const end = performance.now() + 3000; performance.now() < end; sleepSync(5)) {
    if (readQueueDir(pid) !== undefined && readlinkSync(`/proc/${pid}/exe`).endsWith("tail")) {
      process.env[HELPER_ENV] = String(pid);
      process.on("exit", () => child.kill("SIGKILL"));
      return pid;
    }
    if (child.exitCode !== null) return undefined;
  }
  child.kill("SIGKILL");
  return undefined;
}

// started before any snapshot, so that whatever descriptor the runtime keeps for a live
// child is in every snapshot alike
const queueHelper = startQueueHelper();

/** System V objects of this user: "sysv shm key 0x… id N" lines from /proc/sysvipc. */
function sysvObjects(): Set<string> {
  const out = new Set<string>();
  for (const kind of ["shm", "msg", "sem"] as const) {
    const path = `/proc/sysvipc/${kind}`;
    if (!existsSync(path)) continue;
    const [header, ...rows] = readFileSync(path, "utf8").trim().split("\n");
    const cols = header!.trim().split(/\s+/);
    const [k, i, u] = ["key", kind === "sem" ? "semid" : kind === "msg" ? "msqid" : "shmid", "uid"].map((c) => cols.indexOf(c));
    for (const row of rows) {
      const f = row.trim().split(/\s+/);
      if (Number(f[u!]) !== uid) continue;
      out.add(`System V ${kind} key ${Number(f[k!])} id ${f[i!]}`);
    }
  }
  return out;
}

/** FIFOs and sockets up to three levels below the temporary directories. */
function tmpNodes(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // not ours to read, or gone meanwhile
    }
    for (const n of names) {
      const p = join(dir, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isFIFO()) out.add(`FIFO ${p}`);
      else if (st.isSocket()) out.add(`socket ${p}`);
      // ipc-lab's private socket directory: tests point it elsewhere, so a new one is a leak
      else if (st.isDirectory() && /^ipc-lab-sockets/.test(n)) out.add(`directory ${p}`);
      // (not into a package tree or a repository: a clone under /tmp, as CI makes, holds thousands of entries and no test's socket)
      else if (st.isDirectory() && depth > 0 && n !== "node_modules" && n !== ".git") walk(p, depth - 1);
    }
  };
  for (const d of new Set([tmpdir(), "/tmp", process.env.XDG_RUNTIME_DIR].filter((d): d is string => !!d))) walk(d, 3);
  return out;
}

/** Bound abstract unix socket names (@name) on the machine. */
function abstractNames(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync("/proc/net/unix", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[7]!.startsWith("@")) out.add(`abstract unix name ${f[7]}`);
  }
  return out;
}

/** Listening TCP and bound UDP sockets: "tcp 127.0.0.1:PORT (inode N)". */
function boundPorts(): Set<string> {
  const out = new Set<string>();
  for (const proto of ["tcp", "tcp6", "udp", "udp6"]) {
    const path = `/proc/net/${proto}`;
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (proto.startsWith("tcp") && f[3] !== "0A") continue; // LISTEN only: connections are fds
      const port = parseInt(f[1]!.split(":")[1]!, 16);
      if (port === 0) continue;
      out.add(`${proto} port ${port} (socket inode ${f[9]})`);
    }
  }
  return out;
}

/** This process's open descriptors that could be IPC objects, as "fd N -> target". */
export function openFds(): Set<string> {
  const out = new Set<string>();
  for (const n of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${n}`);
    } catch {
      continue; // the descriptor readdir itself used
    }
    // eventpoll: not IPC, but each runtime Worker (a waiter thread on Bun) opens one beside
    // its eventfd; added() uses them to tell a Worker's eventfd from a leaked one
    if (/^(pipe:|socket:|anon_inode:\[eventfd\]|anon_inode:\[eventpoll\]|\/memfd:|\/dev\/shm\/)/.test(target) || isMqueue(target)) {
      out.add(`fd ${n} -> ${target}`);
    }
  }
  return out;
}

/** A POSIX queue descriptor reads as "/name" on the mqueue filesystem (no such file exists). */
function isMqueue(target: string): boolean {
  return /^\/[^/]+$/.test(target) && !existsSync(target);
}

/** SIGKILL each of `pids` that still exists (one that ended meanwhile is skipped). */
export function killEach(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

/** Every live (not zombie) descendant of this process, as "pid N (comm)". */
export function liveDescendants(): Map<number, string> {
  const parent = new Map<number, number>();
  const info = new Map<number, string>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, "utf8");
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(")");
    const [state, ppid] = stat.slice(close + 2).split(" ");
    if (state === "Z") continue;
    parent.set(Number(e), Number(ppid));
    info.set(Number(e), stat.slice(stat.indexOf("(") + 1, close));
  }
  const out = new Map<number, string>();
  for (const [pid] of parent) {
    if (pid === queueHelper) continue; // the leak check's own helper
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        out.set(pid, `child process ${pid} (${info.get(pid)}) still running`);
        break;
      }
    }
  }
  return out;
}

/** A snapshot of everything above (children are checked live, not diffed). */
export function snapshot(): SystemState {
  // descriptors first, before this snapshot spawns anything (listQueues runs a child)
  const fds = openFds();
  return {
    shm: new Set(readdirSync("/dev/shm").map((f) => `/dev/shm/${f}`)),
    mqueues: listQueues(),
    sysv: sysvObjects(),
    tmpNodes: tmpNodes(),
    abstract: abstractNames(),
    ports: boundPorts(),
    fds,
  };
}

/**
 * What `now` has that `before` had not, kind by kind. A new runtime Worker brings an
 * eventpoll and an eventfd descriptor of its own: as many new eventfds as new eventpolls
 * are the runtime's, not leaks (ipc-lab never makes an eventpoll).
 */
export function added(before: SystemState, now: SystemState): string[] {
  const out: string[] = [];
  for (const k of Object.keys(now) as (keyof SystemState)[]) {
    const b = before[k];
    const n = now[k];
    if (!n) continue;
    for (const x of n) if (!b?.has(x)) out.push(x);
  }
  let workers = out.filter((x) => x.endsWith("anon_inode:[eventpoll]")).length;
  return out.filter((x) => !x.endsWith("anon_inode:[eventpoll]") && !(x.endsWith("anon_inode:[eventfd]") && workers-- > 0));
}
