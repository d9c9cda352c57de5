/**
 * The small named shared objects the primitives live in (`mutex:`, `cond:`, `board:`): a
 * POSIX shared-memory object /dev/shm/KIND.NAME — named like POSIX semaphores' sem.NAME,
 * so that `mutex:/jobs` and `shm:/jobs` never collide — holding a 64-byte header and the
 * primitive's body. Layout (docs/wire-formats.md): u32 magic, u32 version, u32 body size,
 * i32 creator pid; the body at offset 64.
 *
 * Race-free either way round: the creator makes the object exclusively, sizes it (pages
 * reserved: a full /dev/shm is ENOSPC, never SIGBUS), writes the body and stores the magic
 * last; an opener maps it and waits for the magic. The creator removes the name on
 * close() (and at exit; `ipc-lab gc` after a crash); an opener only unmaps.
 */
import { C } from "../../ffi/facts.ts";
import { cstr, libc, nativeView, type Pointer, ptrAdd, sys } from "../../ffi/runtime.ts";
import { parseAddress } from "../address.ts";
import { regionObjectName } from "../names/kinds.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { watchStopSignals } from "../os/stop.ts";
import { errnoError, ipcError } from "../errors.ts";
import { fdStat, mapFd, reserveFd } from "../ring/mapping.ts";
import { createOrOpen, HeldDuringWaits, retryUntil } from "../os/wait.ts";

/** Bytes before the body: one cache line. */
const REGION_HEADER = 64;
/** How long an opener waits for a creator that made the object but has not yet written it. */
const INIT_WAIT_MS = 2000;

/** Options for opening a named primitive. */
export interface RegionOptions {
  /** create it if missing (the creator removes the name on close) */
  create?: boolean;
  /** with create: EEXIST if it exists */
  exclusive?: boolean;
  /** permission bits for a new one (default 0o600) */
  mode?: number;
  /** milliseconds to wait for it to exist (default 0) */
  timeout?: number;
}

/** What kind of object a region holds. */
export interface RegionKind {
  /** the address scheme and the /dev/shm prefix, e.g. "mutex" */
  scheme: string;
  /** the u32 stored first, once the body is ready */
  magic: number;
  version: number;
  /** "a mutex", for messages */
  noun: string;
}

/** A mapped primitive object. */
export class SharedRegion {
  /** the address, e.g. "mutex:/jobs" */
  readonly address: string;
  /** true when this handle created it (and removes the name on close) */
  readonly owner: boolean;
  /** bytes of the body */
  readonly bodySize: number;
  /** the body's native address */
  readonly body: Pointer;
  readonly #name: string;
  #closed = false;
  /** the mapping outlives close() while an off-thread wait still uses it */
  readonly #held: HeldDuringWaits;

  /**
   * Open or create `address` (scheme `kind.scheme`). `bodySize`: the body's size when
   * creating; `init` writes a new body before the magic makes it visible.
   */
  constructor(kind: RegionKind, address: string, opts: RegionOptions, bodySize: number | undefined, init: (body: Pointer, size: number) => void) {
    watchStopSignals();
    const addr = parseAddress(address);
    if (addr.scheme !== kind.scheme) throw ipcError("EADDRESS", "open", address, `${kind.noun} address is ${kind.scheme}:/name (got '${address}')`);
    const name = regionObjectName(addr);
    const cname = cstr(name);
    const mode = opts.mode ?? 0o600;
    const { fd, owner } = createOrOpen(
      opts,
      () => sys.shm_open(cname, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_CLOEXEC, mode),
      () => sys.shm_open(cname, C.O_RDWR | C.O_CLOEXEC, 0),
      "shm_open",
      address,
      `no ${kind.noun.replace(/^an? /, "")} ${address}`,
    );
    let base: Pointer | undefined;
    let size = 0;
    try {
      if (owner) {
        if (bodySize === undefined || !Number.isInteger(bodySize) || bodySize <= 0) {
          throw ipcError("EINVAL", "open", address, `creating ${kind.noun} needs a size`);
        }
        size = REGION_HEADER + bodySize;
        reserveFd(fd, size, address, "ask for a smaller size");
        base = mapFd(fd, size, address);
        init(ptrAdd(base, REGION_HEADER), bodySize);
        const w = new Uint32Array(nativeView(base, 0, REGION_HEADER));
        w[1] = kind.version;
        w[2] = bodySize;
        w[3] = process.pid;
        Atomics.store(w, 0, kind.magic); // last: openers wait for it
      } else {
        // the creator may have made the object and not yet sized or written it
        size = retryUntil(
          Math.max(opts.timeout ?? 0, INIT_WAIT_MS),
          () => (fdStat(fd, address).size >= REGION_HEADER ? fdStat(fd, address).size : undefined),
          "open",
          address,
        ) ?? 0;
        if (size < REGION_HEADER) throw ipcError("EPROTO", "open", address, `${name} is not ${kind.noun}: it has no header (${size} bytes)`);
        base = mapFd(fd, size, address);
        const w = new Uint32Array(nativeView(base, 0, REGION_HEADER));
        const ready = retryUntil(INIT_WAIT_MS, () => (Atomics.load(w, 0) === kind.magic ? true : undefined), "open", address);
        const why = !ready
          ? `it does not start with the magic of ${kind.noun} (0x${Atomics.load(w, 0).toString(16)})`
          : w[1] !== kind.version
          ? `its version is ${w[1]}, this ipc-lab speaks ${kind.version}`
          : REGION_HEADER + w[2]! > size
          ? `its body of ${w[2]} bytes does not fit its ${size} bytes`
          : undefined;
        if (why) throw ipcError("EPROTO", "open", address, `${name} is not a usable ${kind.noun.replace(/^an? /, "")}: ${why}`);
      }
    } catch (e) {
      if (base) libc.munmap(base, size);
      if (owner) sys.shm_unlink(cname);
      throw e;
    } finally {
      libc.close(fd);
    }
    const mapped = base!;
    this.address = address;
    this.owner = owner;
    this.#name = name;
    this.body = ptrAdd(mapped, REGION_HEADER);
    this.bodySize = new Uint32Array(nativeView(mapped, 0, REGION_HEADER))[2]!;
    this.#held = new HeldDuringWaits(() => libc.munmap(mapped, size));
    if (owner) closeAtExit(this, address);
  }

  /** A view of `length` body bytes at `offset` (Atomics work on typed arrays over it). */
  view(offset: number, length: number): ArrayBuffer {
    return nativeView(this.body, offset, length);
  }

  /** Keep the mapping until `wait` (an off-thread wait on this memory) settles. */
  track<T>(wait: Promise<T>): Promise<T> {
    return this.#held.track(wait);
  }

  /** true once close() was called */
  get closed(): boolean {
    return this.#closed;
  }

  /** Unmap (once the last off-thread wait has returned); the creator removes the name. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.owner) {
      const r = sys.shm_unlink(cstr(this.#name));
      forgetAtExit(this, this.address);
      if (r < 0 && r !== -C.ENOENT) throw errnoError(-r, "shm_unlink", this.address);
    }
    this.#held.release();
  }
}
