/**
 * channels/: one file per mechanism, each exporting its descriptor (lib/mechanism.ts, listed
 * in lib/mechanisms.ts), its channel and its options; stream.ts frames byte streams for
 * the descriptor-based ones, socket-address.ts builds socket addresses.
 * @module
 */
export { CHILD_PIPE_ADDRESS, type PipedChild, pipePair, type SpawnPipeOptions, spawnWithPipes } from "./pipe.ts";
export { MQ_PRIO_MAX, MqChannel } from "./mq.ts";
export { FifoChannel } from "./fifo.ts";
export { StreamChannel } from "./stream.ts";
export { createMemfdRing, type MemfdOptions, type MemfdRing, spawnWithMemfd } from "./memfd.ts";
export { ServerStreamChannel, SocketListener, type SocketOptions, socketPair, spawnWithSocketpair } from "./socket.ts";
export { DatagramChannel, type DatagramOptions } from "./datagram.ts";
export { SysvMqChannel, type SysvMqOptions } from "./sysv-mq.ts";
export { counterValue, createEventfd, EVENTFD_MAX, EventfdChannel, type EventfdOptions, readCounter, spawnWithEventfd } from "./eventfd.ts";
export { SemChannel } from "./sem.ts";
export { SIGNAL_PAYLOAD_MAX, SignalChannel, signalNumber, type SignalOptions } from "./signal.ts";
export { CommandChannel, type PopenOptions } from "./command.ts";
export { FileChannel, type FileOptions } from "./file.ts";
export { spawnWorker, workerChannelData, type WorkerOptions } from "./worker.ts";
export { TopicChannel, type TopicOptions } from "./topic.ts";
export type { ShmQueueOptions } from "./shm-queue.ts";
export { NatsChannel, type NatsOptions } from "./nats.ts";
export { NatsLoopChannel } from "./nats-loop.ts";
export { DEFAULT_NATS_URL, type NatsAddress, natsUrlFromEnv } from "./nats-address.ts";
