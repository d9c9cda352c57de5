/**
 * remove(address): delete the named object an address names, whoever made it — what a
 * crashed owner leaves behind (SIGKILL skips every cleanup). Returns false when there was
 * nothing to remove.
 */
import { C } from "../ffi/facts.ts";
import { cstr, errno, libc, shim } from "../ffi/runtime.ts";
import { checkPath, checkPosixName, parseAddress } from "./address.ts";
import { errnoError, ipcError } from "./errors.ts";
import { sysvKey } from "./sysv.ts";
import { unregister } from "./registry.ts";
import { unixSocketPath } from "./channels/socket-address.ts";

/** How each System V scheme's object is removed (IPC_RMID). */
const sysvRemove = { "sysv-shm": shim.ipcl_shm_remove, "sysv-mq": shim.ipcl_msg_remove, "sysv-sem": shim.ipcl_sem_remove } as const;

function sysvId(scheme: string, key: number): number {
  if (scheme === "sysv-shm") return shim.ipcl_shmget(key, 0, 0);
  if (scheme === "sysv-mq") return shim.ipcl_msgget(key, 0);
  return shim.ipcl_semget(key, 0, 0);
}

/** Remove the object at `address` (and its registry record); true if it existed. Throws IpcError for other failures. */
export function remove(address: string): boolean {
  const addr = parseAddress(address);
  unregister(address);
  const done = (r: number, call: string): boolean => {
    if (r === 0) return true;
    const e = errno();
    if (e === C.ENOENT) return false;
    throw errnoError(e, call, address);
  };
  switch (addr.scheme) {
    case "shm":
      return done(libc.shm_unlink(cstr(checkPosixName(addr))), "shm_unlink");
    case "mq":
      return done(libc.mq_unlink(cstr(checkPosixName(addr))), "mq_unlink");
    case "sem":
      return done(libc.sem_unlink(cstr(checkPosixName(addr))), "sem_unlink");
    case "fifo":
    case "file":
      return done(libc.unlink(cstr(checkPath(addr))), "unlink");
    case "unix":
    case "unix-dgram":
      if (addr.name.startsWith("@")) return false; // abstract names vanish with their socket
      return done(libc.unlink(cstr(unixSocketPath(addr))), "unlink");
    case "sysv-shm":
    case "sysv-mq":
    case "sysv-sem": {
      const id = sysvId(addr.scheme, sysvKey(addr));
      if (id === -C.ENOENT) return false;
      if (id < 0) throw errnoError(-id, "get", address);
      const r = sysvRemove[addr.scheme](id);
      if (r < 0) throw errnoError(-r, "IPC_RMID", address);
      return true;
    }
    default:
      throw ipcError("EINVAL", "remove", address, `${addr.scheme}: objects have no name to remove (they vanish with their processes)`);
  }
}
