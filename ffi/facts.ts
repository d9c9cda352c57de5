/**
 * Constants and struct layouts as reported by the compiled shim (ipcl_facts), so that no
 * TypeScript file hard-codes an offset or a flag value.
 */
import { readCString, shim } from "./runtime.ts";

function parseFacts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = Number(line.slice(eq + 1));
  }
  return out;
}

const raw = parseFacts(readCString(shim.ipcl_facts()!));

/** Look up a fact the shim reports; throws if the shim and this file disagree. */
export function fact(key: string): number {
  const v = raw[key];
  if (v === undefined) throw new Error(`ipc-lab shim does not report '${key}' (shim and TypeScript out of step?)`);
  return v;
}

/** Frequently used constants, resolved once. */
export const C = {
  O_RDONLY: fact("O_RDONLY"),
  O_WRONLY: fact("O_WRONLY"),
  O_RDWR: fact("O_RDWR"),
  O_ACCMODE: fact("O_ACCMODE"),
  O_CREAT: fact("O_CREAT"),
  O_EXCL: fact("O_EXCL"),
  O_NONBLOCK: fact("O_NONBLOCK"),
  O_CLOEXEC: fact("O_CLOEXEC"),
  F_GETFL: fact("F_GETFL"),
  F_SETFL: fact("F_SETFL"),
  F_GETFD: fact("F_GETFD"),
  F_SETFD: fact("F_SETFD"),
  FD_CLOEXEC: fact("FD_CLOEXEC"),
  F_GETPIPE_SZ: fact("F_GETPIPE_SZ"),
  F_SETPIPE_SZ: fact("F_SETPIPE_SZ"),
  POLLIN: fact("POLLIN"),
  POLLOUT: fact("POLLOUT"),
  POLLERR: fact("POLLERR"),
  POLLHUP: fact("POLLHUP"),
  S_IFMT: fact("S_IFMT"),
  S_IFIFO: fact("S_IFIFO"),
  S_IFREG: fact("S_IFREG"),
  PIPE_BUF: fact("PIPE_BUF"),
  IPCL_EOF: fact("IPCL_EOF"),
  IPCL_ETRUNC: fact("IPCL_ETRUNC"),
  IPCL_EGARBAGE: fact("IPCL_EGARBAGE"),
  EAGAIN: fact("EAGAIN"),
  ENOSYS: fact("ENOSYS"),
  EINTR: fact("EINTR"),
  ENOENT: fact("ENOENT"),
  EEXIST: fact("EEXIST"),
  ETIMEDOUT: fact("ETIMEDOUT"),
  EPIPE: fact("EPIPE"),
  EMSGSIZE: fact("EMSGSIZE"),
  ENXIO: fact("ENXIO"),
  EINVAL: fact("EINVAL"),
  EBADF: fact("EBADF"),
  ESRCH: fact("ESRCH"),
  EBUSY: fact("EBUSY"),
  EPERM: fact("EPERM"),
  EPROTO: fact("EPROTO"),
  ENOMSG: fact("ENOMSG"),
  EIDRM: fact("EIDRM"),
  ECONNREFUSED: fact("ECONNREFUSED"),
  ECONNRESET: fact("ECONNRESET"),
  EADDRINUSE: fact("EADDRINUSE"),
  ENOTCONN: fact("ENOTCONN"),
  EMFILE: fact("EMFILE"),
  ECANCELED: fact("ECANCELED"),
  ENOSPC: fact("ENOSPC"),
  ENOMEM: fact("ENOMEM"),
  EFAULT: fact("EFAULT"),
  SIGINT: fact("SIGINT"),
  SIGTERM: fact("SIGTERM"),
  SIGKILL: fact("SIGKILL"),
  SIGHUP: fact("SIGHUP"),
  IPCL_WAKE_SIGNAL: fact("IPCL_WAKE_SIGNAL"),
  IPC_CREAT: fact("IPC_CREAT"),
  IPC_EXCL: fact("IPC_EXCL"),
  IPC_NOWAIT: fact("IPC_NOWAIT"),
  AF_UNIX: fact("AF_UNIX"),
  AF_INET: fact("AF_INET"),
  AF_INET6: fact("AF_INET6"),
  SOCK_STREAM: fact("SOCK_STREAM"),
  SOCK_DGRAM: fact("SOCK_DGRAM"),
  SOL_SOCKET: fact("SOL_SOCKET"),
  SO_SNDBUF: fact("SO_SNDBUF"),
  SO_RCVBUF: fact("SO_RCVBUF"),
  SO_REUSEADDR: fact("SO_REUSEADDR"),
  IPPROTO_TCP: fact("IPPROTO_TCP"),
  TCP_NODELAY: fact("TCP_NODELAY"),
  LOCK_SH: fact("LOCK_SH"),
  LOCK_EX: fact("LOCK_EX"),
  LOCK_UN: fact("LOCK_UN"),
  O_APPEND: fact("O_APPEND"),
  IN_MODIFY: fact("IN_MODIFY"),
  SIGRTMIN: fact("SIGRTMIN"),
  SIGRTMAX: fact("SIGRTMAX"),
} as const;

/** The size of a C struct and the offset of each named field, e.g. layout("stat", ["st_mode"]). */
export function layout<F extends string>(struct: string, fields: readonly F[]): { size: number } & Record<F, number> {
  const out = { size: fact(`sizeof.${struct}`) } as { size: number } & Record<F, number>;
  for (const f of fields) (out as Record<string, number>)[f] = fact(`offsetof.${struct}.${f}`);
  return out;
}
