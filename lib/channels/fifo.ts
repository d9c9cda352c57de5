/**
 * Named pipes: `fifo:/path`. A FIFO carries one direction, so a channel end is a reader
 * or a writer: fixed by the `role` option, or by the first call (send → writer, recv →
 * reader). Opening a FIFO blocks until the other side opens it; here that wait honours
 * the call's timeout instead of hanging in open(2).
 */
import { C, layout } from "../../ffi/facts.ts";
import { cstr, libc, shim, sys } from "../../ffi/runtime.ts";
import { type Address, checkPath, parseAddress } from "../address.ts";
import { BaseChannel } from "../base-channel.ts";
import { unregister } from "../names/registry.ts";
import { DemuxListener, type DemuxParts, separateEnds } from "../link/demux.ts";
import { DemuxClient } from "../link/demux-client.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { checkNeg, errnoError, ipcError } from "../errors.ts";
import { notThere, retryUntil } from "../os/wait.ts";
import { DEFAULT_PIPE_CAPACITY, StreamChannel, streamMax } from "./stream.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { pathNames } from "../names/kinds.ts";

/** Options for FIFO channels. */
export interface FifoOptions {
  /** create the FIFO (mkfifo) if missing; the creator removes it on close */
  create?: boolean;
  /** with create: fail with EEXIST if it already exists */
  exclusive?: boolean;
  /** permission bits for a new FIFO (default 0o600) */
  mode?: number;
  /** "reader" or "writer" now; default: decided by the first send/recv */
  role?: "reader" | "writer";
  /** with role (or for a missing FIFO): milliseconds to wait for the FIFO / the other side (default: forever for role, 0 for existence) */
  timeout?: number;
  /** largest message in bytes (default 1 MiB; both ends must agree) */
  maxMessageSize?: number;
}

const statLayout = layout("stat", ["st_mode"]);

/** Is `path` a FIFO? undefined when it does not exist. */
function isFifo(path: string): boolean | undefined {
  const st = new Uint8Array(statLayout.size);
  if (libc.stat(cstr(path), st) !== 0) return undefined;
  const mode = new DataView(st.buffer).getUint32(statLayout.st_mode, true);
  return (mode & C.S_IFMT) === C.S_IFIFO;
}

/** One end of a named pipe. */
export class FifoChannel extends StreamChannel {
  readonly #path: string;
  readonly #owner: boolean;
  #role: "reader" | "writer" | undefined;

  constructor(addr: Address, opts: FifoOptions) {
    const path = checkPath(addr);
    let owner = false;
    if (opts.create) {
      const r = sys.mkfifo(cstr(path), opts.mode ?? 0o600);
      if (r === 0) owner = true;
      else if (opts.exclusive || isFifo(path) !== true) {
        const exists = isFifo(path) === false;
        throw errnoError(-r, "mkfifo", addr.text, exists ? `${path} exists and is not a FIFO: choose another path or remove it` : undefined);
      }
    } else if (retryUntil(opts.timeout ?? 0, () => isFifo(path)) === undefined) {
      throw errnoError(C.ENOENT, "open", addr.text, notThere(`no FIFO at ${path}`, opts.timeout ?? 0));
    }
    if (isFifo(path) === false) throw ipcError("EINVAL", "open", addr.text, `${path} is not a FIFO`);
    super(addr.text, {
      rfd: -1,
      wfd: -1,
      mechanism: "fifo",
      maxMessageSize: streamMax(opts.maxMessageSize, addr.text),
      awaitWriter: true,
      capacity: DEFAULT_PIPE_CAPACITY,
    });
    this.#path = path;
    this.#owner = owner;
    if (owner) closeAtExit(this, this.address);
    if (opts.role === "reader") this.readEnd(opts.timeout ?? -1);
    if (opts.role === "writer") this.writeEnd(opts.timeout ?? -1);
  }

  /** "reader", "writer", or undefined until the first send/recv. */
  get role(): "reader" | "writer" | undefined {
    return this.#role;
  }

  #claim(role: "reader" | "writer", op: string): void {
    if (this.#role && this.#role !== role) {
      throw ipcError(
        "EBADF",
        op,
        this.address,
        `this end of ${this.address} is the ${this.#role}: a FIFO carries one direction; open a second FIFO for replies`,
      );
    }
    this.#role = role;
  }

  protected override readEnd(_timeout: number): number {
    if (this.readFd >= 0) return this.readFd;
    this.#claim("reader", "recv");
    // O_NONBLOCK so open(2) returns at once; reads then wait in poll() for a writer
    const fd = checkNeg(shim.ipcl_open(cstr(this.#path), C.O_RDONLY | C.O_NONBLOCK | C.O_CLOEXEC, 0), "open", this.address);
    libc.fcntl(fd, C.F_SETFL, libc.fcntl(fd, C.F_GETFL, 0) & ~C.O_NONBLOCK);
    this.setReadFd(fd);
    return fd;
  }

  protected override writeEnd(timeout: number): number {
    if (this.writeFd >= 0) return this.writeFd;
    this.#claim("writer", "send");
    // open(O_WRONLY|O_NONBLOCK) fails with ENXIO until a reader has the FIFO open
    const path = cstr(this.#path);
    let last = 0;
    const fd = retryUntil(timeout, () => {
      const r = shim.ipcl_open(path, C.O_WRONLY | C.O_NONBLOCK | C.O_CLOEXEC, 0);
      if (r >= 0) return r;
      if (r !== -C.ENXIO) checkNeg(r, "open", this.address);
      last = r;
      return undefined;
    });
    if (fd === undefined) {
      if (timeout === 0 && last === -C.ENXIO) return -1;
      throw errnoError(C.ETIMEDOUT, "open", this.address, `no reader opened ${this.#path} within ${timeout} ms`);
    }
    libc.fcntl(fd, C.F_SETFL, libc.fcntl(fd, C.F_GETFL, 0) & ~C.O_NONBLOCK);
    this.setWriteFd(fd);
    return fd;
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, opts: undefined | { priority?: number }): boolean {
    if (this.writeFd < 0 && this.writeEnd(timeout) < 0) return false; // trySend: no reader yet
    return super.sendImpl(msg, timeout, opts);
  }

  /** Open the read end now (a reply FIFO: the server's open for writing then succeeds at once). */
  holdReader(): void {
    this.readEnd(0);
  }

  /**
   * Read, and hold a write end of our own too, so reads never end with EOF when every other
   * writer has gone: what a server's well-known FIFO does (clients come and go).
   */
  holdWriter(): void {
    this.readEnd(0);
    if (this.#held < 0) this.#held = checkNeg(shim.ipcl_open(cstr(this.#path), C.O_WRONLY | C.O_NONBLOCK | C.O_CLOEXEC, 0), "open", this.address);
  }
  #held = -1;

  protected override closeImpl(): void {
    super.closeImpl();
    if (this.#held >= 0) libc.close(this.#held);
    if (this.#owner) {
      libc.unlink(cstr(this.#path));
      forgetAtExit(this, this.address);
    }
  }
}

/**
 * Conversations the FIFO way (Kerrisk's fifo_seqnum_server): the address is the server's
 * well-known FIFO, which every client writes, one frame per write of at most PIPE_BUF bytes
 * so that clients' frames never interleave; each client makes its own reply FIFO,
 * PATH.rPID-N, named in its HELLO.
 */
/** The largest frame a client writes to the well-known FIFO: PIPE_BUF makes one write that no other writer's interleaves; 4: the frame's length word. */
const CLIENT_FRAME_MAX = C.PIPE_BUF - 4;

/** Remove a dead client's reply FIFO and its registry record. */
function removeReplyFifo(where: string): void {
  libc.unlink(cstr(where));
  unregister(`fifo:${where}`);
}

function fifoParts(addr: Address, opts: FifoOptions): DemuxParts {
  return {
    openShared: () => {
      const shared = new FifoChannel(addr, { ...opts, create: true, exclusive: true, role: undefined, timeout: 0 });
      shared.holdWriter();
      shared.expectWholeFrames(); // each client writes one frame per write of at most PIPE_BUF
      return shared;
    },
    replyTo: (_shared, _hello, where) => {
      // a live client opened its reply FIFO for reading before its HELLO: no reader now means it
      // has gone (the WELCOME then fails, and close(true) removes what it left); never wait here,
      // the server's pump would stall every other client meanwhile
      const back = new FifoChannel(parseAddress(`fifo:${where}`), { role: "writer", timeout: 0 });
      return {
        send: (frame, timeout) => BaseChannel.rawSend(back, frame, timeout),
        close: (clientGone) => {
          back.close();
          if (clientGone) removeReplyFifo(where); // what the dead client would have removed
        },
      };
    },
    removeReply: removeReplyFifo,
    clientFrameMax: CLIENT_FRAME_MAX,
    resync: (shared) => (shared as FifoChannel).resync(),
    openClient: (serial) => {
      const out = new FifoChannel(addr, { role: "writer", timeout: opts.timeout ?? 0, maxMessageSize: CLIENT_FRAME_MAX });
      const where = `${checkPath(addr)}.r${process.pid}-${serial}`;
      libc.unlink(cstr(where)); // a dead process with our pid may have left it
      let back: FifoChannel;
      try {
        back = new FifoChannel(parseAddress(`fifo:${where}`), { create: true, exclusive: true, maxMessageSize: opts.maxMessageSize });
        back.holdReader();
      } catch (e) {
        out.close();
        throw e;
      }
      return separateEnds(out, back, where);
    },
  };
}

/** The `fifo:` mechanism. */
export const fifo = mechanism<FifoOptions>()({
  scheme: "fifo",
  describe: "fifo:/path — a named pipe (mkfifo)",
  options: optionNames<FifoOptions>()("create", "exclusive", "mode", "role", "timeout", "maxMessageSize"),
  open: (a, o) => new FifoChannel(a, o),
  traits: { ...usualTraits, boundaries: "framed", duplex: false, pollable: true, maxMessageSize: 1 << 20 },
  names: pathNames(),
  sample: (u) => `fifo:${u.dir}/${u.tag}`,
  converse: {
    pattern: "a well-known FIFO (the address) that every client writes (frames ≤ PIPE_BUF), plus a reply FIFO per client (PATH.rPID-N)",
    listen: (a, o) => new DemuxListener(a.text, fifoParts(a, o)),
    connect: (a, o) => new DemuxClient(a.text, fifoParts(a, o), a.text),
  },
});
