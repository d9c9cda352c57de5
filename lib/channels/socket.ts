/**
 * Stream sockets (`unix:`, `tcp:`): framed like pipes (u32 LE length + payload) over a
 * connected socket. `open(addr, { create: true })` listens and talks to the first peer
 * that connects (accepted on first use, within that call's timeout); `listen(addr)` gives
 * a Listener that accepts many. Without create, open() connects, retrying until `timeout`
 * while nobody listens yet. socketPair()/spawnWithSocketpair() make an anonymous pair.
 */
import { statSync } from "node:fs";
import type { ChildProcess } from "../../ffi/process.ts";
import { C } from "../../ffi/facts.ts";
import { cstr, libc, shim } from "../../ffi/runtime.ts";
import type { Address } from "../address.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { watchStopSignals } from "../os/stop.ts";
import { checkNeg, errnoError, ipcError } from "../errors.ts";
import { type PendingWait, pollAsync } from "../../ffi/waiter.ts";
import { acceptEach, type AcceptOptions, type Listener } from "../link/listener.ts";
import { type SpawnOptions, spawnWith } from "../os/inherit.ts";
import { deadlineIn, notThere, retryUntil } from "../os/wait.ts";
import { ipAddress, type SocketAddress, unixAddress, withPort } from "./socket-address.ts";
import { StreamChannel, streamMax } from "./stream.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { pathNames } from "../names/kinds.ts";
import { unixSocketPath } from "./socket-address.ts";

/** Options for stream sockets. */
export interface SocketOptions {
  /** listen (server side) instead of connecting */
  create?: boolean;
  /** milliseconds to wait for a listener to appear (connect) — default 0 */
  timeout?: number;
  /** largest message (default 1 MiB; both ends must agree) */
  maxMessageSize?: number;
  /** unix socket file mode (default 0o600 via umask-independent chmod of the path) */
  mode?: number;
  /** listen backlog (default 128) */
  backlog?: number;
}

/** Parse any stream-socket scheme. */
function streamAddress(addr: Address): SocketAddress {
  return addr.scheme === "tcp" ? ipAddress(addr, C.SOCK_STREAM) : unixAddress(addr, C.SOCK_STREAM);
}

/** Bytes the kernel buffers for sending on fd (SO_SNDBUF), for caps. */
function sendBuffer(fd: number): number {
  const n = shim.ipcl_getsockopt_int(fd, C.SOL_SOCKET, C.SO_SNDBUF);
  return n > 0 ? n : 0;
}

function tune(fd: number, a: SocketAddress): void {
  if (a.domain !== C.AF_UNIX) shim.ipcl_setsockopt_int(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
}

function connected(text: string, fd: number, a: SocketAddress, opts: SocketOptions): StreamChannel {
  tune(fd, a);
  return new StreamChannel(text, {
    rfd: fd,
    wfd: fd,
    mechanism: a.domain === C.AF_UNIX ? "unix" : "tcp",
    maxMessageSize: streamMax(opts.maxMessageSize, text),
    capacity: sendBuffer(fd),
    crossesHosts: a.domain !== C.AF_UNIX,
  });
}

/**
 * Why a connect found nobody, and what to do: a unix socket file that refuses connections
 * is most often what a killed server left behind (gc removes it), not a server yet to come.
 */
function connectAdvice(a: SocketAddress, last: number, timeout: number): string {
  if (a.path && last === -C.ECONNREFUSED) {
    const waited = timeout > 0 ? ` (waited ${timeout} ms)` : "";
    return `the socket file ${a.path} is there but nobody listens on it${waited}: a server that was killed leaves its file behind (\`ipc-lab gc\` removes such files), or start the side that listens first`;
  }
  return notThere("nobody listens there yet", timeout, "the side that listens");
}

/** Connect to a listening stream socket. */
export function connectStream(addr: Address, opts: SocketOptions): StreamChannel {
  const a = streamAddress(addr);
  let last = 0;
  const fd = retryUntil(opts.timeout ?? 0, () => {
    const s = checkNeg(shim.ipcl_socket(a.domain, a.type), "socket", addr.text);
    const r = shim.ipcl_connect(s, a.sockaddr, a.length, Math.max(opts.timeout ?? 0, 1000));
    if (r === 0) return s;
    libc.close(s);
    if (r !== -C.ECONNREFUSED && r !== -C.ENOENT) checkNeg(r, "connect", addr.text);
    last = r;
    return undefined;
  });
  if (fd === undefined) throw errnoError(-last, "connect", addr.text, connectAdvice(a, last, opts.timeout ?? 0));
  return connected(addr.text, fd, a, opts);
}

/** Whether path names a directory (a unix: address given a folder instead of a socket file). */
function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Why a bind found its address taken: a directory of that name, a live listener, or a dead one's socket file. */
function inUseAdvice(a: SocketAddress): string {
  if (a.path && isDirectory(a.path)) return `${a.path} is a directory: name a socket file inside it (unix:${a.path.replace(/\/$/, "")}/NAME.sock)`;
  return "the address is in use: another process listens there, or a dead one left its socket file (`ipc-lab gc`)";
}

/** A listening stream socket that accepts any number of peers. */
export class SocketListener implements Listener {
  /** the address peers connect to (with the real port when 0 was asked for) */
  readonly address: string;
  #fd: number;
  readonly #a: SocketAddress;
  readonly #opts: SocketOptions;

  constructor(addr: Address, opts: SocketOptions = {}) {
    watchStopSignals();
    const a = streamAddress(addr);
    const fd = checkNeg(shim.ipcl_socket(a.domain, a.type), "socket", addr.text);
    if (a.domain !== C.AF_UNIX) shim.ipcl_setsockopt_int(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    const r = shim.ipcl_bind_listen(fd, a.sockaddr, a.length, opts.backlog ?? 128);
    if (r < 0) {
      libc.close(fd);
      throw errnoError(
        -r,
        "bind",
        addr.text,
        r === -C.EADDRINUSE ? inUseAdvice(a) : undefined,
      );
    }
    if (a.path) libc.chmod(cstr(a.path), opts.mode ?? 0o600);
    this.#fd = fd;
    this.#a = a;
    this.#opts = opts;
    this.address = a.port === 0 ? withPort(addr.scheme, a, shim.ipcl_local_port(fd)) : addr.text;
    closeAtExit(this, a.path ? this.address : undefined); // only a socket file outlives us (registry)
  }

  /** The listening descriptor. */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Accept the next peer, waiting at most `timeout` ms (-1 or omitted: forever; 0: only
   * if one is waiting). Returns undefined on timeout.
   */
  accept(opts: AcceptOptions = {}): StreamChannel | undefined {
    if (this.#fd < 0) throw ipcError("ECLOSED", "accept", this.address, "this listener was closed");
    const t = opts.timeout ?? -1;
    const fd = shim.ipcl_accept(this.#fd, t);
    if (fd === -C.ETIMEDOUT || fd === -C.EAGAIN) return undefined;
    checkNeg(fd, "accept", this.address);
    return connected(this.address, fd, this.#a, this.#opts);
  }

  /** accept() without blocking the event loop: waits off-thread for a connection (poll), then accepts. */
  async acceptAsync(opts: AcceptOptions = {}): Promise<StreamChannel | undefined> {
    const t = opts.timeout ?? -1;
    const deadline = deadlineIn(t, Infinity);
    for (;;) {
      if (this.#fd < 0) return undefined;
      const peer = this.accept({ timeout: 0 });
      if (peer) return peer;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      this.#waiting = pollAsync(this.#fd, C.POLLIN, left === Infinity ? -1 : Math.ceil(left));
      await this.#waiting.result;
      this.#waiting = undefined;
    }
  }
  #waiting: PendingWait | undefined;

  /** true once close() has been called */
  get closed(): boolean {
    return this.#fd < 0;
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamChannel> {
    return acceptEach(this) as AsyncGenerator<StreamChannel>;
  }

  /** Stop listening and remove the socket file (unix paths). Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    this.#waiting?.cancel();
    libc.close(this.#fd);
    this.#fd = -1;
    if (this.#a.path) libc.unlink(cstr(this.#a.path));
    forgetAtExit(this, this.#a.path ? this.address : undefined);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The server end of `open(addr, { create: true })`: listens, and accepts its one peer on
 * first use (within that call's timeout). Closing it stops listening and removes the path.
 */
export class ServerStreamChannel extends StreamChannel {
  readonly #listener: SocketListener;

  constructor(addr: Address, opts: SocketOptions) {
    const listener = new SocketListener(addr, opts);
    const a = streamAddress(addr);
    super(listener.address, {
      rfd: -1,
      wfd: -1,
      mechanism: a.domain === C.AF_UNIX ? "unix" : "tcp",
      maxMessageSize: streamMax(opts.maxMessageSize, addr.text),
      capacity: sendBuffer(listener.fd),
      crossesHosts: a.domain !== C.AF_UNIX,
      duplex: true, // its connection, once accepted, carries both directions
    });
    this.#listener = listener;
  }

  #peer(timeout: number): number {
    if (this.readFd >= 0) return this.readFd;
    const peer = this.#listener.accept({ timeout });
    if (!peer) return -1;
    // adopt the accepted descriptor: the peer channel object itself is dropped
    const fd = peer.detachFd();
    this.setReadFd(fd);
    this.setWriteFd(fd);
    return fd;
  }

  protected override readEnd(timeout: number): number {
    return this.#peer(timeout);
  }

  /**
   * What becomes ready first: the peer's connection once accepted, before that the listening
   * socket (a connection waiting to be accepted). Async waits and select() poll this, so
   * they never block the JS thread in accept().
   */
  #readyFd(): number {
    return this.#peer(0) >= 0 ? this.readFd : this.#listener.fd;
  }

  protected override waitReadable(timeout: number): PendingWait {
    return pollAsync(this.#readyFd(), C.POLLIN, timeout);
  }

  protected override waitWritable(timeout: number): PendingWait {
    const fd = this.#readyFd();
    return pollAsync(fd, fd === this.readFd ? C.POLLOUT : C.POLLIN, timeout);
  }

  protected override readinessFd(): number {
    return this.#readyFd();
  }

  protected override writeEnd(timeout: number): number {
    return this.#peer(timeout);
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, opts: undefined | { priority?: number }): boolean {
    if (this.#peer(timeout) < 0) return false;
    return super.sendImpl(msg, timeout, opts);
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    if (this.#peer(timeout) < 0) return -1;
    return super.recvImpl(buf, timeout);
  }

  protected override closeImpl(): void {
    super.closeImpl();
    this.#listener.close();
  }
}

/** Two connected unix stream sockets in this process. */
export function socketPair(opts: { maxMessageSize?: number } = {}): [StreamChannel, StreamChannel] {
  const sv = new Int32Array(2);
  checkNeg(shim.ipcl_socketpair(C.SOCK_STREAM, sv), "socketpair");
  const make = (fd: number) =>
    new StreamChannel(`fd:${fd}`, {
      rfd: fd,
      wfd: fd,
      mechanism: "socketpair",
      maxMessageSize: streamMax(opts.maxMessageSize, "socketpair"),
      capacity: sendBuffer(fd),
    });
  return [make(sv[0]!), make(sv[1]!)];
}

/** Spawn cmd with one end of a unix socketpair as its fd 3 (it opens IPC_LAB_CHANNEL = "fd:3"). */
export function spawnWithSocketpair(cmd: string[], opts: SpawnOptions & { maxMessageSize?: number } = {}): { channel: StreamChannel; child: ChildProcess } {
  const sv = new Int32Array(2);
  checkNeg(shim.ipcl_socketpair(C.SOCK_STREAM, sv), "socketpair");
  const channel = new StreamChannel(`fd:${sv[0]}`, {
    rfd: sv[0]!,
    wfd: sv[0]!,
    mechanism: "socketpair",
    maxMessageSize: streamMax(opts.maxMessageSize, "socketpair"),
    capacity: sendBuffer(sv[0]!),
  });
  try {
    return { channel, child: spawnWith(cmd, { fds: [sv[1]!], address: "fd:3" }, opts) };
  } catch (e) {
    channel.close();
    throw e;
  }
}

const socketOptions = optionNames<SocketOptions>()("create", "timeout", "maxMessageSize", "mode", "backlog");
const openStream = (a: Address, o: SocketOptions) => (o.create ? new ServerStreamChannel(a, o) : connectStream(a, o));
/** Sockets converse the classic way: listen(2) and accept(2), one connection per client. */
const streamConversing = {
  pattern: "listen(2) + accept(2): one connection per client",
  listen: (a: Address, o: SocketOptions) => new SocketListener(a, o),
  connect: (a: Address, o: SocketOptions) => connectStream(a, o),
};

/** The `unix:` mechanism. */
export const unix = mechanism<SocketOptions>()({
  scheme: "unix",
  describe: "unix:/path or unix:@name — a unix stream socket (create: listen)",
  options: socketOptions,
  open: openStream,
  traits: { ...usualTraits, boundaries: "framed", duplex: true, pollable: true, maxMessageSize: 1 << 20 },
  names: pathNames(unixSocketPath, (a) => !a.name.startsWith("@")), // abstract names vanish with their socket
  sample: (u) => `unix:${u.dir}/${u.tag}`,
  converse: streamConversing,
});

/** The `tcp:` mechanism. */
export const tcp = mechanism<SocketOptions>()({
  scheme: "tcp",
  describe: "tcp:HOST:PORT — a TCP connection (create: listen; port 0 picks one)",
  options: socketOptions,
  open: openStream,
  traits: unix.traits,
  sample: () => "tcp:127.0.0.1:0",
  converse: streamConversing,
});
