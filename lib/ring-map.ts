/**
 * Getting a ring's memory: mapping an fd (POSIX shm, memfd), validating the header of a
 * ring someone else created, and claiming the single opener slot. Shared by every
 * mechanism whose channel is a RingChannel.
 */
import { layout } from "../ffi/facts.ts";
import { libc, nativeView, shim, type Pointer } from "../ffi/runtime.ts";
import { errnoError, ipcError, throwErrno } from "./errors.ts";
import { processAlive } from "./peer-watch.ts";
import { initRingHeader, readRingHeader, RING_HEADER, type RingGeometry, ringObjectSize } from "./ring.ts";

const statLayout = layout("stat", ["st_size", "st_uid"]);

/** Size and owner of the file behind fd. */
export function fdStat(fd: number, address: string): { size: number; uid: number } {
  const st = new Uint8Array(statLayout.size);
  if (libc.fstat(fd, st) !== 0) throwErrno("fstat", address);
  const v = new DataView(st.buffer);
  return { size: Number(v.getBigInt64(statLayout.st_size, true)), uid: v.getUint32(statLayout.st_uid, true) };
}

/** mmap(fd, size) shared read/write. */
export function mapFd(fd: number, size: number, address: string): Pointer {
  const err = new Int32Array(1);
  const p = shim.ipcl_mmap_shared(fd, size, err);
  if (!p) throw errnoError(err[0]!, "mmap", address);
  return p;
}

/** Size fd for geometry g, map it and write a fresh header; the mapping. */
export function initRingFd(fd: number, g: RingGeometry, address: string): { base: Pointer; size: number } {
  const size = ringObjectSize(g);
  if (libc.ftruncate(fd, size) !== 0) throwErrno("ftruncate", address, "is /dev/shm full? (`df -h /dev/shm`)");
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

/**
 * Take the opener slot of a mapped ring. A ring connects exactly two processes: a live
 * opener other than us means EBUSY; a dead one's slot is taken over.
 */
export function claimOpener(base: Pointer, address: string, name: string, unmap: () => void): void {
  const words = new Int32Array(nativeView(base, 0, RING_HEADER.size));
  const slot = RING_HEADER.opener_pid / 4;
  const prev = Atomics.compareExchange(words, slot, 0, process.pid);
  if (prev === 0 || prev === process.pid) return;
  if (processAlive(prev)) {
    unmap();
    throw ipcError("EBUSY", "open", address, `${name} already has its peer (pid ${prev}); a ring connects exactly two processes: create another ring`);
  }
  Atomics.store(words, slot, process.pid);
}
