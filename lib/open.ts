/**
 * open(address, options): the one entry point that turns an address string into a
 * Channel. Each scheme maps to the mechanism file that implements it.
 */
import { parseAddress } from "./address.ts";
import type { Channel } from "./channel.ts";
import { ipcError } from "./errors.ts";
import { FifoChannel, type FifoOptions } from "./channels/fifo.ts";
import { MqChannel, type MqOptions } from "./channels/mq.ts";
import { openFd, type PipeOptions } from "./channels/pipe.ts";
import { openShm, type ShmOptions } from "./channels/shm.ts";
import { openMemfd } from "./channels/memfd.ts";
import { openSysvShm } from "./channels/sysv-shm.ts";

/** Options understood by open(); each mechanism reads the ones that apply to it. */
export interface OpenOptions extends FifoOptions, MqOptions, ShmOptions, PipeOptions {
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
  memfd: { opener: (a, o) => openMemfd(a, o), describe: "memfd:N — a shared-memory ring behind an inherited memfd descriptor" },
  "sysv-shm": { opener: (a, o) => openSysvShm(a, o), describe: "sysv-shm:KEY or sysv-shm:/path — a System V shared-memory ring" },
};

/**
 * Open a channel by address, e.g. open("mq:/jobs", { create: true }).
 * Throws IpcError EADDRESS for an unknown scheme or a malformed name.
 */
export function open(address: string, options: OpenOptions = {}): Channel {
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
