/**
 * ipc-lab: Linux IPC mechanisms behind one Channel interface, through the runtime's FFI.
 * This is the core a program needs: open any mechanism by its address, converse with
 * serve/request, wait on several with select, send values with a codec, and the primitives
 * for processes that share memory. The concrete channel classes, every scheme's options
 * and the spawn helpers are in `ipc-lab/mechanisms`; what a new mechanism needs is in
 * `ipc-lab/extend`.
 *
 * ```ts
 * import { open } from "ipc-lab";
 * using q = open("mq:/jobs", { create: true });
 * q.send("hello");
 * ```
 * @module
 */
import "../ffi/permissions.ts"; // first: on Deno, missing permissions fail at once with every flag named
export { connect, listen, open, type OpenOptions, type OptionsFor, schemes } from "./open.ts";
export { remove } from "./remove.ts";
export { type AcceptOptions, type Listener } from "./link/listener.ts";
export {
  Client,
  type ClientOptions,
  type Handler,
  request,
  type RequestInfo,
  type RequestOptions,
  serve,
  type ServeOptions,
  type Server,
} from "./conversation/serve.ts";
export { type Codec, type CodecOption, jsonCodec, msgpackCodec } from "./values/codec.ts";
export type { ValueChannel } from "./values/value-channel.ts";
export { select, selectAsync, type Selected, type SelectOptions, trySelect } from "./conversation/select.ts";
export type { Channel, ChannelCaps, Payload, RecvOptions, SendOptions } from "./channel.ts";
export { IpcError, type IpcErrorCode } from "./errors.ts";
export { type Address, parseAddress } from "./address.ts";
export type { CommonOptions } from "./options.ts";
export {
  Board,
  type BoardOptions,
  type BoardValue,
  Condition,
  type LockResult,
  Mutex,
  type MutexGuard,
  type RegionOptions,
  Semaphore,
  type SemaphoreOptions,
  SharedMemory,
  SysvSemaphore,
  type WaitResult,
} from "./primitives/index.ts";
