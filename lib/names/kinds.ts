/**
 * The families of names an object can have — a POSIX IPC name (/dev/shm, the mqueue
 * filesystem), a path, a System V key — and how each is seen and removed. Mechanism
 * descriptors pick one; remove(), `gc` and the leak checks use it through the descriptor.
 */
import { existsSync, lstatSync } from "node:fs";
import { C } from "../../ffi/facts.ts";
import { cstr, libc, shim, sys } from "../../ffi/runtime.ts";
import { type Address, checkPath, checkPosixName } from "../address.ts";
import { errnoError } from "../errors.ts";
import { sysvKey } from "../os/sysv-key.ts";

/** How a kind of named object is seen and removed, for names that can outlive a process. */
export interface NameKind {
  /** the address scheme of these names */
  readonly scheme: string;
  /** one line saying what the scheme names */
  readonly describe: string;
  /** whether the object `addr` names exists now */
  exists(addr: Address): boolean;
  /** remove the object whatever made it; false when there was nothing to remove */
  remove(addr: Address): boolean;
  /** whether `addr` names something that outlives its process (default: always) */
  lasts?(addr: Address): boolean;
}

type Names = Omit<NameKind, "scheme" | "describe">;

/** The result of an unlink-like call: true when removed, false when there was nothing. */
function unlinked(r: number, call: string, addr: Address): boolean {
  if (r === 0) return true;
  if (r === -C.ENOENT) return false;
  throw errnoError(-r, call, addr.text);
}

/** POSIX shared memory: /dev/shm/NAME. */
export const shmNames: Names = {
  exists: (a) => existsSync(`/dev/shm/${checkPosixName(a).slice(1)}`),
  remove: (a) => unlinked(sys.shm_unlink(cstr(checkPosixName(a))), "shm_unlink", a),
};

/** POSIX named semaphores: /dev/shm/sem.NAME. */
export const semNames: Names = {
  exists: (a) => existsSync(`/dev/shm/sem.${checkPosixName(a).slice(1)}`),
  remove: (a) => unlinked(sys.sem_unlink(cstr(checkPosixName(a))), "sem_unlink", a),
};

/**
 * The POSIX shared-memory name of a primitive's object (lib/primitives/region.ts):
 * "/KIND.NAME" for KIND:/NAME, as POSIX semaphores are sem.NAME — so that `mutex:/jobs` and
 * `shm:/jobs` never collide.
 */
export function regionObjectName(a: Address): string {
  return `/${a.scheme}.${checkPosixName(a).slice(1)}`;
}

/** The primitives' objects: /dev/shm/KIND.NAME. */
export const regionNames: Names = {
  exists: (a) => existsSync(`/dev/shm${regionObjectName(a)}`),
  remove: (a) => unlinked(sys.shm_unlink(cstr(regionObjectName(a))), "shm_unlink", a),
};

/** POSIX message queues: seen by opening (the mqueue filesystem may not be mounted). */
export const mqNames: Names = {
  exists(a) {
    const fd = shim.ipcl_mq_open(cstr(checkPosixName(a)), C.O_RDONLY | C.O_CLOEXEC, 0, 0, 0);
    if (fd >= 0) libc.mq_close(fd);
    else if (fd !== -C.ENOENT) throw errnoError(-fd, "mq_open", a.text); // says nothing about whether it is there
    return fd >= 0;
  },
  remove: (a) => unlinked(sys.mq_unlink(cstr(checkPosixName(a))), "mq_unlink", a),
};

/** A file-system path (FIFOs, files); `path` maps the address to it (unix sockets differ). */
export function pathNames(path: (a: Address) => string = checkPath, lasts?: (a: Address) => boolean): Names {
  return {
    exists(a) {
      try {
        lstatSync(path(a));
        return true;
      } catch {
        return false;
      }
    },
    remove: (a) => unlinked(sys.unlink(cstr(path(a))), "unlink", a),
    lasts,
  };
}

/** The three System V namespaces: look a key up (id or -errno), and remove an id (0 or -errno). */
const sysv = {
  shm: { get: (key: number) => shim.ipcl_shmget(key, 0, 0), remove: shim.ipcl_shm_remove },
  msg: { get: (key: number) => shim.ipcl_msgget(key, 0), remove: shim.ipcl_msg_remove },
  sem: { get: (key: number) => shim.ipcl_semget(key, 0, 0), remove: shim.ipcl_sem_remove },
} as const;

/** A System V object by key (sysv-shm:, sysv-mq:, sysv-sem:). */
export function sysvNames(kind: keyof typeof sysv): Names {
  const { get, remove } = sysv[kind];
  return {
    exists: (a) => get(sysvKey(a)) >= 0,
    remove(a) {
      const id = get(sysvKey(a));
      if (id === -C.ENOENT) return false;
      if (id < 0) throw errnoError(-id, "get", a.text);
      const r = remove(id);
      if (r < 0) throw errnoError(-r, "IPC_RMID", a.text);
      return true;
    },
  };
}
