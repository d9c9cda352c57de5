/**
 * open(address, options): the one entry point that turns an address string into a
 * Channel. Each scheme maps to the mechanism file that implements it.
 */
import { parseAddress } from "./address.ts";
import type { Channel } from "./channel.ts";
import { watchStopSignals } from "./cleanup.ts";
import { ipcError } from "./errors.ts";
import { FifoChannel, type FifoOptions } from "./channels/fifo.ts";
import { MqChannel, type MqOptions } from "./channels/mq.ts";
import { openFd, type PipeOptions } from "./channels/pipe.ts";
import { openShm, type ShmOptions } from "./channels/shm.ts";
import { openMemfd } from "./channels/memfd.ts";
import { openSysvShm } from "./channels/sysv-shm.ts";
import { connectStream, Listener, ServerStreamChannel, type SocketOptions } from "./channels/socket.ts";
import { DatagramChannel, type DatagramOptions } from "./channels/datagram.ts";
import { SysvMqChannel, type SysvMqOptions } from "./channels/sysv-mq.ts";
import { openEventfd, type EventfdOptions } from "./channels/eventfd.ts";
import { SemChannel } from "./channels/sem.ts";
import { SignalChannel, type SignalOptions } from "./channels/signal.ts";
import { CommandChannel, type PopenOptions } from "./channels/popen.ts";
import { FileChannel, type FileOptions } from "./channels/file.ts";
import { openWorker } from "./channels/worker.ts";
import type { RingTuning } from "./ring.ts";
import type { SemaphoreOptions } from "./semaphore.ts";
import { checkOptionNames, optionNames, type CommonOptions } from "./options.ts";

function streamSocket(a: ReturnType<typeof parseAddress>, o: SocketOptions): Channel {
  return o.create ? new ServerStreamChannel(a, o) : connectStream(a, o);
}

/** Options understood by open(); each mechanism reads the ones that apply to it. */
export interface OpenOptions extends FifoOptions, MqOptions, ShmOptions, PipeOptions, SocketOptions, DatagramOptions, SysvMqOptions, EventfdOptions, SemaphoreOptions, SignalOptions, PopenOptions {
  /** create the named object if missing (this end then owns it and removes the name on close) */
  create?: boolean;
  /** milliseconds to wait for the object (or, for a FIFO with a role, the peer) to appear */
  timeout?: number;
  /** largest message in bytes */
  maxMessageSize?: number;
  /** mechanism-specific capacity: messages (mq), bytes per direction (shm), pipe bytes (fd) */
  capacity?: number;
}

/** The options each scheme understands (besides CommonOptions). */
export interface SchemeOptions {
  fd: PipeOptions;
  fifo: FifoOptions;
  mq: MqOptions;
  shm: ShmOptions;
  unix: SocketOptions;
  "unix-dgram": DatagramOptions;
  tcp: SocketOptions;
  udp: DatagramOptions;
  "sysv-mq": SysvMqOptions;
  sem: SemaphoreOptions;
  signal: SignalOptions;
  eventfd: EventfdOptions;
  popen: PopenOptions;
  spawn: PopenOptions;
  file: FileOptions;
  worker: RingTuning;
  memfd: RingTuning;
  "sysv-shm": ShmOptions;
}

/**
 * The options open(address) accepts: for an address whose scheme the compiler can see
 * (a string literal such as "mq:/jobs"), that scheme's own and the common ones, so that
 * `open("mq:/jobs", { wait: "semaphore" })` does not compile; for any other string, all of
 * them (open() then refuses the ones the scheme does not understand, at run time).
 */
export type OptionsFor<A extends string> = string extends A
  ? OpenOptions
  : A extends `${infer S}:${string}`
    ? S extends keyof SchemeOptions
      ? SchemeOptions[S] & CommonOptions
      : OpenOptions
    : OpenOptions;

/** Run-time lists of each options type's names (the compiler checks each is complete). */
const socketNames = optionNames<SocketOptions>()("create", "timeout", "maxMessageSize", "mode", "backlog");
const datagramNames = optionNames<DatagramOptions>()("create", "timeout", "maxMessageSize");
const popenNames = optionNames<PopenOptions>()("type", "maxMessageSize", "stderr", "env", "cwd");
const ringNames = optionNames<RingTuning>()("spin", "wait", "peerCheckMs");
const shmNames = optionNames<ShmOptions>()("create", "exclusive", "mode", "capacity", "maxMessageSize", "timeout", "allowForeignOwner", "spin", "wait", "peerCheckMs");
const names: { [S in keyof SchemeOptions]: readonly string[] } = {
  fd: optionNames<PipeOptions>()("maxMessageSize", "capacity"),
  fifo: optionNames<FifoOptions>()("create", "exclusive", "mode", "role", "timeout", "maxMessageSize"),
  mq: optionNames<MqOptions>()("create", "exclusive", "mode", "capacity", "maxMessageSize", "timeout"),
  shm: shmNames,
  unix: socketNames,
  "unix-dgram": datagramNames,
  tcp: socketNames,
  udp: datagramNames,
  "sysv-mq": optionNames<SysvMqOptions>()("create", "exclusive", "mode", "maxMessageSize", "timeout", "sendType", "receiveType"),
  sem: optionNames<SemaphoreOptions>()("create", "exclusive", "value", "mode", "timeout"),
  signal: optionNames<SignalOptions>()("timeout"),
  eventfd: optionNames<EventfdOptions>()("semaphore"),
  popen: popenNames,
  spawn: popenNames,
  file: optionNames<FileOptions>()("create", "exclusive", "mode", "timeout", "maxMessageSize"),
  worker: ringNames,
  memfd: ringNames,
  "sysv-shm": shmNames,
};

type Opener = (addr: ReturnType<typeof parseAddress>, opts: OpenOptions) => Channel;

/** The schemes open() understands, with what each names. */
export const schemes: Record<keyof SchemeOptions, { opener: Opener; describe: string }> = {
  fd: { opener: (a, o) => openFd(a, o), describe: "fd:R,W or fd:N — inherited pipe descriptors (anonymous pipe)" },
  fifo: { opener: (a, o) => new FifoChannel(a, o), describe: "fifo:/path — a named pipe (mkfifo)" },
  mq: { opener: (a, o) => new MqChannel(a, o), describe: "mq:/name — a POSIX message queue" },
  shm: { opener: (a, o) => openShm(a, o), describe: "shm:/name — a POSIX shared-memory ring (/dev/shm/name)" },
  unix: { opener: (a, o) => streamSocket(a, o), describe: "unix:/path or unix:@name — a unix stream socket (create: listen)" },
  "unix-dgram": { opener: (a, o) => new DatagramChannel(a, o), describe: "unix-dgram:/path or unix-dgram:@name — a unix datagram socket" },
  tcp: { opener: (a, o) => streamSocket(a, o), describe: "tcp:HOST:PORT — a TCP connection (create: listen; port 0 picks one)" },
  udp: { opener: (a, o) => new DatagramChannel(a, o), describe: "udp:HOST:PORT — UDP datagrams (unreliable)" },
  "sysv-mq": { opener: (a, o) => new SysvMqChannel(a, o), describe: "sysv-mq:KEY or sysv-mq:/path — a System V message queue" },
  sem: { opener: (a, o) => new SemChannel(a, o), describe: "sem:/name — a POSIX named semaphore carrying tokens" },
  signal: { opener: (a, o) => new SignalChannel(a, o), describe: "signal:PID[:SIGNAL] or signal:self[:SIGNAL] — signals, realtime ones with a 7-byte payload" },
  eventfd: { opener: (a, o) => openEventfd(a, o), describe: "eventfd:N or eventfd:R,W — inherited eventfd counters" },
  popen: { opener: (a, o) => new CommandChannel(a, o), describe: "popen:COMMAND — /bin/sh -c COMMAND, one direction (type r|w), framed" },
  spawn: { opener: (a, o) => new CommandChannel(a, o), describe: "spawn:COMMAND — a child's stdin+stdout as a duplex framed channel" },
  file: { opener: (a, o) => new FileChannel(a, o), describe: "file:/path — messages appended to a file under flock, read by offset" },
  worker: { opener: (a, o) => openWorker(a, o), describe: "worker:parent — inside a Worker from spawnWorker(): a SharedArrayBuffer ring (in-process baseline)" },
  memfd: { opener: (a, o) => openMemfd(a, o), describe: "memfd:N — a shared-memory ring behind an inherited memfd descriptor" },
  "sysv-shm": { opener: (a, o) => openSysvShm(a, o), describe: "sysv-shm:KEY or sysv-shm:/path — a System V shared-memory ring" },
};

/**
 * Open a channel by address, e.g. open("mq:/jobs", { create: true }).
 * Throws IpcError EADDRESS for an unknown scheme or a malformed name.
 */
export function open<A extends string>(address: A, options: OptionsFor<A> = {} as OptionsFor<A>): Channel {
  watchStopSignals(); // opening may wait (timeout, a FIFO's peer): a stop signal must end that too
  const addr = parseAddress(address);
  const scheme = (schemes as Record<string, (typeof schemes)[keyof SchemeOptions] | undefined>)[addr.scheme];
  if (!scheme) {
    throw ipcError(
      "EADDRESS",
      "open",
      address,
      `unknown scheme '${addr.scheme}' in '${address}'; known schemes: ${Object.keys(schemes).map((s) => `${s}:`).join(", ")}`,
    );
  }
  checkOptionNames(options, addr.scheme, names[addr.scheme as keyof SchemeOptions], address);
  return scheme.opener(addr, options as OpenOptions);
}

/**
 * Listen on a stream-socket address (`unix:/path`, `unix:@name`, `tcp:HOST:PORT`) for any
 * number of peers: `listener.accept()` returns one Channel per connection.
 */
export function listen(address: string, options: SocketOptions = {}): Listener {
  const addr = parseAddress(address);
  if (addr.scheme !== "unix" && addr.scheme !== "tcp") {
    throw ipcError("EADDRESS", "listen", address, `listen() takes a stream socket address (unix:/path, unix:@name, tcp:HOST:PORT), not '${addr.scheme}:'`);
  }
  return new Listener(addr, options);
}
