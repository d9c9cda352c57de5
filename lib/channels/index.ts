/**
 * channels/: one file per mechanism, each exporting its descriptor (lib/mechanism.ts, listed
 * in lib/mechanisms.ts), its channel and its options; stream.ts frames byte streams for
 * the descriptor-based ones, socket-address.ts builds socket addresses.
 * @module
 */
export { pipePair, spawnWithPipes, CHILD_PIPE_ADDRESS, type PipedChild, type SpawnPipeOptions } from "./pipe.ts";
export { MqChannel, MQ_PRIO_MAX } from "./mq.ts";
export { FifoChannel } from "./fifo.ts";
export { StreamChannel } from "./stream.ts";
export { createMemfdRing, spawnWithMemfd, type MemfdRing, type MemfdOptions } from "./memfd.ts";
export { Listener, ServerStreamChannel, socketPair, spawnWithSocketpair, type SocketOptions } from "./socket.ts";
export { DatagramChannel, type DatagramOptions } from "./datagram.ts";
export { SysvMqChannel, type SysvMqOptions } from "./sysv-mq.ts";
export { EventfdChannel, createEventfd, spawnWithEventfd, counterValue, readCounter, EVENTFD_MAX, type EventfdOptions } from "./eventfd.ts";
export { SemChannel } from "./sem.ts";
export { SignalChannel, signalNumber, SIGNAL_PAYLOAD_MAX, type SignalOptions } from "./signal.ts";
export { CommandChannel, type PopenOptions } from "./command.ts";
export { FileChannel, type FileOptions } from "./file.ts";
export { spawnWorker, workerChannelData, type WorkerOptions } from "./worker.ts";
