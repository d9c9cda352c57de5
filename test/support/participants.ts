/**
 * The other processes of the many-process tests (primitives, topics, work queues): a
 * script started on a runtime, whose stdout is read a line at a time, each line JSON.
 */
import { type ChildProcess, type RuntimeName, scriptCommand, spawnProcess } from "../../ffi/process.ts";
import { track } from "./leaks.ts";
import { lineReader } from "./lines.ts";
import { peerRuntime } from "./runtimes.ts";

/** A started participant. */
export interface Participant {
  child: ChildProcess;
  /** the next line of its stdout */
  line(): Promise<string>;
  /** every line left, parsed, once it has exited */
  lines(): Promise<Record<string, unknown>[]>;
  /** its last line, parsed, once it has exited (its report) */
  report<T = Record<string, unknown>>(): Promise<T>;
}

/** Start `script` with `args` on runtime `on` (default: the peer runtime), tracked for the leak check. */
export function participant(script: string, args: string[], on: RuntimeName = peerRuntime()): Participant {
  const child = track(spawnProcess(scriptCommand(script, args, on), { stdio: ["ignore", "pipe", "inherit"] }));
  const out = lineReader(child.stdout!);
  const lines = async () => {
    const text = await out.rest();
    await child.exited;
    return text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  return { child, line: () => out.line(), lines, report: async <T>() => ((await lines()).pop() ?? {}) as T };
}

/** The runtime that is not the peer runtime: for tests that mix both. */
export const otherRuntime: RuntimeName = peerRuntime() === "bun" ? "deno" : "bun";
