/**
 * Conversations over shared-memory rings: each client gets a ring of its own, handed over
 * by a rendezvous. listen("shm:/name") listens on the abstract unix socket
 * `@ipc-lab.shm/name` (no file: it vanishes with the server); a client creates a ring
 * `shm:/name.cPID-N`, connects, sends that name (one framed message) and closes the
 * connection; the server opens the ring as its peer and removes the name (both have it
 * mapped, so nothing is left whatever happens next). From there on the ring's own peer watch
 * tells each side when the other has gone (EOF, EPIPE).
 */
import { libc } from "../../ffi/runtime.ts";
import { cstr } from "../../ffi/runtime.ts";
import { type Address, checkPosixName, parseAddress } from "../address.ts";
import { IpcError, ipcError } from "../errors.ts";
import type { RingChannel } from "../ring/channel.ts";
import { acceptEach, type AcceptOptions, type Listener } from "../link/listener.ts";
import { clientSerial } from "../link/demux.ts";
import { unregister } from "../names/registry.ts";
import type { Conversing } from "../mechanism.ts";
import { connectStream, SocketListener } from "./socket.ts";
import type { StreamChannel } from "./stream.ts";
import { deadlineIn } from "../os/wait.ts";

/** How long each step of the handover may take (ms): both sides are running code, not waiting for people. */
const HANDOVER_MS = 5000;

/** The rendezvous socket of a ring address. */
export function rendezvousOf(addr: Address): Address {
  return parseAddress(`unix:@ipc-lab.shm${checkPosixName(addr)}`);
}

/** A receive that gives undefined instead of throwing (a client that died during the handover). */
function recvOrUndefined(recv: () => Uint8Array): Uint8Array | undefined {
  try {
    return recv();
  } catch {
    return undefined;
  }
}

/** What the rendezvous needs of a ring's options (shm.ts's ShmOptions has these and more). */
interface RingOpenOptions {
  create?: boolean;
  exclusive?: boolean;
  timeout?: number;
}

/** How a ring is opened (shm.ts's openShm), given here so this file needs nothing from shm.ts. */
type OpenShm<O extends RingOpenOptions> = (addr: Address, opts: O) => RingChannel;

/** The server's side: accepts a connection, takes over the ring it names. */
class RingListener<O extends RingOpenOptions> implements Listener {
  readonly address: string;
  readonly #socket: SocketListener;
  readonly #open: OpenShm<O>;
  readonly #opts: O;

  constructor(addr: Address, opts: O, open: OpenShm<O>) {
    this.address = addr.text;
    try {
      this.#socket = new SocketListener(rendezvousOf(addr));
    } catch (e) {
      if (e instanceof IpcError && e.code === "EADDRINUSE") {
        throw ipcError("EADDRINUSE", "listen", addr.text, `another process listens at ${addr.text} already`);
      }
      throw e;
    }
    this.#open = open;
    this.#opts = opts;
  }

  get closed(): boolean {
    return this.#socket.closed;
  }

  /** Take over the ring a just-connected client named; undefined when the client gave up or misspoke (it costs only itself). */
  #takeOver(conn: StreamChannel, said: Uint8Array | undefined): RingChannel | undefined {
    try {
      if (!said) return undefined;
      const name = new TextDecoder().decode(said);
      if (!name.startsWith(`${checkPosixName(parseAddress(this.address))}.c`)) return undefined; // not one of ours
      // timeout 0: a client names its ring once it has made it, so it is there or never will
      // be — and this open blocks the server's thread (every conversation) while it waits
      const ring = this.#open(parseAddress(`shm:${name}`), { ...this.#opts, create: false, exclusive: false, timeout: 0 });
      libc.shm_unlink(cstr(name)); // both sides have it mapped: the name has done its work
      unregister(`shm:${name}`); // and the client's record of it, so a client killed later leaves nothing
      return ring;
    } catch {
      return undefined;
    } finally {
      conn.close();
    }
  }

  accept(opts: AcceptOptions = {}): RingChannel | undefined {
    const deadline = deadlineIn(opts.timeout);
    for (;;) {
      const left = deadline < 0 ? -1 : Math.max(0, deadline - performance.now());
      const conn = this.#socket.accept({ timeout: left });
      if (!conn) return undefined;
      const ring = this.#takeOver(conn, conn.tryRecv() ?? recvOrUndefined(() => conn.recv({ timeout: HANDOVER_MS })));
      if (ring) return ring;
    }
  }

  async acceptAsync(opts: AcceptOptions = {}): Promise<RingChannel | undefined> {
    const deadline = deadlineIn(opts.timeout);
    for (;;) {
      const left = deadline < 0 ? -1 : Math.max(0, deadline - performance.now());
      const conn = await this.#socket.acceptAsync({ timeout: left });
      if (!conn) return undefined;
      const said = await conn.recvAsync({ timeout: HANDOVER_MS }).catch(() => undefined);
      const ring = this.#takeOver(conn, said);
      if (ring) return ring;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<RingChannel> {
    return acceptEach(this) as AsyncGenerator<RingChannel>;
  }

  close(): void {
    this.#socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The client's side: make a ring, name it to the server, wait for "ok". */
function connectRing<O extends RingOpenOptions>(addr: Address, opts: O, open: OpenShm<O>): RingChannel {
  let conn: StreamChannel;
  try {
    conn = connectStream(rendezvousOf(addr), { timeout: opts.timeout });
  } catch (e) {
    if (e instanceof IpcError && (e.code === "ECONNREFUSED" || e.code === "ENOENT")) {
      throw ipcError(e.code, "connect", addr.text, `no server listens at ${addr.text} (serve() or listen() there first, or pass a timeout to wait for one)`);
    }
    throw e;
  }
  const name = `${checkPosixName(addr)}.c${process.pid}-${clientSerial()}`;
  libc.shm_unlink(cstr(name)); // a dead process that had our pid may have left it
  try {
    const ring = open(parseAddress(`shm:${name}`), { ...opts, create: true, exclusive: true, timeout: 0 });
    try {
      // no answer is awaited: the server may be this very thread, busy until we return. Until
      // it opens the ring, what we send waits there; if it never does, close() removes the name.
      conn.send(name, { timeout: HANDOVER_MS });
      return ring;
    } catch (e) {
      ring.close();
      throw e instanceof IpcError && e.code === "EPIPE"
        ? ipcError("ECONNREFUSED", "connect", addr.text, `the server at ${addr.text} closed the handover: it is stopping`)
        : e;
    }
  } finally {
    conn.close();
  }
}

/** How `shm:` converses: a ring per client, handed over through the rendezvous socket. */
export function ringConversing<O extends RingOpenOptions>(open: OpenShm<O>): Conversing<O> {
  return {
    pattern: "one ring per client (NAME.cPID-N), handed over through the abstract unix socket @ipc-lab.shm/NAME",
    listen: (a, o) => new RingListener(a, o, open),
    connect: (a, o) => connectRing(a, o, open),
  };
}
