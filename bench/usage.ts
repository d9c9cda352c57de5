/**
 * Measuring what a side spends: CPU time and context switches (getrusage), and pinning
 * a process or thread to a CPU (sched_setaffinity).
 */
import { shim } from "../ffi/runtime.ts";
import { type ChildProcess, scriptCommand } from "../ffi/process.ts";
import { spawnChild } from "./children.ts";

/** A getrusage(RUSAGE_SELF) reading. */
export interface Usage {
  cpuNs: number;
  switches: number;
}

const cells = new Float64Array(4);

/** Read this process's CPU time (user + system) and context switches (voluntary + involuntary). */
export function usage(): Usage {
  shim.ipcl_rusage(cells);
  return { cpuNs: cells[0]! + cells[1]!, switches: cells[2]! + cells[3]! };
}

/** Per-message cost between two readings. */
export function perMessage(a: Usage, b: Usage, messages: number): { cpu_ns_per_msg: number; ctx_switches_per_msg: number } {
  return { cpu_ns_per_msg: (b.cpuNs - a.cpuNs) / messages, ctx_switches_per_msg: (b.switches - a.switches) / messages };
}

/** Where the two sides run. */
/**
 * Where the two processes run: both pinned to one CPU, pinned to two, placed by the
 * scheduler (unpinned), or placed by the scheduler beside one CPU-bound process the
 * benchmark starts itself (loaded: a busy machine, as users' machines often are).
 */
export type Placement = "same-cpu" | "cross-cpu" | "unpinned" | "loaded";

/** The CPUs for (us, peer) under a placement; -1 = not pinned. */
export function cpusFor(p: Placement): [number, number] {
  return p === "same-cpu" ? [0, 0] : p === "cross-cpu" ? [0, 1] : [-1, -1];
}

/** Pin this whole process (every thread) to cpu; -1 frees it again. */
export function pinProcess(cpu: number): void {
  const r = shim.ipcl_pin_process(cpu);
  if (r < 0) throw new Error(`sched_setaffinity(${cpu}) failed: errno ${-r}`);
}

/** Pin the calling thread to cpu. */
export function pinThread(cpu: number): void {
  const r = shim.ipcl_pin_thread(cpu);
  if (r < 0) throw new Error(`sched_setaffinity(${cpu}) failed: errno ${-r}`);
}

let hosts: readonly string[] = [];
let nextHost = 0;

/**
 * Start the participants of the rows that follow on these network namespaces, in turn (a
 * server on the first, its client on the second: the rows across hosts), or here again ([]).
 */
export function participantsOn(netns: readonly string[]): void {
  hosts = netns;
  nextHost = 0;
}

/**
 * Start `script ARGS` on this runtime as a benchmark participant, pinned to `cpu` (-1: not)
 * through BENCH_CPU; `line()` gives its stdout a line at a time (an error once it has
 * ended, naming `what`).
 */
export function startParticipant(script: string, args: string[], cpu: number, what: string): { p: ChildProcess; line: () => Promise<string> } {
  const host = hosts.length > 0 ? hosts[nextHost++ % hosts.length] : undefined;
  const cmd = scriptCommand(script, args);
  const p = spawnChild(host ? ["ip", "netns", "exec", host, ...cmd] : cmd, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...(cpu >= 0 ? { BENCH_CPU: String(cpu) } : {}) },
  });
  const reader = p.stdout!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const line = async () => {
    while (!buf.includes("\n")) {
      const r = await reader.read();
      if (r.done) throw new Error(`${what} ended early`);
      buf += decoder.decode(r.value, { stream: true });
    }
    const at = buf.indexOf("\n");
    const l = buf.slice(0, at);
    buf = buf.slice(at + 1);
    return l;
  };
  return { p, line };
}
