/**
 * The list of mechanisms: one line per descriptor (lib/mechanism.ts). open(), remove(), the
 * registry, `ipc-lab info`, the conformance suite and the benchmark all read this list, so
 * adding a mechanism is its file in lib/channels/ plus one line here. The order is the
 * order of open()'s list of schemes, of test runs and of the benchmark's tables.
 */
import type { Address } from "./address.ts";
import type { Mechanism, NameKind, OptionsOf } from "./mechanism.ts";
import { fd } from "./channels/pipe.ts";
import { fifo } from "./channels/fifo.ts";
import { tcp, unix } from "./channels/socket.ts";
import { udp, unixDgram } from "./channels/datagram.ts";
import { mq } from "./channels/mq.ts";
import { sysvMq } from "./channels/sysv-mq.ts";
import { shm } from "./channels/shm.ts";
import { sysvShm } from "./channels/sysv-shm.ts";
import { memfd } from "./channels/memfd.ts";
import { eventfd } from "./channels/eventfd.ts";
import { sem } from "./channels/sem.ts";
import { signal } from "./channels/signal.ts";
import { file } from "./channels/file.ts";
import { worker } from "./channels/worker.ts";
import { popen, spawn } from "./channels/command.ts";
import { topic } from "./channels/topic.ts";
import { shmQueue } from "./channels/shm-queue.ts";
import { nats } from "./channels/nats.ts";
import { sysvSem } from "./primitives/semaphore.ts";
import { mutexNames } from "./primitives/mutex.ts";
import { condNames } from "./primitives/condition.ts";
import { boardNames } from "./primitives/board.ts";

/** Every mechanism open() understands, one per scheme. */
export const mechanisms = [
  fd,
  fifo,
  mq,
  shm,
  unix,
  unixDgram,
  tcp,
  udp,
  sysvMq,
  sem,
  signal,
  eventfd,
  popen,
  spawn,
  file,
  worker,
  memfd,
  sysvShm,
  topic,
  shmQueue,
  nats,
] as const;

/** Named objects that are not channels (primitives), for remove() and `gc`. */
export const primitiveNames: readonly NameKind[] = [sysvSem, mutexNames, condNames, boardNames];

/** The options each scheme understands (besides CommonOptions), derived from the descriptors. */
export type SchemeOptions = { [M in (typeof mechanisms)[number] as M["scheme"]]: OptionsOf<M> };

/** A scheme open() understands. */
export type Scheme = keyof SchemeOptions;

const byScheme = new Map<string, Mechanism>(mechanisms.map((m) => [m.scheme, m as Mechanism]));

/** The mechanism of a scheme, or undefined for an unknown one. */
export function mechanismOf(scheme: string): Mechanism | undefined {
  return byScheme.get(scheme);
}

/** How the names of `addr`'s scheme are seen and removed, or undefined when its objects have no lasting name. */
export function nameKindOf(addr: Address): Omit<NameKind, "scheme" | "describe"> | undefined {
  const kind = byScheme.get(addr.scheme)?.names ?? primitiveNames.find((p) => p.scheme === addr.scheme);
  return kind && (kind.lasts?.(addr) ?? true) ? kind : undefined;
}
