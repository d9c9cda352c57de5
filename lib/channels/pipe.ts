/**
 * Anonymous pipes. A pipe has no name, so its address is the descriptor numbers a process
 * holds: `fd:R,W` (read fd R, write fd W), or `fd:N` for one end (its direction comes from
 * the descriptor's access mode). spawnWithPipes() starts a child with a pipe pair at fds
 * 3 and 4, so the child opens `fd:3,4` and the two processes hold a duplex channel.
 */
import type { ChildProcess } from "../../ffi/process.ts";
import { C, fact, layout } from "../../ffi/facts.ts";
import { libc, sys } from "../../ffi/runtime.ts";
import { type Address, parseFds } from "../address.ts";
import { checkNeg, errnoError } from "../errors.ts";
import { type SpawnOptions, spawnWith } from "../os/inherit.ts";
import { pipeCapacity, StreamChannel, streamMax } from "./stream.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { OnePeerListener } from "../link/listener.ts";

/** Options for pipes and fd channels. */
export interface PipeOptions {
  /** largest message, bytes (default 1 MiB; the peer must use the same or larger) */
  maxMessageSize?: number;
  /** ask the kernel for this pipe buffer size in bytes (F_SETPIPE_SZ; up to /proc/sys/fs/pipe-max-size) */
  capacity?: number;
}

function newPipe(capacity: number | undefined): [number, number] {
  const fds = new Int32Array(2);
  checkNeg(sys.pipe2(fds, C.O_CLOEXEC), "pipe2");
  const r = capacity === undefined ? 0 : sys.fcntl(fds[1]!, C.F_SETPIPE_SZ, capacity);
  if (r < 0) {
    libc.close(fds[0]!);
    libc.close(fds[1]!);
    throw errnoError(-r, "fcntl(F_SETPIPE_SZ)", undefined, "the size must not exceed /proc/sys/fs/pipe-max-size for an unprivileged user");
  }
  return [fds[0]!, fds[1]!];
}

const statMode = layout("stat", ["st_mode"]);

/** Is fd a socket (a socketpair end passed as fd:N)? */
function isSocket(fd: number): boolean {
  const st = new Uint8Array(statMode.size);
  if (libc.fstat(fd, st) !== 0) return false;
  return (new DataView(st.buffer).getUint32(statMode.st_mode, true) & C.S_IFMT) === fact("S_IFSOCK");
}

/** Open `fd:N` or `fd:R,W` on descriptors this process already holds (e.g. passed by a parent). */
function openFd(addr: Address, opts: PipeOptions = {}): StreamChannel {
  const fds = parseFds(addr);
  for (const fd of fds) {
    const r = sys.fcntl(fd, C.F_GETFL, 0);
    if (r < 0) {
      throw errnoError(
        -r,
        "fcntl",
        addr.text,
        `descriptor ${fd} is not open in this process: pass it to the child (spawnWith ends, or stdio[${fd}] of the runtime's spawn) or check the number`,
      );
    }
  }
  let rfd: number;
  let wfd: number;
  if (fds.length === 2) {
    [rfd, wfd] = fds as [number, number];
  } else {
    const fd = fds[0]!;
    const mode = libc.fcntl(fd, C.F_GETFL, 0) & C.O_ACCMODE;
    rfd = mode === C.O_WRONLY ? -1 : fd;
    wfd = mode === C.O_RDONLY ? -1 : fd;
  }
  // descriptors given to us must not leak into our own children
  for (const fd of fds) libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC);
  return new StreamChannel(addr.text, {
    rfd,
    wfd,
    mechanism: isSocket(fds[0]!) ? "socketpair" : "pipe",
    maxMessageSize: streamMax(opts.maxMessageSize, addr.text),
    capacity: pipeCapacity(wfd >= 0 ? wfd : rfd),
  });
}

/** Two connected duplex channels in this process (two pipes). Mostly for tests and fd passing. */
export function pipePair(opts: PipeOptions = {}): [StreamChannel, StreamChannel] {
  const [aRead, bWrite] = newPipe(opts.capacity);
  const [bRead, aWrite] = newPipe(opts.capacity);
  const max = streamMax(opts.maxMessageSize, "pipe");
  const capacity = pipeCapacity(aWrite);
  return [
    new StreamChannel(`fd:${aRead},${aWrite}`, { rfd: aRead, wfd: aWrite, mechanism: "pipe", maxMessageSize: max, capacity }),
    new StreamChannel(`fd:${bRead},${bWrite}`, { rfd: bRead, wfd: bWrite, mechanism: "pipe", maxMessageSize: max, capacity }),
  ];
}

/** Options for spawnWithPipes. */
export interface SpawnPipeOptions extends PipeOptions, SpawnOptions {}

/** A child process and this side's channel to it. */
export interface PipedChild {
  /** our end: send reaches the child's fd 3, recv reads the child's fd 4 */
  channel: StreamChannel;
  /** the child process */
  child: ChildProcess;
}

/** The address a child started by spawnWithPipes opens (also in its IPC_LAB_CHANNEL). */
export const CHILD_PIPE_ADDRESS = "fd:3,4";

/**
 * Spawn `cmd` with a duplex pipe channel: the child reads fd 3 and writes fd 4 and opens
 * them with `open("fd:3,4")` (or `open(process.env.IPC_LAB_CHANNEL)`).
 */
export function spawnWithPipes(cmd: string[], opts: SpawnPipeOptions = {}): PipedChild {
  const [childRead, parentWrite] = newPipe(opts.capacity);
  const [parentRead, childWrite] = newPipe(opts.capacity);
  let child: ChildProcess;
  try {
    child = spawnWith(cmd, { fds: [childRead, childWrite], address: CHILD_PIPE_ADDRESS }, opts);
  } catch (e) {
    libc.close(parentRead);
    libc.close(parentWrite);
    throw e;
  }
  const channel = new StreamChannel(`fd:${parentRead},${parentWrite}`, {
    rfd: parentRead,
    wfd: parentWrite,
    mechanism: "pipe",
    maxMessageSize: streamMax(opts.maxMessageSize, "pipe"),
    capacity: pipeCapacity(parentWrite),
  });
  return { channel, child };
}

/** The `fd:` mechanism: inherited anonymous pipes. */
export const fd = mechanism<PipeOptions>()({
  scheme: "fd",
  title: "pipe",
  describe: "fd:R,W or fd:N — inherited pipe descriptors (anonymous pipe)",
  options: optionNames<PipeOptions>()("maxMessageSize", "capacity"),
  open: (a, o) => openFd(a, o),
  traits: { ...usualTraits, boundaries: "framed", duplex: true, pollable: true, maxMessageSize: 1 << 20 },
  inherit: (cmd, opts) => spawnWithPipes(cmd, opts),
  converse: {
    pattern: "one client: the process at the other end of the inherited pipes",
    listen: (a, o) => new OnePeerListener(openFd(a, o)),
    connect: (a, o) => openFd(a, o),
  },
});
