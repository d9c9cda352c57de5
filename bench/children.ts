/**
 * The benchmark's child processes (peers, servers, the load it makes): started as
 * spawnProcess starts them, and SIGKILLed should the run go without waiting for them — a
 * stop signal (Ctrl-C, SIGTERM) or an exit — so that a stopped run leaves no process behind.
 */
import { type ChildProcess, type ProcessOptions, spawnProcess } from "../ffi/process.ts";
import { onStop, watchStopSignals } from "../lib/os/stop.ts";

const running = new Set<ChildProcess>();
let hooked = false;

/** spawnProcess, the child killed if this process goes first. */
export function spawnChild(cmd: string[], opts?: ProcessOptions): ChildProcess {
  if (!hooked) {
    hooked = true;
    watchStopSignals();
    onStop(() => {
      for (const c of running) c.kill(9);
    });
  }
  const child = spawnProcess(cmd, opts);
  running.add(child);
  void child.exited.then(() => running.delete(child));
  return child;
}
