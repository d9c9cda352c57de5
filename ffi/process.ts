/**
 * The runtime services other than FFI that differ between Bun and Deno: starting a child
 * with extra inherited descriptors, a synchronous sleep, a nanosecond clock, and the
 * command line that runs a script on this runtime. lib/ and the tools use these and never
 * test which runtime they run on.
 *
 * Children: `Bun.spawn` passes numbers at stdio[3..] as the child's fds 3..; on Deno,
 * `Deno.Command` cannot pass descriptors beyond stdio, while `node:child_process.spawn`
 * with `stdio[3] = fd` can (docs/deno.md).
 */
import { spawn as nodeSpawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { C } from "./facts.ts";
import { libc } from "./runtime.ts";
import { packageRoot, runnablePath } from "./paths.ts";

/** A JavaScript runtime ipc-lab runs on. */
export type RuntimeName = "bun" | "deno" | "node";

/** Which runtime this is. */
export const runtime: RuntimeName = (() => {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
})();

/** Whether a runtime runs TypeScript sources (Node 20 runs the compiled JavaScript in dist/). */
export const runsTypeScript = (which: RuntimeName): boolean => which !== "node";

/**
 * The Deno permissions ipc-lab needs: all of them. Deno lets only --allow-all read /proc
 * and /dev (queue limits, eventfd modes, thread names, /dev/shm for `gc`), and
 * --allow-ffi alone already gives native code everything, so narrower flags would be a
 * sandbox in name only.
 */
export const DENO_PERMISSIONS = ["--allow-all"] as const;

/** One of a child's standard streams, or (from index 3 on) a descriptor number to pass. */
export type StdioSpec = "inherit" | "pipe" | "ignore" | number;

/** Options for spawnProcess. */
export interface ProcessOptions {
  /** [stdin, stdout, stderr, fd3, fd4, ...]; missing entries inherit (0-2) */
  stdio?: StdioSpec[];
  /** the child's whole environment (default: ours) */
  env?: Record<string, string | undefined>;
  /** working directory */
  cwd?: string;
}

/** A child process, the same on both runtimes. */
export interface ChildProcess {
  readonly pid: number;
  /** resolves when the child has ended, to its exit status: exit code, or 128 + signal number */
  readonly exited: Promise<number>;
  /** its exit code once ended (null while running, or when a signal ended it) */
  readonly exitCode: number | null;
  /** the signal that ended it ("SIGKILL"), or null */
  readonly signalCode: string | null;
  /** its stdout when stdio[1] was "pipe" */
  readonly stdout: ReadableStream<Uint8Array> | null;
  /** its stderr when stdio[2] was "pipe" */
  readonly stderr: ReadableStream<Uint8Array> | null;
  /** Send a signal (default SIGTERM); does nothing once it has ended. */
  kill(signal?: number | NodeJS.Signals): void;
}

/** 128 + signal number for a signal name, the shell's convention for "killed by". */
function statusOf(code: number | null, signal: string | number | null): number {
  if (code !== null) return code;
  if (typeof signal === "number") return 128 + signal;
  return 128 + (signal ? (constants.signals[signal as NodeJS.Signals] ?? 0) : 0);
}

function spawnBun(cmd: string[], stdio: StdioSpec[], opts: ProcessOptions): ChildProcess {
  const p = Bun.spawn(cmd, { stdio: stdio as never, env: opts.env ?? process.env, cwd: opts.cwd });
  const stream = (s: unknown) => (s instanceof ReadableStream ? (s as ReadableStream<Uint8Array>) : null);
  return {
    pid: p.pid,
    exited: p.exited.then(() => statusOf(p.exitCode, p.signalCode)),
    get exitCode() {
      return p.exitCode;
    },
    get signalCode() {
      return typeof p.signalCode === "number" ? `signal ${p.signalCode}` : p.signalCode;
    },
    stdout: stream(p.stdout),
    stderr: stream(p.stderr),
    kill: (signal) => p.kill(signal),
  };
}

function spawnNode(cmd: string[], stdio: StdioSpec[], opts: ProcessOptions): ChildProcess {
  const [file, ...args] = cmd;
  // Deno's spawn clears O_NONBLOCK on descriptors it passes, and that flag belongs to the
  // open file description, which our own end often shares (a dup of the same eventfd or
  // socket): put the flags back once the child has exec'd (spawn returns after that).
  const passed = stdio.filter((s): s is number => typeof s === "number");
  const flags = passed.map((fd) => libc.fcntl(fd, C.F_GETFL, 0));
  const p = nodeSpawn(file!, args, { stdio, env: (opts.env ?? process.env) as NodeJS.ProcessEnv, cwd: opts.cwd });
  passed.forEach((fd, i) => {
    if (flags[i]! >= 0) libc.fcntl(fd, C.F_SETFL, flags[i]!);
  });
  let exitCode: number | null = null;
  let signalCode: string | null = null;
  const exited = new Promise<number>((resolve, reject) => {
    p.once("exit", (code, signal) => {
      exitCode = code;
      signalCode = signal ?? null;
      resolve(statusOf(code, signal));
    });
    p.once("error", reject);
  });
  if (p.pid === undefined) {
    // node reports a failed start asynchronously; Bun.spawn throws: make both throw
    exited.catch(() => {});
    throw new Error(`could not start ${file}: no such program, or not executable`);
  }
  const web = (s: Readable | null) => (s ? (Readable.toWeb(s) as ReadableStream<Uint8Array>) : null);
  return {
    pid: p.pid,
    exited,
    get exitCode() {
      return exitCode;
    },
    get signalCode() {
      return signalCode;
    },
    stdout: web(p.stdout),
    stderr: web(p.stderr),
    kill: (signal) => {
      // process.kill, not p.kill: Deno's ChildProcess.kill sends only its first signal
      // (it marks the child killed), so a SIGWINCH would swallow a later SIGINT
      if (exitCode === null && signalCode === null) process.kill(p.pid!, signal ?? "SIGTERM");
    },
  };
}

/**
 * Start `cmd` with the given stdio; numbers from stdio[3] on become the child's fds 3, 4, ...
 * Throws when the program cannot be started. The caller closes its copies of passed fds.
 */
export function spawnProcess(cmd: string[], opts: ProcessOptions = {}): ChildProcess {
  const stdio: StdioSpec[] = [...(opts.stdio ?? [])];
  for (let i = 0; i < 3; i++) stdio[i] ??= "inherit";
  return runtime === "bun" ? spawnBun(cmd, stdio, opts) : spawnNode(cmd, stdio, opts);
}

/**
 * The executable of a runtime: ours is process.execPath; another one is $IPC_LAB_BUN,
 * $IPC_LAB_DENO or $IPC_LAB_NODE, else the copy npm installed next to ipc-lab (node_modules/.bin), else
 * whatever PATH finds.
 */
export function runtimeBinary(which: RuntimeName): string {
  if (which === runtime) return process.execPath;
  const fromEnv = process.env[`IPC_LAB_${which.toUpperCase()}`];
  if (fromEnv) return fromEnv;
  const local = join(packageRoot, "node_modules", ".bin", which);
  return existsSync(local) ? local : which;
}

/**
 * The command line that runs the script `path` (a .ts file of the sources) on a runtime
 * (default: this one): with ipc-lab's permissions on Deno, as its compiled .js on Node.
 */
export function scriptCommand(path: string, args: string[] = [], on: RuntimeName = runtime): string[] {
  const bin = runtimeBinary(on);
  const file = runnablePath(path, runsTypeScript(on));
  return on === "deno" ? [bin, "run", ...DENO_PERMISSIONS, file, ...args] : [bin, file, ...args];
}
/**
 * Whether the module of `meta` (its import.meta) is the script this process was started
 * with: import.meta.main on Bun and Deno; on Node 20, which has none, argv[1] compared.
 */
export function isMainModule(meta: { url: string; main?: boolean }): boolean {
  if (typeof meta.main === "boolean") return meta.main;
  const script = process.argv[1];
  return script !== undefined && existsSync(script) && realpathSync(script) === fileURLToPath(meta.url);
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Block this thread for `ms` milliseconds (sync calls block like C would). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** A monotonic clock in nanoseconds, as precise as the runtime offers. */
export const nanoseconds: () => number = runtime === "bun"
  ? () => Bun.nanoseconds()
  : runtime === "node"
  ? () => Number(process.hrtime.bigint())
  : () => performance.now() * 1e6;
