/**
 * Socket addresses: `unix:/path`, `unix:@abstract`, `unix-dgram:…`, `tcp:HOST:PORT`,
 * `udp:HOST:PORT` (HOST numeric IPv4, `[IPv6]`, or `localhost`), built into a sockaddr
 * by the shim (TypeScript never lays one out).
 */
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { C, fact } from "../../ffi/facts.ts";
import { cstr, libc, shim } from "../../ffi/runtime.ts";
import { type Address, checkPath } from "../address.ts";
import { errnoError, ipcError } from "../errors.ts";

/** A parsed socket address, ready for bind/connect. */
export interface SocketAddress {
  domain: number;
  type: number;
  /** sockaddr bytes (sockaddr_storage sized) and their used length */
  sockaddr: Uint8Array;
  length: number;
  /** a filesystem path to unlink when the server closes (unix paths only) */
  path?: string;
  /** "tcp"/"udp": host and port as given */
  host?: string;
  port?: number;
}

const SOCKADDR_SIZE = fact("sizeof.sockaddr_storage");

/** An empty sockaddr buffer. */
export function sockaddrBuffer(): Uint8Array {
  return new Uint8Array(SOCKADDR_SIZE);
}

function bad(addr: Address, why: string): never {
  throw ipcError("EADDRESS", "parseAddress", addr.text, `invalid address '${addr.text}': ${why}`);
}

/**
 * The directory where unix sockets named without a '/' live: $IPC_LAB_SOCKETS, else
 * $XDG_RUNTIME_DIR/ipc-lab-sockets, else /tmp/ipc-lab-sockets-UID. Made mode 0700 on first
 * use; a directory that another user owns or others may enter is refused, since whoever
 * controls it could put their own socket where ours should be.
 */
function privateSocketDir(address: string): string {
  const env = process.env;
  const dir = env.IPC_LAB_SOCKETS || (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "ipc-lab-sockets") : `/tmp/ipc-lab-sockets-${libc.geteuid()}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
      throw errnoError(fact("EACCES"), "mkdir", address, `cannot create the private socket directory ${dir}: ${(e as Error).message}`);
    }
  }
  const st = statSync(dir);
  if (!st.isDirectory() || st.uid !== libc.geteuid() || (st.mode & 0o077) !== 0) {
    throw errnoError(
      fact("EACCES"),
      "open",
      address,
      `${dir} is not a private directory of this user (owner uid ${st.uid}, mode ${
        (st.mode & 0o777).toString(8)
      }): remove it, or set IPC_LAB_SOCKETS to a directory only you can use`,
    );
  }
  return dir;
}

/**
 * The filesystem path of a unix socket address: as written when it has a '/'
 * (`unix:/tmp/s`, `unix:./s`), else the name inside privateSocketDir() (`unix:jobs`).
 */
export function unixSocketPath(addr: Address): string {
  const p = checkPath(addr);
  return p.includes("/") ? p : join(privateSocketDir(addr.text), p);
}

/** Parse a unix / unix-dgram address. */
export function unixAddress(addr: Address, type: number): SocketAddress {
  const sockaddr = sockaddrBuffer();
  const abstract = addr.name.startsWith("@");
  const name = abstract ? addr.name.slice(1) : unixSocketPath(addr);
  if (abstract && (name.length === 0 || name.includes("\0"))) bad(addr, "an abstract name after '@' must be non-empty, without NUL");
  const length = shim.ipcl_sockaddr_un(sockaddr, cstr(name), abstract ? 1 : 0);
  if (length < 0) throw errnoError(-length, "sockaddr_un", addr.text, "a unix socket path holds at most 107 bytes: use a shorter path or an @abstract name");
  return { domain: C.AF_UNIX, type, sockaddr, length, path: abstract ? undefined : name };
}

/** Parse `HOST:PORT` (HOST may be [v6]) for tcp/udp. */
export function ipAddress(addr: Address, type: number): SocketAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(addr.name);
  if (!m) bad(addr, `expected ${addr.scheme}:HOST:PORT, e.g. ${addr.scheme}:127.0.0.1:9000 or ${addr.scheme}:[::1]:9000`);
  const host = m[1] ?? (m[2] === "localhost" ? "127.0.0.1" : m[2]!);
  const port = Number(m[3]);
  if (port > 65535) bad(addr, `port ${port} is above 65535`);
  const sockaddr = sockaddrBuffer();
  const length = shim.ipcl_sockaddr_ip(sockaddr, cstr(host), port);
  if (length < 0) bad(addr, `'${host}' is not a numeric IPv4/IPv6 address (or localhost)`);
  const v6 = host.includes(":");
  return { domain: v6 ? C.AF_INET6 : C.AF_INET, type, sockaddr, length, host, port };
}

/** The address text of a bound tcp/udp socket whose port was 0 (the kernel chose one). */
export function withPort(scheme: string, a: SocketAddress, port: number): string {
  const host = a.host!.includes(":") ? `[${a.host}]` : a.host;
  return `${scheme}:${host}:${port}`;
}
