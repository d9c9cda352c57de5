/**
 * A plain shared-memory region (`shm:/name`, no ring): shm_open + mmap, for programs that
 * want to lay out shared memory themselves. Synchronisation is the caller's business —
 * Atomics on views of `buffer` work across processes (examples/pitfalls shows why it
 * matters).
 */
import { C } from "../../ffi/facts.ts";
import { cstr, libc, nativeView, type Pointer, sys } from "../../ffi/runtime.ts";
import { checkPosixName, parseAddress } from "../address.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { checkNeg, errnoError, ipcError } from "../errors.ts";
import { fdStat, mapFd, reserveFd } from "../ring/mapping.ts";

/**
 * A mapped shared-memory region.
 *
 * @example
 * ```ts
 * using mem = new SharedMemory("shm:/table", { create: true, size: 4096 });
 * new Uint32Array(mem.buffer)[0] = 42;
 * ```
 */
export class SharedMemory implements Disposable {
  /** the address, shm:/name */
  readonly address: string;
  /** size in bytes */
  readonly size: number;
  /** true when this handle created it (and unlinks it on close) */
  readonly owner: boolean;
  readonly #name: string;
  #base: Pointer | null;
  #buffer: ArrayBuffer | null;

  /** Create (size required) or open `shm:/name`. Created with O_EXCL and mode 0600 by default. */
  constructor(address: string, opts: { create?: boolean; size?: number; mode?: number } = {}) {
    const addr = parseAddress(address);
    if (addr.scheme !== "shm") throw ipcError("EADDRESS", "shm_open", address, `a shared-memory address is shm:/name (got '${address}')`);
    const name = checkPosixName(addr);
    const flags = C.O_RDWR | C.O_CLOEXEC | (opts.create ? C.O_CREAT | C.O_EXCL : 0);
    const fd = checkNeg(sys.shm_open(cstr(name), flags, opts.mode ?? 0o600), "shm_open", address);
    try {
      if (opts.create) {
        if (!Number.isInteger(opts.size) || opts.size! <= 0) throw ipcError("EINVAL", "ftruncate", address, "create needs a size in bytes > 0");
        reserveFd(fd, opts.size!, address, "ask for a smaller size");
      }
      this.size = fdStat(fd, address).size;
      this.#base = mapFd(fd, this.size, address);
    } catch (e) {
      if (opts.create) libc.shm_unlink(cstr(name));
      throw e;
    } finally {
      libc.close(fd);
    }
    this.address = address;
    this.owner = !!opts.create;
    this.#name = name;
    this.#buffer = nativeView(this.#base, 0, this.size);
    if (this.owner) closeAtExit(this, this.address);
  }

  /** The memory (valid until close()). */
  get buffer(): ArrayBuffer {
    if (!this.#buffer) throw ipcError("ECLOSED", "buffer", this.address, `${this.address} is closed`);
    return this.#buffer;
  }

  /** true once close() was called */
  get closed(): boolean {
    return this.#base === null;
  }

  /** @internal the native address (Mutex.at, Condition.at); null once closed */
  static pointerOf(m: SharedMemory): Pointer | null {
    return m.#base;
  }

  /** Unmap (idempotent); the creator also unlinks the name. */
  close(): void {
    if (!this.#base) return;
    libc.munmap(this.#base, this.size);
    this.#base = this.#buffer = null;
    if (this.owner) {
      const r = sys.shm_unlink(cstr(this.#name));
      if (r < 0 && r !== -C.ENOENT) throw errnoError(-r, "shm_unlink", this.address);
      forgetAtExit(this, this.address);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The native address of a SharedMemory, for primitives placed inside it (ECLOSED once closed). */
export function basePointer(m: SharedMemory): Pointer {
  const p = SharedMemory.pointerOf(m);
  if (!p) throw ipcError("ECLOSED", "at", m.address, `${m.address} is closed`);
  return p;
}
