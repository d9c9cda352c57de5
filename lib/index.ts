/**
 * ipc-lab: Linux IPC mechanisms behind one Channel interface, through the runtime's FFI.
 * @module
 */
export { listen, open, schemes, type OpenOptions } from "./open.ts";
export type { Channel, ChannelCaps, Payload, RecvOptions, SendOptions } from "./channel.ts";
export { IpcError, type IpcErrorCode } from "./errors.ts";
export { parseAddress, type Address } from "./address.ts";
export { pipePair, spawnWithPipes, CHILD_PIPE_ADDRESS, type PipedChild, type SpawnPipeOptions } from "./channels/pipe.ts";
export { MqChannel, MQ_PRIO_MAX } from "./channels/mq.ts";
export { FifoChannel } from "./channels/fifo.ts";
export { RingChannel } from "./ring.ts";
export { StreamChannel } from "./channels/stream.ts";
export { createMemfdRing, spawnWithMemfd, type MemfdRing, type MemfdOptions } from "./channels/memfd.ts";
export { spawnWith, CHANNEL_ENV, type ChildEnds, type SpawnOptions } from "./spawn.ts";
export { Listener, ServerStreamChannel, socketPair, spawnWithSocketpair, type SocketOptions } from "./channels/socket.ts";
export { DatagramChannel, type DatagramOptions } from "./channels/datagram.ts";
export { SysvMqChannel, type SysvMqOptions } from "./channels/sysv-mq.ts";
export { EventfdChannel, createEventfd, spawnWithEventfd, counterValue, readCounter, EVENTFD_MAX, type EventfdOptions } from "./channels/eventfd.ts";
export { Semaphore, SysvSemaphore, SEM_VALUE_MAX, type SemaphoreOptions } from "./semaphore.ts";
export { SemChannel } from "./channels/sem.ts";
export { SignalChannel, signalNumber, SIGNAL_PAYLOAD_MAX, type SignalOptions } from "./channels/signal.ts";
export { CommandChannel, type PopenOptions } from "./channels/popen.ts";
export { FileChannel, type FileOptions } from "./channels/file.ts";
export { spawnWorker, workerChannelData, type WorkerOptions } from "./channels/worker.ts";
export { SharedMemory } from "./shared-memory.ts";
export { remove } from "./remove.ts";
export { runtime, scriptCommand, spawnProcess, DENO_PERMISSIONS, type ChildProcess, type ProcessOptions, type RuntimeName, type StdioSpec } from "../ffi/process.ts";
