/**
 * A file as a channel: `file:/path`. Each send appends one frame (u32 LE length + payload)
 * under an exclusive flock(2); each reader reads frames under a shared lock from its own
 * offset, so every reader sees every message (a log, not a queue). A reader waits with
 * inotify (IN_MODIFY), never by polling. The file grows without bound (caps.capacity
 * Infinity); the creator removes it on close. The slow, universal baseline: any program
 * that can append to and read a file can take part.
 */
import { C } from "../../ffi/facts.ts";
import { cstr, libc, shim } from "../../ffi/runtime.ts";
import { type PendingWait, pollAsync } from "../../ffi/waiter.ts";
import { type Address, checkPath } from "../address.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { checkNeg, ipcError, tooBigKept } from "../errors.ts";
import { createOrOpen, deadlineIn, SecondLook } from "../os/wait.ts";
import { streamMax } from "./stream.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { pathNames } from "../names/kinds.ts";

/** Options for file channels. */
export interface FileOptions {
  /** create the file (O_EXCL, mode 0600 unless `mode`); the creator removes it on close */
  create?: boolean;
  /** with create: fail with EEXIST if it exists */
  exclusive?: boolean;
  /** permission bits for a new file */
  mode?: number;
  /** milliseconds to wait for the file to appear (default 0) */
  timeout?: number;
  /** largest message (default 1 MiB) */
  maxMessageSize?: number;
}

/** An append-only message log in a file. */
export class FileChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  readonly #path: string;
  readonly #owner: boolean;
  #fd: number;
  #watch = -1;
  #offset = 0;
  readonly #header = new Uint8Array(4);
  readonly #headerView = new DataView(this.#header.buffer);

  constructor(addr: Address, opts: FileOptions) {
    const path = checkPath(addr);
    const p = cstr(path);
    const flags = C.O_RDWR | C.O_APPEND | C.O_CLOEXEC;
    const { fd, owner } = createOrOpen(
      opts,
      () => shim.ipcl_open(p, flags | C.O_CREAT | C.O_EXCL, opts.mode ?? 0o600),
      () => shim.ipcl_open(p, flags, 0),
      "open",
      addr.text,
      `no file ${path}`,
    );
    super(addr.text);
    this.#fd = fd;
    this.#path = path;
    this.#owner = owner;
    this.caps = {
      mechanism: "file",
      maxMessageSize: streamMax(opts.maxMessageSize, addr.text),
      duplex: false,
      boundaries: "framed",
      capacity: Infinity,
      capacityUnit: "bytes",
      crossesHosts: false,
      detectsPeerExit: false,
    };
    if (owner) closeAtExit(this, this.address);
  }

  /** Where this reader is in the file (bytes). */
  get offset(): number {
    return this.#offset;
  }

  #lock(op: number, what: string): void {
    checkNeg(shim.ipcl_flock(this.#fd, op), what, this.address);
  }

  protected override sendImpl(msg: Uint8Array, _timeout: number, _opts: SendOptions | undefined): boolean {
    // a file never fills; the lock keeps writers from interleaving and readers from half frames
    this.#lock(C.LOCK_EX, "flock");
    try {
      checkNeg(shim.ipcl_frame_write(this.#fd, msg, msg.byteLength, -1), "write", this.address, "is the disk full? (`df -h`)");
    } finally {
      shim.ipcl_flock(this.#fd, C.LOCK_UN);
    }
    return true;
  }

  /** Read the frame at our offset if it is complete; its length, or -1. */
  #readFrame(buf: Uint8Array): number {
    this.#lock(C.LOCK_SH, "flock");
    try {
      if (shim.ipcl_pread(this.#fd, this.#header, 4, this.#offset) !== 4) return -1;
      const len = this.#headerView.getUint32(0, true);
      if (len > buf.byteLength) {
        throw tooBigKept(len, buf.byteLength, "recvInto", this.address);
      }
      const n = checkNeg(shim.ipcl_pread(this.#fd, buf, len, this.#offset + 4), "pread", this.address);
      if (n !== len) {
        throw ipcError(
          "ETRUNC",
          "pread",
          this.address,
          `${this.#path} ends inside a message (${n} of ${len} bytes): it was truncated or written without the lock`,
        );
      }
      this.#offset += 4 + len;
      return len;
    } finally {
      shim.ipcl_flock(this.#fd, C.LOCK_UN);
    }
  }

  /** The inotify descriptor that wakes readers when the file is appended to. */
  #watcher(): number {
    if (this.#watch < 0) this.#watch = checkNeg(shim.ipcl_inotify_watch(cstr(this.#path), C.IN_MODIFY), "inotify_add_watch", this.address);
    return this.#watch;
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    let n = this.#readFrame(buf);
    if (n >= 0 || timeout === 0) return n;
    const watch = this.#watcher();
    const deadline = deadlineIn(timeout, Infinity);
    for (;;) {
      // the watch exists now: anything appended from here on wakes us
      n = this.#readFrame(buf);
      if (n >= 0) return n;
      const left = deadline - performance.now();
      if (left <= 0) return -1;
      const p = checkNeg(shim.ipcl_poll1(watch, C.POLLIN, left === Infinity ? -1 : left, -1), "poll", this.address);
      if (p === 0) return -1;
      shim.ipcl_inotify_drain(watch);
    }
  }

  /** Before the inotify wait: look at the file's size for a while (SecondLook). */
  protected override readableSoon(): boolean {
    return this.#look.look(() => shim.ipcl_fd_size(this.#fd) > this.#offset);
  }
  readonly #look = new SecondLook();

  protected override waitReadable(timeout: number): PendingWait {
    const watch = this.#watcher();
    shim.ipcl_inotify_drain(watch);
    // an append that landed before the drain left no event: look at the size after draining
    if (shim.ipcl_fd_size(this.#fd) > this.#offset) return { result: Promise.resolve(1), cancel: () => {} };
    return pollAsync(watch, C.POLLIN, timeout);
  }

  protected override closeImpl(): void {
    if (this.#watch >= 0) libc.close(this.#watch);
    libc.close(this.#fd);
    this.#fd = this.#watch = -1;
    if (this.#owner) {
      libc.unlink(cstr(this.#path));
      forgetAtExit(this, this.address);
    }
  }
}

/** The `file:` mechanism. */
export const file = mechanism<FileOptions>()({
  scheme: "file",
  describe: "file:/path — messages appended to a file under flock, read by offset",
  options: optionNames<FileOptions>()("create", "exclusive", "mode", "timeout", "maxMessageSize"),
  open: (a, o) => new FileChannel(a, o),
  traits: { ...usualTraits, boundaries: "framed", duplex: false, detectsPeerExit: false, bounded: false, pollable: true, maxMessageSize: 1 << 20 },
  names: pathNames(),
  sample: (u) => `file:${u.dir}/${u.tag}`,
});
