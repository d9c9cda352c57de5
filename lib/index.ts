/**
 * ipc-lab: Linux IPC mechanisms behind one Channel interface, through the runtime's FFI.
 * @module
 */
export { listen, open, schemes, type OpenOptions } from "./open.ts";
export type { Channel, ChannelCaps, Payload, RecvOptions, SendOptions } from "./channel.ts";
export { IpcError, type IpcErrorCode } from "./errors.ts";
export { parseAddress, type Address } from "./address.ts";
export * from "./channels/index.ts";
export { RingChannel, type RingTuning, type RingWait } from "./ring/index.ts";
export { spawnWith, CHANNEL_ENV, type ChildEnds, type SpawnOptions } from "./os/index.ts";
export { Semaphore, SysvSemaphore, SEM_VALUE_MAX, type SemaphoreOptions, SharedMemory } from "./primitives/index.ts";
export { remove } from "./names/index.ts";
export { mechanisms, mechanismOf, type Scheme, type SchemeOptions } from "./mechanisms.ts";
export type { Mechanism, NameKind, Traits, Unique } from "./mechanism.ts";
export type { CommonOptions } from "./options.ts";
export { runtime, scriptCommand, spawnProcess, DENO_PERMISSIONS, type ChildProcess, type ProcessOptions, type RuntimeName, type StdioSpec } from "../ffi/process.ts";
