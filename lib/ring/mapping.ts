/**
 * Getting a ring's memory: mapping an fd (POSIX shm, memfd), validating the header of a
 * ring someone else created, and claiming the single opener slot. Shared by every
 * mechanism whose channel is a RingChannel.
 */
import { C, layout } from "../../ffi/facts.ts";
import { cstr, libc, nativeView, type Pointer, shim, sys } from "../../ffi/runtime.ts";
import { checkNeg, errnoError, IpcError, ipcError } from "../errors.ts";
import { processAlive } from "../names/peer-watch.ts";
import { initRingHeader, readRingHeader, RING_HEADER, type RingGeometry, ringObjectSize } from "./layout.ts";

const statLayout = layout("stat", ["st_size", "st_uid", "st_nlink", "st_ino"]);

/** Size, owner, link count (0: unlinked) and inode of the file behind fd. */
export function fdStat(fd: number, address: string): { size: number; uid: number; nlink: number; ino: bigint } {
  const st = new Uint8Array(statLayout.size);
  checkNeg(sys.fstat(fd, st), "fstat", address);
  const v = new DataView(st.buffer);
  return {
    size: Number(v.getBigInt64(statLayout.st_size, true)),
    uid: v.getUint32(statLayout.st_uid, true),
    nlink: Number(v.getBigUint64(statLayout.st_nlink, true)),
    ino: v.getBigUint64(statLayout.st_ino, true),
  };
}

/** mmap(fd, size) shared read/write. */
export function mapFd(fd: number, size: number, address: string): Pointer {
  const err = new Int32Array(1);
  const p = shim.ipcl_mmap_shared(fd, size, err);
  if (!p) throw errnoError(err[0]!, "mmap", address);
  return p;
}

const MiB = (n: number) => `${(n / 1048576).toFixed(n < 1048576 ? 2 : 1)} MiB`;

/**
 * The IpcError for shared memory that could not be reserved (`r` = -errno from the shim):
 * how much was asked, how much is left, and which option (`smaller`) makes the object smaller.
 */
export function reserveError(r: number, syscall: string, address: string, bytes: number, smaller: string): IpcError {
  if (r !== -C.ENOSPC && r !== -C.ENOMEM && r !== -C.EFAULT) return errnoError(-r, syscall, address);
  const free = address.startsWith("shm:") ? shim.ipcl_fs_free(cstr("/dev/shm")) : -1;
  const left = free >= 0 ? `/dev/shm has ${MiB(free)} left (\`df -h /dev/shm\`)` : "the system (or this memory cgroup) has no memory left for it";
  return new IpcError({
    code: "ENOSPC",
    errno: C.ENOSPC,
    syscall,
    address,
    message: `${syscall} on ${address} failed: cannot reserve ${
      MiB(bytes)
    } of shared memory: ${left}; ${smaller}, or free some shared memory (\`ipc-lab gc\` removes what dead owners left)`,
  });
}

/** The advice for a ring too large for the memory left. */
export const SMALLER_RING = "open with a smaller capacity (bytes per direction)";

/**
 * Give fd `size` bytes and reserve every page now, so that a full /dev/shm or memory cgroup
 * fails here with ENOSPC instead of killing a process with SIGBUS when it first writes.
 */
export function reserveFd(fd: number, size: number, address: string, smaller: string): void {
  const r = shim.ipcl_reserve(fd, size);
  if (r < 0) throw reserveError(r, "fallocate", address, size, smaller);
}

/** Size fd for geometry g (pages reserved), map it and write a fresh header; the mapping. */
export function initRingFd(fd: number, g: RingGeometry, address: string): { base: Pointer; size: number } {
  const size = ringObjectSize(g);
  reserveFd(fd, size, address, SMALLER_RING);
  const base = mapFd(fd, size, address);
  initRingHeader(base, g);
  return { base, size };
}

/** Why an existing object cannot be used as a ring, or its geometry. */
export type RingCheck = { base: Pointer; size: number; g: RingGeometry } | { why: string };

/** Map fd (a ring someone created) and validate its header; unmaps on failure. */
export function mapRingFd(fd: number, address: string, allowForeignOwner = false): RingCheck {
  const { size, uid } = fdStat(fd, address);
  if (!allowForeignOwner && uid !== libc.geteuid()) {
    return { why: `it belongs to uid ${uid}, not to this user (pass allowForeignOwner: true to trust it)` };
  }
  if (size < RING_HEADER.size) return { why: `it is ${size} bytes, smaller than a ring header (${RING_HEADER.size})` };
  const base = mapFd(fd, size, address);
  return checkRing(base, size, () => libc.munmap(base, size));
}

/** Validate a mapped header; calls unmap on failure. */
export function checkRing(base: Pointer, size: number, unmap: () => void): RingCheck {
  const g = readRingHeader(base, size);
  if (typeof g === "string") {
    unmap();
    return { why: g };
  }
  return { base, size, g };
}

/** The IpcError for an object that is not a usable ring. */
export function notARing(address: string, name: string, why: string) {
  return ipcError("EPROTO", "open", address, `${name} is not a usable ipc-lab ring: ${why}`);
}

/** Named rings this process holds open as their opener, so that a second open here is refused too. */
const openedHere = new Set<string>();

/**
 * Take the opener slot of a mapped ring. A ring connects exactly two processes: a live
 * opener other than us means EBUSY; a dead one's slot is taken over. `named` rings (shm:,
 * sysv-shm:) are also refused when this very process already has them open as the opener
 * (the slot holds our own pid then). Returns the release for the channel: it forgets the
 * claim and calls `unmap`.
 */
export function claimOpener(base: Pointer, address: string, name: string, unmap: () => void, named = true): () => void {
  const words = new Int32Array(nativeView(base, 0, RING_HEADER.size));
  const slot = RING_HEADER.opener_pid / 4;
  const prev = Atomics.compareExchange(words, slot, 0, process.pid);
  const release = () => {
    if (named) openedHere.delete(address);
    unmap();
  };
  if (prev === process.pid && named && openedHere.has(address)) {
    unmap();
    throw ipcError(
      "EBUSY",
      "open",
      address,
      `${name} is already open as the peer in this process; a ring connects exactly two ends: use that channel, or create another ring`,
    );
  }
  if (prev !== 0 && prev !== process.pid) {
    if (processAlive(prev)) {
      unmap();
      throw ipcError("EBUSY", "open", address, `${name} already has its peer (pid ${prev}); a ring connects exactly two processes: create another ring`);
    }
    Atomics.store(words, slot, process.pid);
  }
  if (named) openedHere.add(address);
  return release;
}
