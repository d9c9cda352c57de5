/**
 * ring/: the shared-memory ring behind shm:, sysv-shm:, memfd: and worker: — its layout and
 * channel (channel.ts, layout in ffi/ipcl_ring.h) and how its memory is mapped and checked (mapping.ts).
 * @module
 */
export { RingChannel } from "./channel.ts";
export type { RingHotPath, RingTuning, RingWait } from "./layout.ts";
