/**
 * names/: the lifetime of named objects — who owns a name (registry.ts), removing it at
 * exit or on a stop signal (cleanup.ts), by address (remove.ts) or by kind (kinds.ts), and
 * noticing a peer that died (peer-watch.ts).
 * @module
 */
export { remove } from "./remove.ts";
