/**
 * Run a whole program (a small benchmark, a CLI command) to its end under a limit of the
 * test's own, below the runner's: a run that hangs then fails *saying where* — its output so
 * far (the benchmark's progress lines name the row) and every process it left, with state
 * and kernel wait — instead of the runner's bare timeout and a leak check that only names
 * the processes it killed.
 */
import { readFileSync } from "node:fs";
import { spawnProcess } from "../../ffi/process.ts";
import { track } from "./leaks.ts";
import { killEach, liveDescendants } from "./system-state.ts";

/** How long a hung run has, once told to stop (SIGINT), before what is left is killed. */
const STOP_GRACE_MS = 5000;

/** What a run that ended printed, and its exit status (128 + signal when a signal ended it). */
export interface BoundedResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The text of a readable stream, collected as it comes (so a full pipe never stalls the writer). */
function collect(stream: ReadableStream<Uint8Array> | null): { text: () => string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    if (!stream) return;
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

/** One line per descendant process: pid, scheduler state, kernel wait channel, command line. */
export function describeDescendants(): string[] {
  const out: string[] = [];
  for (const [pid] of liveDescendants()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      const wchan = readFileSync(`/proc/${pid}/wchan`, "utf8") || "-";
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      out.push(`${pid} ${state} ${wchan} ${cmd}`);
    } catch {
      // it ended while we looked
    }
  }
  return out;
}

/**
 * Run `cmd` with stdout and stderr read as they come. If it has not ended within `limitMs`,
 * describe every descendant of this process, stop the run (SIGINT, then SIGKILL for what is
 * left after STOP_GRACE_MS), and throw an error carrying that
 * description and the run's output so far.
 */
export async function runBounded(cmd: string[], limitMs: number): Promise<BoundedResult> {
  const p = track(spawnProcess(cmd, { stdio: ["ignore", "pipe", "pipe"] }));
  const [out, err] = [collect(p.stdout), collect(p.stderr)];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<"hung">((r) => (timer = setTimeout(() => r("hung"), limitMs)));
  const ended = await Promise.race([p.exited, limit]);
  clearTimeout(timer);
  if (ended === "hung") {
    const processes = describeDescendants();
    // asked first, as Ctrl-C asks: its stop handlers remove what it made (servers, namespaces)
    p.kill("SIGINT");
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, STOP_GRACE_MS))]);
    killEach(liveDescendants().keys());
    await p.exited;
    throw new Error(
      `${cmd.join(" ")}\nstill running after ${limitMs / 1000} s: a hang. Its processes (pid state wait command):\n  ` +
        `${processes.join("\n  ")}\nits stderr so far:\n${err.text()}\nits stdout so far:\n${out.text()}`,
    );
  }
  await Promise.all([out.done, err.done]);
  return { code: ended, stdout: out.text(), stderr: err.text() };
}
