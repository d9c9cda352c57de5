/**
 * Owners remove their names on close, on normal exit, and on a stop signal (lib/os/stop.ts
 * says what SIGINT, SIGTERM and SIGHUP do). Every channel and primitive that owns a name
 * registers here; the registry (./registry.ts) records the name so `ipc-lab gc` can find it
 * should this process be killed.
 */
import { onStop, watchStopSignals } from "../os/stop.ts";
import { register, unregister } from "./registry.ts";

/** Something that must be closed before the process goes. */
export interface Closable {
  close(): void;
}

const live = new Set<Closable>();

onStop(() => {
  for (const c of [...live]) {
    try {
      c.close();
    } catch {
      // best effort at exit: one failing close must not keep the others' names alive
    }
  }
  live.clear();
});

/**
 * Close `c` when the process exits or is told to stop; with `address`, also record it in
 * the registry (lib/names/registry.ts) so `ipc-lab gc` can find it should this process be killed.
 */
export function closeAtExit(c: Closable, address?: string): void {
  watchStopSignals();
  live.add(c);
  if (address) register(address);
}

/** Forget `c` (it has been closed, its name removed). */
export function forgetAtExit(c: Closable, address?: string): void {
  live.delete(c);
  if (address) unregister(address);
}
