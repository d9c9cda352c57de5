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
import { FileChannel } from "./channels/file.ts";
import { openWorker } from "./channels/worker.ts";
import type { SemaphoreOptions } from "./semaphore.ts";

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

type Opener = (addr: ReturnType<typeof parseAddress>, opts: OpenOptions) => Channel;

/** The schemes open() understands, with what each names. */
export const schemes: Record<string, { opener: Opener; describe: string }> = {
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
export function open(address: string, options: OpenOptions = {}): Channel {
  watchStopSignals(); // opening may wait (timeout, a FIFO's peer): a stop signal must end that too
  const addr = parseAddress(address);
  const scheme = schemes[addr.scheme];
  if (!scheme) {
    throw ipcError(
      "EADDRESS",
      "open",
      address,
      `unknown scheme '${addr.scheme}' in '${address}'; known schemes: ${Object.keys(schemes).map((s) => `${s}:`).join(", ")}`,
    );
  }
  return scheme.opener(addr, options);
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
