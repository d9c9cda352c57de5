/**
 * Datagram sockets (`unix-dgram:`, `udp:`): one message is one datagram, no header. The
 * side that creates binds the address and replies to whoever sent last; the other side
 * binds an anonymous address of its own (so replies can reach it) and connects.
 * unix-dgram is reliable and ordered (a full receiver makes the sender wait); UDP is
 * neither: caps.reliable is false, and nothing stops a fast sender overrunning a reader.
 */
import { C } from "../../ffi/facts.ts";
import { cstr, libc, shim } from "../../ffi/runtime.ts";
import { type PendingWait, pollAsync } from "../../ffi/waiter.ts";
import type { Address } from "../address.ts";
import { type ChannelCaps, type SendOptions } from "../channel.ts";
import { BaseChannel } from "../base-channel.ts";
import { DemuxListener, type DemuxParts } from "../link/demux.ts";
import { DemuxClient } from "../link/demux-client.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { checkNeg, errnoError, IpcError, ipcError, tooBigKept } from "../errors.ts";
import { notThere, retryUntil } from "../os/wait.ts";
import { ipAddress, sockaddrBuffer, type SocketAddress, unixAddress, withPort } from "./socket-address.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { pathNames } from "../names/kinds.ts";
import { unixSocketPath } from "./socket-address.ts";

/** Options for datagram sockets. */
export interface DatagramOptions {
  /** bind the address (server side) instead of connecting to it */
  create?: boolean;
  /** milliseconds to wait for the server socket to exist (unix-dgram connect) */
  timeout?: number;
  /** largest datagram (unix-dgram default 65536; udp 65507 for IPv4, 65527 for IPv6) */
  maxMessageSize?: number;
}

const UDP_MAX_V4 = 65507;
const UDP_MAX_V6 = 65527;
const UNIX_DGRAM_DEFAULT = 65536;

/** One datagram endpoint. */
export class DatagramChannel extends BaseChannel {
  /** @inheritdoc */
  readonly caps: ChannelCaps;
  readonly #fd: number;
  readonly #path: string | undefined;
  /** where replies go: the last sender (server side); empty when connected */
  readonly #peer = sockaddrBuffer();
  readonly #peerLen = new Int32Array(1);
  readonly #fromLen = new Int32Array(1);
  readonly #from = sockaddrBuffer();
  readonly #size = new Int32Array(1);
  readonly #server: boolean;

  constructor(addr: Address, opts: DatagramOptions) {
    const udp = addr.scheme === "udp";
    const a: SocketAddress = udp ? ipAddress(addr, C.SOCK_DGRAM) : unixAddress(addr, C.SOCK_DGRAM);
    const limit = udp ? (a.domain === C.AF_INET6 ? UDP_MAX_V6 : UDP_MAX_V4) : 1 << 20;
    const max = opts.maxMessageSize ?? (udp ? limit : UNIX_DGRAM_DEFAULT);
    if (!Number.isInteger(max) || max < 0 || max > limit) {
      throw ipcError("EINVAL", "open", addr.text, `maxMessageSize must be from 0 to ${limit} for ${addr.scheme} (got ${max})`);
    }
    const fd = checkNeg(shim.ipcl_socket(a.domain, a.type), "socket", addr.text);
    try {
      // room for several maximum datagrams in flight, so the limit is the message size, not the buffer
      shim.ipcl_setsockopt_int(fd, C.SOL_SOCKET, C.SO_SNDBUF, Math.max(4 * max, 65536));
      shim.ipcl_setsockopt_int(fd, C.SOL_SOCKET, C.SO_RCVBUF, Math.max(4 * max, 65536));
      if (opts.create) {
        const r = shim.ipcl_bind_listen(fd, a.sockaddr, a.length, 0);
        if (r < 0) {
          throw errnoError(-r, "bind", addr.text, r === -C.EADDRINUSE ? "the address is in use (a dead owner's socket file? `ipc-lab gc`)" : undefined);
        }
        if (a.path) libc.chmod(cstr(a.path), 0o600);
      } else {
        if (!udp) {
          // autobind to an anonymous abstract address so the server can reply
          const anon = sockaddrBuffer();
          anon[0] = C.AF_UNIX & 0xff;
          anon[1] = C.AF_UNIX >> 8;
          checkNeg(shim.ipcl_bind_listen(fd, anon, 2, 0), "bind", addr.text);
        }
        let last = 0;
        const ok = retryUntil(opts.timeout ?? 0, () => {
          const r = shim.ipcl_connect(fd, a.sockaddr, a.length, 1000);
          if (r === 0) return true;
          if (r !== -C.ENOENT && r !== -C.ECONNREFUSED) checkNeg(r, "connect", addr.text);
          last = r;
          return undefined;
        });
        if (!ok) throw errnoError(-last, "connect", addr.text, notThere("no datagram socket is bound there yet", opts.timeout ?? 0));
      }
    } catch (e) {
      libc.close(fd);
      throw e;
    }
    const text = opts.create && a.port === 0 ? withPort(addr.scheme, a, shim.ipcl_local_port(fd)) : addr.text;
    super(text);
    this.#fd = fd;
    this.#server = !!opts.create;
    this.#path = opts.create ? a.path : undefined;
    this.caps = {
      mechanism: addr.scheme,
      maxMessageSize: max,
      duplex: true,
      boundaries: "kernel",
      capacity: udp ? Infinity : shim.ipcl_getsockopt_int(fd, C.SOL_SOCKET, C.SO_RCVBUF),
      capacityUnit: "bytes",
      crossesHosts: udp,
      detectsPeerExit: false,
      reliable: !udp,
    };
    if (this.#path) closeAtExit(this, this.address);
  }

  /** The socket descriptor. */
  get fd(): number {
    return this.#fd;
  }

  /** The address of the last datagram's sender (server side), for sendTo(). */
  lastSender(): Uint8Array {
    return this.#peer.slice(0, this.#peerLen[0]!);
  }

  /** Send to `to` (a sender's address from lastSender()); false when there was no room in `timeout` ms. */
  sendTo(msg: Uint8Array, to: Uint8Array, timeout: number): boolean {
    const r = shim.ipcl_dgram_send(this.#fd, msg, msg.byteLength, to, to.byteLength, timeout);
    if (r === 0) return true;
    if (r === -C.EAGAIN || r === -C.ETIMEDOUT) return false;
    if (r === -C.ECONNREFUSED) throw errnoError(C.EPIPE, "sendto", this.address, "the client's socket is gone (it closed or its process exited)");
    throw errnoError(-r, "sendto", this.address);
  }

  protected override sendImpl(msg: Uint8Array, timeout: number, _opts: SendOptions | undefined): boolean {
    if (this.#server && this.#peerLen[0] === 0) {
      throw ipcError("ENOTCONN", "send", this.address, `${this.address} has not heard from a peer yet: a datagram server replies to the last sender`);
    }
    const r = shim.ipcl_dgram_send(this.#fd, msg, msg.byteLength, this.#server ? this.#peer : null, this.#server ? this.#peerLen[0]! : 0, timeout);
    if (r === 0) return true;
    if (r === -C.EAGAIN || r === -C.ETIMEDOUT) return false;
    if (r === -C.ECONNREFUSED) throw errnoError(C.ECONNREFUSED, "send", this.address, "the other side's socket is gone (it closed or its process exited)");
    throw errnoError(-r, "sendto", this.address);
  }

  protected override recvImpl(buf: Uint8Array, timeout: number): number {
    this.#fromLen[0] = this.#from.byteLength;
    // the shim takes a 32-bit room (ffi/libc.ts); no datagram comes near it
    const r = shim.ipcl_dgram_recv(this.#fd, buf, Math.min(buf.byteLength, 0x7fffffff), this.#from, this.#fromLen, timeout, this.#size);
    if (r >= 0) {
      if (this.#server) {
        this.#peer.set(this.#from);
        this.#peerLen[0] = this.#fromLen[0]!;
      }
      return r;
    }
    if (r === -C.ETIMEDOUT || r === -C.EAGAIN) return -1;
    if (r === -C.EMSGSIZE) {
      throw tooBigKept(this.#size[0]!, buf.byteLength, "recvInto", this.address, "datagram");
    }
    throw errnoError(-r, "recvfrom", this.address);
  }

  protected override waitReadable(timeout: number): PendingWait {
    return pollAsync(this.#fd, C.POLLIN, timeout);
  }

  protected override waitWritable(timeout: number): PendingWait {
    return pollAsync(this.#fd, C.POLLOUT, timeout);
  }

  protected override readinessFd(): number {
    return this.#fd;
  }

  protected override closeImpl(): void {
    libc.close(this.#fd);
    if (this.#path) {
      libc.unlink(cstr(this.#path));
      forgetAtExit(this, this.address);
    }
  }
}

/**
 * Conversations the datagram way: the server's socket is bound at the address; each client
 * binds an anonymous (autobound abstract) address and connects; the server replies to the
 * address each client's HELLO came from.
 */
function dgramParts(addr: Address, opts: DatagramOptions): DemuxParts {
  return {
    openShared: () => new DatagramChannel(addr, { ...opts, create: true }),
    replyTo: (shared) => {
      const to = (shared as DatagramChannel).lastSender();
      return { send: (frame, timeout) => (shared as DatagramChannel).sendTo(frame, to, timeout), close: () => {} };
    },
    openClient: () => {
      const ch = new DatagramChannel(addr, { timeout: opts.timeout, maxMessageSize: opts.maxMessageSize });
      const send = (frame: Uint8Array, timeout: number) => {
        try {
          return BaseChannel.rawSend(ch, frame, timeout);
        } catch (e) {
          // the server's socket is gone: in a conversation that is EPIPE, as on every other mechanism
          if (e instanceof IpcError && e.code === "ECONNREFUSED") {
            throw errnoError(C.EPIPE, "send", addr.text, "the server's socket is gone (it stopped or its process exited): no one will read this");
          }
          throw e;
        }
      };
      return { out: ch, in: ch, where: "", send, close: () => ch.close() };
    },
  };
}

const datagramOptions = optionNames<DatagramOptions>()("create", "timeout", "maxMessageSize");

/** The `unix-dgram:` mechanism. */
export const unixDgram = mechanism<DatagramOptions>()({
  scheme: "unix-dgram",
  describe: "unix-dgram:/path or unix-dgram:@name — a unix datagram socket",
  options: datagramOptions,
  open: (a, o) => new DatagramChannel(a, o),
  traits: { ...usualTraits, boundaries: "kernel", duplex: true, detectsPeerExit: false, connectionless: true, pollable: true, maxMessageSize: 65536 },
  names: pathNames(unixSocketPath, (a) => !a.name.startsWith("@")),
  sample: (u) => `unix-dgram:${u.dir}/${u.tag}`,
  converse: {
    pattern: "the server's bound socket (the address); each client autobinds an address, and replies go to it",
    listen: (a, o) => new DemuxListener(a.text, dgramParts(a, o)),
    connect: (a, o) => new DemuxClient(a.text, dgramParts(a, o), a.text),
  },
});

/** The `udp:` mechanism. */
export const udp = mechanism<DatagramOptions>()({
  scheme: "udp",
  describe: "udp:HOST:PORT — UDP datagrams (unreliable)",
  options: datagramOptions,
  open: (a, o) => new DatagramChannel(a, o),
  traits: { ...unixDgram.traits, bounded: false, reliable: false, unreliableWhy: "datagrams a slow reader misses are lost", maxMessageSize: 65507 },
  sample: () => "udp:127.0.0.1:0",
});
