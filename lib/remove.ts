/**
 * remove(address): delete the named object an address names, whoever made it — what a
 * crashed owner leaves behind (SIGKILL skips every cleanup). Returns false when there was
 * nothing to remove. How each scheme's names are removed comes from its descriptor.
 */
import { parseAddress } from "./address.ts";
import { ipcError } from "./errors.ts";
import { mechanismOf, nameKindOf } from "./mechanisms.ts";
import { unregister } from "./names/registry.ts";

/**
 * Remove the object at `address` (and its registry record); true if it existed. Throws IpcError for other failures.
 *
 * @example
 * ```ts
 * remove("shm:/ring"); // what a SIGKILLed owner left behind; false if nothing was there
 * ```
 */
export function remove(address: string): boolean {
  const addr = parseAddress(address);
  const kind = nameKindOf(addr);
  if (kind) {
    unregister(address);
    return kind.remove(addr);
  }
  if (mechanismOf(addr.scheme)?.names) return false; // a name that vanishes with its object (unix:@name)
  throw ipcError("EINVAL", "remove", address, `${addr.scheme}: objects have no name to remove (they vanish with their processes)`);
}
