/**
 * The ring's memory layout (ffi/ipcl_ring.h; offsets from the shim, never from this file):
 * its header and direction words, its geometry (capacity, largest message, wait kind),
 * writing and checking a header, and the options that tune a ring end.
 */
import { fact, layout } from "../../ffi/facts.ts";
import { nativeView, type Pointer, ptrAdd, shim } from "../../ffi/runtime.ts";
import { errnoError, ipcError } from "../errors.ts";
import { optionNames } from "../options.ts";

/** Field offsets of struct ipcl_ring_header, from the shim. */
export const RING_HEADER = layout(
  "ring_header",
  [
    "magic",
    "version",
    "header_size",
    "capacity",
    "max_message",
    "creator_pid",
    "opener_pid",
    "wait_kind",
    "dir",
  ] as const,
);
/** Field offsets of struct ipcl_ring_dir, from the shim. */
export const RING_DIR = layout(
  "ring_dir",
  ["head", "producer_waiting", "tail", "consumer_waiting", "closed", "producer_relaxed", "data_ready", "space_ready"] as const,
);
const WAIT_FUTEX = fact("IPCL_RING_WAIT_FUTEX");
const WAIT_SEMAPHORE = fact("IPCL_RING_WAIT_SEMAPHORE");
export const MAGIC = fact("IPCL_RING_MAGIC");
export const VERSION = fact("IPCL_RING_VERSION");
const ALIGN = fact("IPCL_RING_ALIGN");
export const PAD = fact("IPCL_RING_PAD");
/** Bits of the `how` argument of the shim's ring calls (ffi/shim/ring.c); bit 0 is the direction. */
export const HOW_SEMAPHORE = fact("IPCL_RING_HOW_SEMAPHORE");
export const HOW_HOLD = fact("IPCL_RING_HOW_HOLD");

/** Bytes a message of `len` takes in the ring: its length word and payload, padded to ALIGN. */
export const recordSize = (len: number) => (len + 4 + ALIGN - 1) & ~(ALIGN - 1);

/** Smallest and largest ring capacity per direction (bytes, powers of two). */
const RING_MIN_CAPACITY = 4096;
const RING_MAX_CAPACITY = 1 << 30;
/** Default bytes per direction and default largest message. */
const RING_DEFAULT_CAPACITY = 2 << 20;
const RING_DEFAULT_MAX = 1 << 20;
/** How a ring side sleeps when it must wait: a futex on the shared word, or a process-shared semaphore. */
export type RingWait = "futex" | "semaphore";

/** Geometry of a ring object (and how its sides sleep). */
export interface RingGeometry {
  /** bytes per direction (power of two) */
  capacity: number;
  /** largest payload */
  maxMessage: number;
  /** wait strategy, chosen by the creator (default futex) */
  wait?: RingWait;
}

/** Total object size for a geometry. */
export function ringObjectSize(g: RingGeometry): number {
  return RING_HEADER.size + 2 * g.capacity;
}

/** Check (and default) capacity, maxMessageSize and wait options. */
export function ringGeometry(capacity: number | undefined, maxMessage: number | undefined, address: string, wait: RingWait = "futex"): RingGeometry {
  const cap = capacity ?? RING_DEFAULT_CAPACITY;
  if (!Number.isInteger(cap) || cap < RING_MIN_CAPACITY || cap > RING_MAX_CAPACITY || (cap & (cap - 1)) !== 0) {
    throw ipcError("EINVAL", "open", address, `capacity must be a power of two from ${RING_MIN_CAPACITY} to ${RING_MAX_CAPACITY} bytes (got ${cap})`);
  }
  const limit = cap - ALIGN;
  const max = maxMessage ?? Math.min(RING_DEFAULT_MAX, cap / 2);
  if (!Number.isInteger(max) || max < 0 || max > limit) {
    throw ipcError(
      "EINVAL",
      "open",
      address,
      `maxMessageSize must be from 0 to ${limit} for a ${cap}-byte ring (capacity - ${ALIGN}); raise capacity for larger messages (got ${max})`,
    );
  }
  if (wait !== "futex" && wait !== "semaphore") throw ipcError("EINVAL", "open", address, `wait must be "futex" or "semaphore" (got ${String(wait)})`);
  return { capacity: cap, maxMessage: max, wait };
}

/**
 * Check a ring's tuning options (RingTuning) before anything is created or mapped: a
 * refused option must leave no object behind. The ring's constructor checks them too.
 */
export function checkRingTuning(t: RingTuning, address: string): void {
  const check = t.peerCheckMs;
  if (check !== undefined && !(check >= 1 && check <= 2 ** 31 - 1)) {
    throw ipcError("EINVAL", "open", address, `peerCheckMs must be from 1 to 2^31-1 ms (got ${check})`);
  }
  const hot = t.hotPath;
  if (hot !== undefined && hot !== "js" && hot !== "shim") throw ipcError("EINVAL", "open", address, `hotPath must be "js" or "shim" (got ${String(hot)})`);
}

/** Word index of a header field, for Atomics on a Uint32Array over the mapping. */
export const hdr = (field: keyof typeof RING_HEADER) => RING_HEADER[field] / 4;
export const dirWord = (dir: 0 | 1, field: keyof typeof RING_DIR) => (RING_HEADER.dir + dir * RING_DIR.size + RING_DIR[field]) / 4;

/** The memory of a ring: native (an mmap'd or shmat'd address) or a SharedArrayBuffer (Workers). */
export type RingMemory = Pointer | SharedArrayBuffer;

export function isShared(m: RingMemory): m is SharedArrayBuffer {
  return m instanceof SharedArrayBuffer;
}

/** `length` bytes of the ring memory at `offset`, as a buffer typed arrays can view. */
export function region(m: RingMemory, offset: number, length: number): ArrayBufferLike {
  return isShared(m) ? m : nativeView(m, offset, length);
}

/** Byte offset to add when viewing `region(m, offset, …)`: the SAB is viewed whole. */
export function regionOffset(m: RingMemory, offset: number): number {
  return isShared(m) ? offset : 0;
}

/** Write a fresh header (the creator, before anyone can attach). Magic goes last. */
export function initRingHeader(base: RingMemory, g: RingGeometry): void {
  const w = new Uint32Array(region(base, 0, RING_HEADER.size), 0, RING_HEADER.size / 4);
  w.fill(0);
  w[hdr("version")] = VERSION;
  w[hdr("header_size")] = RING_HEADER.size;
  w[hdr("capacity")] = g.capacity;
  w[hdr("max_message")] = g.maxMessage;
  w[hdr("creator_pid")] = process.pid;
  w[hdr("wait_kind")] = g.wait === "semaphore" ? WAIT_SEMAPHORE : WAIT_FUTEX;
  if (g.wait === "semaphore") {
    if (isShared(base)) throw ipcError("EINVAL", "open", undefined, "a ring in a SharedArrayBuffer waits with Atomics, not semaphores");
    for (const d of [0, 1] as const) {
      for (const f of ["data_ready", "space_ready"] as const) {
        const r = shim.ipcl_sem_init_shared(ptrAdd(base, RING_HEADER.dir + d * RING_DIR.size + RING_DIR[f]), 0);
        if (r < 0) throw errnoError(-r, "sem_init", undefined);
      }
    }
  }
  Atomics.store(w, hdr("magic"), MAGIC);
}

/**
 * Validate the header of an existing object of `size` bytes; return its geometry, or a
 * sentence saying why it is not a usable ipc-lab ring.
 */
export function readRingHeader(base: RingMemory, size: number): RingGeometry | string {
  if (size < RING_HEADER.size) return `it is ${size} bytes, smaller than a ring header (${RING_HEADER.size})`;
  const w = new Uint32Array(region(base, 0, RING_HEADER.size), 0, RING_HEADER.size / 4);
  const magic = Atomics.load(w, hdr("magic"));
  if (magic !== MAGIC) return `it does not start with the ipc-lab ring magic (found 0x${magic.toString(16)})`;
  if (w[hdr("version")] !== VERSION) return `its ring version is ${w[hdr("version")]}, this ipc-lab speaks ${VERSION}`;
  if (w[hdr("header_size")] !== RING_HEADER.size) return `its header size ${w[hdr("header_size")]} differs from ${RING_HEADER.size}`;
  const capacity = w[hdr("capacity")]!;
  const maxMessage = w[hdr("max_message")]!;
  if (capacity < RING_MIN_CAPACITY || capacity > RING_MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    return `its capacity ${capacity} is not a valid power of two`;
  }
  if (maxMessage > capacity - ALIGN) return `its maxMessageSize ${maxMessage} does not fit its capacity ${capacity}`;
  if (size < ringObjectSize({ capacity, maxMessage })) return `it is ${size} bytes, too small for its capacity ${capacity}`;
  const kind = w[hdr("wait_kind")];
  if (kind !== WAIT_FUTEX && kind !== WAIT_SEMAPHORE) return `its wait kind ${kind} is unknown`;
  return { capacity, maxMessage, wait: kind === WAIT_SEMAPHORE ? "semaphore" : "futex" };
}

/** The mapping a RingChannel runs over, and how to let it go. */
export interface RingMapping {
  /** native memory (futex or semaphore waits), or a SharedArrayBuffer (Atomics.wait) */
  base: RingMemory;
  size: number;
  /** unmap: called once on close, or once the last async wait on the memory has returned */
  release(): void;
  /**
   * the owner's name removal (shm_unlink, IPC_RMID): called once on close, at once, even
   * while an async wait still uses the memory (the mapping outlives the name)
   */
  unlink?(): void;
  /**
   * false when the two sides share one process (a Worker's ring): a side that ends
   * without close() cannot be seen, only one that closes (default true)
   */
  peerExitVisible?: boolean;
}

/** Tuning for a ring end. */
export interface RingTuning {
  /** busy-poll iterations before sleeping (default: 20000, or 0 when only one CPU is allowed) */
  spin?: number;
  /** creator only: sleep on a futex (default) or on process-shared semaphores in the ring */
  wait?: RingWait;
  /**
   * how often a sleeping side wakes to see whether its peer still exists, in ms (default
   * 100): lower notices a dead peer sooner, higher wakes less often
   */
  peerCheckMs?: number;
  /**
   * how a message is copied in and out: "js" (JavaScript over the mapping) or "shim" (one
   * native call per send or receive, ffi/shim/ring.c); default: whichever measured faster on
   * this runtime (docs/benchmark.md). Both speak the same layout, so the sides may differ.
   */
  hotPath?: RingHotPath;
}

/** The ways a ring side copies messages (RingTuning.hotPath). */
export type RingHotPath = "js" | "shim";

/** The names of RingTuning, as a run-time list. */
export const ringTuningNames = optionNames<RingTuning>()("spin", "wait", "peerCheckMs", "hotPath");
