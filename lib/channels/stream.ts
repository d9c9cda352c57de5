/**
 * A message channel over byte-stream file descriptors (pipes, FIFOs): each message is a
 * frame, a u32 little-endian length followed by the payload. Reading is buffered in the
 * shim (one read(2) may bring many frames); writing is one writev(2) per frame.
 */
import { C } from "../../ffi/facts.ts";
import { cstr, libc, type Pointer, shim } from "../../ffi/runtime.ts";
import { type PendingWait, pollAsync } from "../../ffi/waiter.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { errnoError, ipcError } from "../errors.ts";

/** Default largest message on a framed stream (both ends must agree; raise with maxMessageSize). */
const DEFAULT_STREAM_MAX = 1 << 20;
/** Largest message a frame can describe here (the shim returns lengths as int). */
const STREAM_MAX_LIMIT = 0x7fffffff;
const READ_BUFFER = 64 * 1024;
/** Linux's default pipe buffer (16 pages); the real figure is read from the fd once open. */
export const DEFAULT_PIPE_CAPACITY = 65536;

/** How a StreamChannel is built. */
export interface StreamInit {
  /** read end, or -1 for a send-only channel */
  rfd: number;
  /** write end, or -1 for a receive-only channel */
  wfd: number;
  mechanism: string;
  maxMessageSize?: number;
  /** the FIFO read end: wait for a writer instead of reading EOF */
  awaitWriter?: boolean;
  /** bytes the kernel buffers (caps.capacity) */
  capacity: number;
  /** true for TCP */
  crossesHosts?: boolean;
  /** both directions, though the descriptors come later (a server before it accepts); default: both fds given */
  duplex?: boolean;
}

/** Check a maxMessageSize option for framed streams. */
export function streamMax(v: number | undefined, address: string): number {
  if (v === undefined) return DEFAULT_STREAM_MAX;
  if (!Number.isInteger(v) || v < 0 || v > STREAM_MAX_LIMIT) {
    throw ipcError("EINVAL", "open", address, `maxMessageSize must be an integer from 0 to ${STREAM_MAX_LIMIT} (got ${v})`);
  }
  return v;
}

/** The pipe buffer size of fd (F_GETPIPE_SZ), or 0 when fd is not a pipe. */
export function pipeCapacity(fd: number): number {
  const n = libc.fcntl(fd, C.F_GETPIPE_SZ, 0);
  return n > 0 ? n : 0;
}

/** A framed message channel over one or two stream descriptors. */
export class StreamChannel extends BaseChannel {
  /** @inheritdoc (capacity is refreshed from the kernel when an end is attached) */
  caps: ChannelCaps;
  #rfd: number;
  #wfd: number;
  #reader: Pointer | null = null;
  #awaitWriter: boolean;
  /** the write end is a pipe or FIFO: a small frame's try goes without a poll first (ipcl_pipe_frame_write) */
  #writesPipe: boolean;

  constructor(address: string, init: StreamInit) {
    super(address);
    this.#rfd = init.rfd;
    this.#wfd = init.wfd;
    this.#awaitWriter = init.awaitWriter ?? false;
    this.#writesPipe = init.wfd >= 0 && pipeCapacity(init.wfd) > 0;
    this.caps = {
      mechanism: init.mechanism,
      maxMessageSize: init.maxMessageSize ?? DEFAULT_STREAM_MAX,
      duplex: init.duplex ?? (init.rfd >= 0 && init.wfd >= 0),
      boundaries: "framed",
      capacity: init.capacity,
      capacityUnit: "bytes",
      crossesHosts: init.crossesHosts ?? false,
      detectsPeerExit: true,
    };
  }

  /** The read descriptor (-1 if none). */
  get readFd(): number {
    return this.#rfd;
  }

  /** The write descriptor (-1 if none). */
  get writeFd(): number {
    return this.#wfd;
  }

  /** Attach a read end later (FIFO opened lazily). */
  protected setReadFd(fd: number): void {
    this.#rfd = fd;
    this.caps = { ...this.caps, capacity: pipeCapacity(fd) || this.caps.capacity };
  }

  /** Attach a write end later (FIFO opened lazily). */
  protected setWriteFd(fd: number): void {
    this.#wfd = fd;
    const pipe = pipeCapacity(fd);
    this.#writesPipe = pipe > 0;
    this.caps = { ...this.caps, capacity: pipe || this.caps.capacity };
  }

  /** Hook for ends opened on first use; returns the fd to use. */
  protected writeEnd(_timeout: number): number {
    if (this.#wfd < 0) throw ipcError("EBADF", "send", this.address, `${this.address} was opened for receiving only: it has no write end`);
    return this.#wfd;
  }

  /** Hook for ends opened on first use; returns the fd to use. */
  protected readEnd(_timeout: number): number {
    if (this.#rfd < 0) throw ipcError("EBADF", "recv", this.address, `${this.address} was opened for sending only: it has no read end`);
    return this.#rfd;
  }

  #readerFor(fd: number): Pointer {
    if (this.#reader) return this.#reader;
    // whole frames: a buffer above what the pipe holds, so that every read takes less than
    // it asks and so says "the pipe is empty now" (how the shim tells a cut frame, framing.c)
    const size = this.#wholeFrames ? Math.max(READ_BUFFER, pipeCapacity(fd)) + READ_BUFFER : READ_BUFFER;
    const r = shim.ipcl_reader_new(fd, size, this.#awaitWriter ? 1 : 0);
    if (!r) throw ipcError("ENOMEM", "recv", this.address, "out of memory for a read buffer");
    if (this.#wholeFrames) shim.ipcl_reader_whole_frames(r);
    return (this.#reader = r);
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, _opts: SendOptions | undefined): boolean {
    const fd = this.writeEnd(timeout);
    const r = this.#writesPipe ? shim.ipcl_pipe_frame_write(fd, msg, msg.byteLength, timeout) : shim.ipcl_frame_write(fd, msg, msg.byteLength, timeout);
    if (r === 0) return true;
    if (r === -C.EAGAIN || r === -C.ETIMEDOUT) return false;
    if (r === -C.EPIPE) {
      throw errnoError(C.EPIPE, "write", this.address, "the receiving end has closed (its process exited or closed the channel)");
    }
    throw errnoError(-r, "write", this.address);
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    const reader = this.#readerFor(this.readEnd(timeout));
    // the shim takes a 32-bit room (ffi/libc.ts); frames are at most STREAM_MAX_LIMIT bytes
    const r = shim.ipcl_frame_read(reader, buf, Math.min(buf.byteLength, STREAM_MAX_LIMIT), timeout);
    if (r >= 0) return r;
    if (r === -C.ETIMEDOUT) return -1;
    if (r === C.IPCL_EOF) {
      throw ipcError("EOF", "read", this.address, `the sending end of ${this.address} has closed: no more messages will come`);
    }
    if (r === C.IPCL_EGARBAGE) {
      throw ipcError(
        "EPROTO",
        "read",
        this.address,
        `${this.address} holds a frame that no writer wrote whole: malformed input from a writer that does not frame its messages`,
      );
    }
    if (r === C.IPCL_ETRUNC) {
      throw ipcError("ETRUNC", "read", this.address, `the sending end of ${this.address} closed in the middle of a message`);
    }
    if (r === -C.EMSGSIZE) {
      const n = shim.ipcl_reader_pending(reader);
      throw errnoError(
        C.EMSGSIZE,
        "recv",
        this.address,
        `the next message has ${n} bytes and does not fit a ${buf.byteLength}-byte buffer; it is kept: receive it with a buffer of at least ${n} bytes, or open with maxMessageSize >= ${n}`,
      );
    }
    throw errnoError(-r, "read", this.address);
  }

  protected override waitReadable(timeout: number): PendingWait {
    return pollAsync(this.readEnd(timeout), C.POLLIN, timeout);
  }

  protected override waitWritable(timeout: number): PendingWait {
    return pollAsync(this.writeEnd(timeout), C.POLLOUT, timeout);
  }

  protected override readinessFd(): number {
    return this.readEnd(0);
  }

  /**
   * For a stream that many writers share, each writing whole frames in one write (a server's
   * well-known FIFO): a frame found incomplete once the stream is drained is malformed, and
   * recv throws EPROTO for it (resync() then drops it) — also when a whole frame came
   * before it in the same read. Call before the first receive: the read buffer is sized
   * then, above what the pipe holds.
   */
  expectWholeFrames(): void {
    this.#wholeFrames = true;
    if (this.#reader) shim.ipcl_reader_whole_frames(this.#reader);
  }
  #wholeFrames = false;

  /** After malformed input (EPROTO, or a frame longer than any writer writes): drop what is buffered; the bytes dropped. */
  resync(): number {
    return this.#reader ? shim.ipcl_reader_resync(this.#reader) : 0;
  }

  /**
   * Hand the (single, read/write) descriptor over to another owner and close this channel
   * without closing it. Only for a channel that has read nothing yet.
   */
  detachFd(): number {
    const fd = this.#rfd >= 0 ? this.#rfd : this.#wfd;
    this.#rfd = this.#wfd = -1;
    this.close();
    return fd;
  }

  protected override closeImpl(): void {
    if (this.#reader) shim.ipcl_reader_free(this.#reader);
    this.#reader = null;
    if (this.#rfd >= 0) closeFd(this.#rfd);
    if (this.#wfd >= 0 && this.#wfd !== this.#rfd) closeFd(this.#wfd);
    this.#rfd = this.#wfd = -1;
  }
}

/**
 * Close `fd`; a standard descriptor (fd:0,1 channels) is replaced by /dev/null instead, so
 * the peer still sees its end close, while a later open() cannot land on 0-2 and whatever
 * writes to stdout or stderr at exit (the runtime, koffi on Node) finds a descriptor there.
 */
function closeFd(fd: number): void {
  if (fd <= 2) {
    const nul = shim.ipcl_open(cstr("/dev/null"), C.O_RDWR | C.O_CLOEXEC, 0);
    if (nul >= 0 && libc.dup2(nul, fd) === fd) return void libc.close(nul);
    if (nul >= 0) libc.close(nul);
  }
  libc.close(fd);
}
