/**
 * Owners remove their names on close, on normal exit, and on SIGINT/SIGTERM/SIGHUP
 * (which would otherwise skip 'exit' handlers). SIGKILL cannot be caught: names left by a
 * killed owner are what `ipc-lab gc` is for.
 */
import { register, unregister } from "./registry.ts";

/** Something that must be closed before the process goes. */
export interface Closable {
  close(): void;
}

const live = new Set<Closable>();
let installed = false;
const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const signalNumber: Record<(typeof signals)[number], number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

function closeAll(): void {
  for (const c of [...live]) {
    try {
      c.close();
    } catch {
      // best effort at exit: one failing close must not keep the others' names alive
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", closeAll);
  for (const sig of signals) {
    const onSignal = () => {
      closeAll();
      // Only we listen: do what the default action would have done. If the program has
      // its own handler, it decides, and 'exit' still cleans up when it exits.
      if (process.listenerCount(sig) === 1) process.exit(128 + signalNumber[sig]);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Close `c` when the process exits or is told to stop; with `address`, also record it in
 * the registry (lib/registry.ts) so `ipc-lab gc` can find it should this process be killed.
 */
export function closeAtExit(c: Closable, address?: string): void {
  install();
  live.add(c);
  if (address) register(address);
}

/** Forget `c` (it has been closed, its name removed). */
export function forgetAtExit(c: Closable, address?: string): void {
  live.delete(c);
  if (address) unregister(address);
}
