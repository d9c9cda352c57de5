/**
 * POSIX shared memory rings: `shm:/name` is the object /dev/shm/name (shm_open). The
 * creator makes it with O_EXCL and mode 0600, sizes and initialises it, and unlinks it on
 * close; one peer opens it. Both sides can send and receive (see lib/ring.ts).
 */
import { C, layout } from "../../ffi/facts.ts";
import { cstr, errno, libc, nativeView, shim, type Pointer } from "../../ffi/runtime.ts";
import { checkPosixName, type Address } from "../address.ts";
import { closeAtExit, forgetAtExit } from "../cleanup.ts";
import { errnoError, ipcError, throwErrno } from "../errors.ts";
import { initRingHeader, readRingHeader, RING_HEADER, RingChannel, ringGeometry, ringObjectSize, type RingGeometry, type RingTuning } from "../ring.ts";
import { retryUntil } from "../wait.ts";

/** Options for shared-memory rings. */
export interface ShmOptions extends RingTuning {
  /** create the ring if missing (the creator unlinks it on close) */
  create?: boolean;
  /** with create: fail with EEXIST if it already exists (otherwise open it as the peer) */
  exclusive?: boolean;
  /** permission bits for a new object (default 0o600) */
  mode?: number;
  /** bytes per direction, a power of two (default 2 MiB) */
  capacity?: number;
  /** largest message (default min(1 MiB, capacity/2); at most capacity - 8) */
  maxMessageSize?: number;
  /** milliseconds to wait for a ring that does not exist (or is not initialised) yet (default 0) */
  timeout?: number;
}

const statLayout = layout("stat", ["st_size"]);

function fileSize(fd: number, address: string): number {
  const st = new Uint8Array(statLayout.size);
  if (libc.fstat(fd, st) !== 0) throwErrno("fstat", address);
  return Number(new DataView(st.buffer).getBigInt64(statLayout.st_size, true));
}

function map(fd: number, size: number, address: string): Pointer {
  const err = new Int32Array(1);
  const p = shim.ipcl_mmap_shared(fd, size, err);
  if (!p) throw errnoError(err[0]!, "mmap", address);
  return p;
}

/** Open or create the ring at `shm:/name`. */
export function openShm(addr: Address, opts: ShmOptions): RingChannel {
  const name = checkPosixName(addr);
  const cname = cstr(name);
  const mode = opts.mode ?? 0o600;
  if (opts.create) {
    const g = ringGeometry(opts.capacity, opts.maxMessageSize, addr.text);
    const fd = libc.shm_open(cname, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_CLOEXEC, mode);
    if (fd >= 0) return createRing(addr, name, fd, g, opts);
    if (opts.exclusive || errno() !== C.EEXIST) throwErrno("shm_open", addr.text);
  }
  return attachRing(addr, name, opts);
}

function createRing(addr: Address, name: string, fd: number, g: RingGeometry, opts: ShmOptions): RingChannel {
  const size = ringObjectSize(g);
  let base: Pointer | undefined;
  try {
    if (libc.ftruncate(fd, size) !== 0) throwErrno("ftruncate", addr.text, "is /dev/shm full? (`df -h /dev/shm`)");
    base = map(fd, size, addr.text);
  } catch (e) {
    libc.close(fd);
    libc.shm_unlink(cstr(name));
    throw e;
  }
  libc.close(fd); // the mapping keeps the memory; the name keeps the object findable
  initRingHeader(base, g);
  let ch: RingChannel | undefined;
  const release = () => {
    libc.munmap(base!, size);
    libc.shm_unlink(cstr(name));
    if (ch) forgetAtExit(ch);
  };
  ch = new RingChannel(addr.text, "shm", { base, size, release }, 0, g, opts);
  closeAtExit(ch);
  return ch;
}

function attachRing(addr: Address, name: string, opts: ShmOptions): RingChannel {
  const cname = cstr(name);
  let lastErr = 0;
  let why = "";
  // wait for the object to exist and for its creator to finish the header
  const attached = retryUntil(opts.timeout ?? 0, () => {
    const fd = libc.shm_open(cname, C.O_RDWR | C.O_CLOEXEC, 0);
    if (fd < 0) {
      lastErr = errno();
      if (lastErr !== C.ENOENT) throwErrno("shm_open", addr.text);
      return undefined;
    }
    const size = fileSize(fd, addr.text);
    if (size < RING_HEADER.size) {
      libc.close(fd);
      why = `it is ${size} bytes, smaller than a ring header`;
      return undefined;
    }
    const base = map(fd, size, addr.text);
    libc.close(fd);
    const g = readRingHeader(base, size);
    if (typeof g === "string") {
      libc.munmap(base, size);
      why = g;
      return undefined;
    }
    return { base, size, g };
  });
  if (!attached) {
    if (why) throw ipcError("EPROTO", "shm_open", addr.text, `${name} is not a usable ipc-lab ring: ${why}`);
    throw errnoError(lastErr || C.ENOENT, "shm_open", addr.text, `no ring ${name}: create it (create: true), or start the side that creates it first`);
  }
  const { base, size, g } = attached;
  const words = new Int32Array(nativeView(base, 0, RING_HEADER.size));
  const slot = RING_HEADER.opener_pid / 4;
  const prev = Atomics.compareExchange(words, slot, 0, process.pid);
  if (prev !== 0 && prev !== process.pid && (libc.kill(prev, 0) === 0 || errno() !== C.ESRCH)) {
    libc.munmap(base, size);
    throw ipcError("EBUSY", "shm_open", addr.text, `${name} already has its peer (pid ${prev}); a ring connects exactly two processes: create another ring`);
  }
  if (prev !== 0 && prev !== process.pid) Atomics.store(words, slot, process.pid); // the previous peer died
  return new RingChannel(addr.text, "shm", { base, size, release: () => libc.munmap(base, size) }, 1, g, opts);
}

