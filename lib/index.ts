/**
 * ipc-lab: Linux IPC mechanisms behind one Channel interface, through the runtime's FFI.
 * @module
 */
export { connect, listen, open, type OpenOptions, schemes } from "./open.ts";
export { type AcceptOptions, type Listener } from "./conversation/listener.ts";
export {
  Client,
  type ClientOptions,
  type Handler,
  request,
  type RequestInfo,
  type RequestOptions,
  serve,
  type ServeOptions,
  Server,
} from "./conversation/serve.ts";
export { type Codec, type CodecOption, jsonCodec, msgpackCodec } from "./conversation/codec.ts";
export { ValueChannel } from "./conversation/values.ts";
export { select, selectAsync, type Selected, type SelectOptions, SLICE_MS, trySelect } from "./conversation/select.ts";
export type { Channel, ChannelCaps, Payload, RecvOptions, SendOptions } from "./channel.ts";
export { IpcError, type IpcErrorCode } from "./errors.ts";
export { type Address, parseAddress } from "./address.ts";
export * from "./channels/index.ts";
export { RingChannel, type RingTuning, type RingWait } from "./ring/index.ts";
export { CHANNEL_ENV, type ChildEnds, type SpawnOptions, spawnWith } from "./os/index.ts";
export {
  Board,
  type BoardOptions,
  type BoardValue,
  Condition,
  type LockResult,
  Mutex,
  type MutexGuard,
  type RegionOptions,
  SEM_VALUE_MAX,
  Semaphore,
  type SemaphoreOptions,
  SharedMemory,
  SysvSemaphore,
  type WaitResult,
} from "./primitives/index.ts";
export { remove } from "./names/index.ts";
export { mechanismOf, mechanisms, type Scheme, type SchemeOptions } from "./mechanisms.ts";
export type { Mechanism, NameKind, Traits, Unique } from "./mechanism.ts";
export type { CommonOptions } from "./options.ts";
export {
  type ChildProcess,
  DENO_PERMISSIONS,
  type ProcessOptions,
  runtime,
  type RuntimeName,
  scriptCommand,
  spawnProcess,
  type StdioSpec,
} from "../ffi/process.ts";
