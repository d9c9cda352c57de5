/**
 * Stop signals: SIGINT, SIGTERM and SIGHUP end a sync call blocked in the kernel promptly
 * (ffi/shim/stop.c interrupts it), and what the process owns is released before it goes.
 * What a stop signal then does:
 *   - the program has no handler of its own for it: the onStop() hooks run (name cleanup
 *     closes everything that owns a name) and the process exits with 128 + the signal
 *     number, as the default action would have ended it;
 *   - the program has its own `process.on(signal)` handler: the blocked call throws IpcError
 *     EINTR ("interrupted by SIGINT"), so the stack unwinds and the handler runs; nothing is
 *     released until the program closes it or exits.
 * SIGKILL cannot be caught: names left by a killed owner are what `ipc-lab gc` is for.
 */
import { isMainThread } from "node:worker_threads";
import { C } from "../../ffi/facts.ts";
import { shim } from "../../ffi/runtime.ts";
import { IpcError, onInterrupt } from "../errors.ts";

type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";
const stopSignals: Record<number, StopSignal> = { [C.SIGINT]: "SIGINT", [C.SIGTERM]: "SIGTERM", [C.SIGHUP]: "SIGHUP" };

const hooks = new Set<() => void>();
const ours = new Map<StopSignal, () => void>();
let installed = false;

/**
 * Run `hook` when the process goes: at normal exit, or on a stop signal it does not handle
 * itself. Returns what takes the hook back (its work done before the process goes).
 */
export function onStop(hook: () => void): () => void {
  hooks.add(hook);
  return () => void hooks.delete(hook);
}

function runHooks(): void {
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // best effort at exit: one failing hook must not keep the others from running
    }
  }
}

/** Whether the program has a handler of its own for `sig` (besides ipc-lab's). */
function programHandles(sig: StopSignal): boolean {
  const mine = ours.get(sig);
  return process.listeners(sig).some((l) => l !== mine);
}

/** Do what the default action of `signo` would have done, the hooks run first. */
function exitFor(signo: number): never {
  runHooks();
  process.exit(128 + signo);
}

/**
 * Make sure stop signals reach this process's blocking calls and the onStop() hooks run
 * when it goes. Called by every channel and primitive when it opens; cheap after the first.
 * The runtime's own handlers must be in place before the shim chains its handler in front
 * of them: process.on() makes the runtime install them.
 */
export function watchStopSignals(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runHooks);
  // Signals are the main thread's: a stop signal ends the whole process, Workers with it.
  // (A Worker's own listeners would also hold the runtime's signal descriptors after the
  // Worker has ended, on Deno.)
  if (!isMainThread) return;
  for (const [signo, sig] of Object.entries(stopSignals)) {
    const onSignal = () => {
      shim.ipcl_stop_take(); // handled here: a later blocking call must not see it again
      if (!programHandles(sig)) exitFor(Number(signo));
    };
    ours.set(sig, onSignal);
    process.on(sig, onSignal);
  }
  // the main thread's blocking calls are the ones a stop signal must end
  const r = shim.ipcl_stop_install();
  if (r < 0) throw new Error(`ipc-lab: cannot watch stop signals (errno ${-r})`);
}

/**
 * A blocking call returned -EINTR: a stop signal is pending. Either exit (the program has no
 * handler of its own) or return the IpcError EINTR that lets the program's handler run.
 */
function interrupted(syscall: string, address: string | undefined): IpcError {
  const signo = shim.ipcl_stop_take();
  const sig = stopSignals[signo];
  if (sig && !programHandles(sig)) exitFor(signo);
  const by = sig ?? "a signal";
  return new IpcError({
    code: "EINTR",
    errno: C.EINTR,
    syscall,
    address,
    message: `${syscall}${address ? ` on ${address}` : ""} was interrupted by ${by}: the program's own ${by} handler runs next; call again to go on waiting`,
  });
}
// errors.ts is the bottom layer: it learns here what an EINTR from a blocking call means
onInterrupt(interrupted);

/**
 * Throw (or exit) if a stop signal is pending: for waits that sleep in JavaScript between
 * attempts, where no syscall returns EINTR.
 */
export function throwIfStopped(syscall: string, address?: string): void {
  if (shim.ipcl_stop_pending() !== 0) throw interrupted(syscall, address);
}
