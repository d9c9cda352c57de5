/**
 * The memory of a topic (and of a work queue, a topic with one shared cursor): its layout
 * — header words, subscriber slots, participant slots, the data ring — its geometry, how a
 * participant attaches (creating it, or checking what another made) under the object's
 * flock, and how it leaves (the last one out removes the name). lib/channels/topic.ts is
 * the channel over it.
 */
import { C, fact } from "../../ffi/facts.ts";
import { cstr, libc, nativeView, type Pointer, shim, sys } from "../../ffi/runtime.ts";
import type { Address } from "../address.ts";
import { checkNeg, errnoError, ipcError } from "../errors.ts";
import { regionObjectName } from "../names/kinds.ts";
import { processAlive } from "../names/peer-watch.ts";
import { ownerOf, register, unregister } from "../names/registry.ts";
import { fdStat, mapFd, reserveFd } from "../ring/mapping.ts";

/** Options of `topic:` (set by whoever creates it; an opener's that differ are EINVAL). */
export interface TopicOptions {
  /** bytes of the data ring, a power of two (default 1 MiB) */
  capacity?: number;
  /** largest message (default and maximum: capacity / 2 - 8) */
  maxMessageSize?: number;
  /** how many subscribers at once (default 64) */
  maxSubscribers?: number;
  /** how many earlier messages a new subscriber gets (default 0) */
  history?: number;
  /** when the slowest live subscriber is a full ring behind: publishers wait ("block", default), or overwrite ("drop-oldest") */
  policy?: "block" | "drop-oldest";
  /** with create: EEXIST if it exists (by default a topic is opened, or created if missing) */
  exclusive?: boolean;
  /** permission bits of a new topic (default 0o600) */
  mode?: number;
  /** how often a waiting publisher looks for dead subscribers, and a subscriber's wait slice, in ms (default 100) */
  peerCheckMs?: number;
}

export const MAGIC = 0x43504f54; // "TOPC"
/** A work queue (shm-queue:, lib/channels/shm-queue.ts) is a topic with one shared cursor: "SHMQ". */
const QUEUE_MAGIC = 0x514d4853;
/** The shared cursor's pid word: never a process, never reaped. */
const QUEUE_CURSOR = -1;
/** 2: the waiting words are flags their waker clears, and readers sleep on `wakes` (version 1 counted sleepers, who slept on `head`) */
export const VERSION = 2;
export const PAD = 0xffffffff;
export const LINE = 64;
const PARTICIPANTS = 256;
const DEFAULT_CAPACITY = 1 << 20;
// word indexes in the control area (u32 each; docs/wire-formats.md)
export const W = {
  magic: 0,
  version: 1,
  capacity: 2,
  maxMessage: 3,
  maxSubscribers: 4,
  history: 5,
  policy: 6,
  // line 1: publishing
  publisher: 16,
  head: 17,
  seq: 18,
  /** a reader is about to sleep (1) — set by readers, cleared by the publisher that wakes them */
  readersWaiting: 19,
  lastPublisher: 20,
  /** bumped by each new subscriber: publishers' cached slowest tail is stale then */
  epoch: 21,
  /** work queues: the consumer taking a message (its pid), as the publisher word */
  consumer: 22,
  /** the readers' futex word: bumped by a publisher that clears readersWaiting, before it wakes them */
  wakes: 23,
  // line 2: the oldest intact record, and publishers waiting for room
  oldest: 32,
  oldestSeq: 33,
  room: 34,
  /** a publisher is about to sleep on `room` (1) — cleared by whoever bumps `room` and wakes it */
  writersWaiting: 35,
} as const;
/** A subscriber line's words: pid (0: free), tail (bytes read), next sequence, missed. */
export const S = { pid: 0, tail: 1, next: 2, missed: 3 } as const;
export const ECANCELED = fact("ECANCELED");

export const recordSize = (len: number) => (len + 8 + 7) & ~7;
/** The pad before a record of `len` bytes written at free-running `head` (ring `mask`): the rest of the data area when it would straddle the end. */
export function padBefore(head: number, len: number, mask: number): number {
  const pos = head & mask;
  return pos + recordSize(len) > mask + 1 ? mask + 1 - pos : 0;
}
/** Where `head` stands after a record of `len` bytes and its pad. */
export const recordEnd = (head: number, len: number, mask: number) => (head + padBefore(head, len, mask) + recordSize(len)) >>> 0;
/** Looks at a taken publisher word before a send waits instead (on `room`, which commits bump): ~1 ms of yields. */
export const TURN_TRIES = 2048;
/** Spin iterations before a sync receive sleeps, when this process may use more than one CPU (as the ring). */
export const SPIN = 20_000;
export const align = (n: number) => Math.ceil(n / LINE) * LINE;

/** Where each part of the object starts, from its geometry. */
export function layoutOf(capacity: number, maxSubscribers: number, history: number) {
  const hist = 3 * LINE;
  const parts = hist + align(history * 8);
  const subs = parts + align(PARTICIPANTS * 4);
  const data = subs + maxSubscribers * LINE;
  return { hist, parts, subs, data, size: data + capacity };
}

export interface Geometry {
  capacity: number;
  maxMessage: number;
  maxSubscribers: number;
  history: number;
  policy: 0 | 1;
}

export function geometry(o: TopicOptions, address: string): Geometry {
  const capacity = o.capacity ?? DEFAULT_CAPACITY;
  const bad = (what: string) => ipcError("EINVAL", "open", address, what);
  if (!Number.isInteger(capacity) || capacity < 4096 || capacity > 1 << 30 || (capacity & (capacity - 1)) !== 0) {
    throw bad(`capacity must be a power of two from 4096 to 2^30 bytes (got ${capacity})`);
  }
  const limit = capacity / 2 - 8;
  const maxMessage = o.maxMessageSize ?? Math.min(limit, 1 << 16);
  if (!Number.isInteger(maxMessage) || maxMessage < 0 || maxMessage > limit) {
    throw bad(
      `maxMessageSize must be from 0 to ${limit} for a ${capacity}-byte topic (capacity / 2 - 8); raise capacity for larger messages (got ${maxMessage})`,
    );
  }
  const maxSubscribers = o.maxSubscribers ?? 64;
  if (!Number.isInteger(maxSubscribers) || maxSubscribers < 1 || maxSubscribers > 1024) {
    throw bad(`maxSubscribers must be from 1 to 1024 (got ${maxSubscribers})`);
  }
  const history = o.history ?? 0;
  if (!Number.isInteger(history) || history < 0 || history > 65536) throw bad(`history must be from 0 to 65536 messages (got ${history})`);
  const policy = o.policy ?? "block";
  if (policy !== "block" && policy !== "drop-oldest") throw bad(`policy must be "block" or "drop-oldest" (got ${String(policy)})`);
  return { capacity, maxMessage, maxSubscribers, history, policy: policy === "block" ? 0 : 1 };
}

/** The object, mapped: its words, and where its parts are. */
export interface Mapped {
  base: Pointer;
  size: number;
  ino: bigint;
  w: Uint32Array;
  g: Geometry;
  /** whether we created it */
  owner: boolean;
  /** our slot in the participants table */
  part: number;
}

/** Run `f` holding flock(LOCK_EX) on the object's descriptor. */
function underLock<T>(fd: number, address: string, f: () => T): T {
  checkNeg(shim.ipcl_flock(fd, C.LOCK_EX), "flock", address);
  try {
    return f();
  } finally {
    shim.ipcl_flock(fd, C.LOCK_UN);
  }
}

/** Open or create the topic's object and claim a participant slot (under its flock). */
export function attach(addr: Address, o: TopicOptions & { create?: boolean; timeout?: number }, queue: boolean): Mapped {
  const name = regionObjectName(addr);
  const wanted = geometry(o, addr.text);
  const magic = queue ? QUEUE_MAGIC : MAGIC;
  for (;;) {
    const create = o.create !== false;
    const fd = sys.shm_open(cstr(name), C.O_RDWR | C.O_CLOEXEC | (create ? C.O_CREAT : 0) | (o.exclusive ? C.O_EXCL : 0), o.mode ?? 0o600);
    if (fd < 0) {
      throw errnoError(-fd, "shm_open", addr.text, fd === -C.ENOENT ? `no topic ${addr.text}: open it without create: false, and it is created` : undefined);
    }
    try {
      const got = underLock(fd, addr.text, () => {
        const st = fdStat(fd, addr.text);
        if (st.nlink === 0) return undefined; // its last participant removed it meanwhile: open the name again
        const fresh = st.size === 0;
        const l = layoutOf(wanted.capacity, wanted.maxSubscribers, wanted.history);
        if (fresh) reserveFd(fd, l.size, addr.text, "open with a smaller capacity");
        const size = fresh ? l.size : st.size;
        const base = mapFd(fd, size, addr.text);
        const w = new Uint32Array(nativeView(base, 0, LINE * 3));
        try {
          if (fresh) {
            w[W.version] = VERSION;
            w[W.capacity] = wanted.capacity;
            w[W.maxMessage] = wanted.maxMessage;
            w[W.maxSubscribers] = wanted.maxSubscribers;
            w[W.history] = wanted.history;
            w[W.policy] = wanted.policy;
            if (queue) new Int32Array(nativeView(base, layoutOf(wanted.capacity, 1, 0).subs, LINE))[S.pid] = QUEUE_CURSOR; // the one cursor every consumer shares
            Atomics.store(w, W.magic, magic);
          }
          const g = checkHeader(w, size, addr.text, o, magic);
          const part = claimParticipant(new Int32Array(nativeView(base, layoutOf(g.capacity, g.maxSubscribers, g.history).parts, PARTICIPANTS * 4)), addr.text);
          return { base, size, ino: st.ino, w, g, owner: fresh, part };
        } catch (e) {
          libc.munmap(base, size);
          if (fresh) sys.shm_unlink(cstr(name));
          throw e;
        }
      });
      if (got) return got;
    } finally {
      libc.close(fd);
    }
  }
}

/** Validate an existing topic's control area, and that the options asked for match it. */
function checkHeader(w: Uint32Array, size: number, address: string, o: TopicOptions, magic: number): Geometry {
  const proto = (why: string) => ipcError("EPROTO", "open", address, `${address} is not usable: ${why}`);
  if (Atomics.load(w, W.magic) !== magic) throw proto(`it does not start with the magic 0x${magic.toString(16)} (found 0x${w[W.magic]!.toString(16)})`);
  if (w[W.version] !== VERSION) {
    throw proto(
      `its layout version is ${w[W.version]}, this ipc-lab speaks ${VERSION}: run the same ipc-lab release in every participant, or use another name`,
    );
  }
  const g: Geometry = {
    capacity: w[W.capacity]!,
    maxMessage: w[W.maxMessage]!,
    maxSubscribers: w[W.maxSubscribers]!,
    history: w[W.history]!,
    policy: w[W.policy] === 1 ? 1 : 0,
  };
  if (layoutOf(g.capacity, g.maxSubscribers, g.history).size > size) throw proto(`it is ${size} bytes, too small for its geometry`);
  const differs = (
    [
      ["capacity", o.capacity, g.capacity],
      ["maxMessageSize", o.maxMessageSize, g.maxMessage],
      ["maxSubscribers", o.maxSubscribers, g.maxSubscribers],
      ["history", o.history, g.history],
      ["policy", o.policy, g.policy === 0 ? "block" : "drop-oldest"],
    ] as const
  ).find(([, asked, has]) => asked !== undefined && asked !== has);
  if (differs) {
    throw ipcError(
      "EINVAL",
      "open",
      address,
      `${address} exists with ${differs[0]} ${differs[2]} (asked for ${differs[1]}): leave the option out, or use another name`,
    );
  }
  return g;
}

/** Take a free (or dead) participant slot: one per open channel, so two in one process count twice. */
function claimParticipant(parts: Int32Array, address: string): number {
  for (let i = 0; i < parts.length; i++) {
    const pid = Atomics.load(parts, i);
    if (pid === 0 || (pid !== process.pid && !processAlive(pid))) {
      if (Atomics.compareExchange(parts, i, pid, process.pid) === pid) return i;
    }
  }
  throw ipcError("EBUSY", "open", address, `${address} already has ${PARTICIPANTS} live participants, the most a topic holds`);
}

/** Give up participant slot `m.part` under the object's flock; the last one out removes the name. */
export function leave(name: string, address: string, m: Mapped): void {
  const parts = new Int32Array(nativeView(m.base, layoutOf(m.g.capacity, m.g.maxSubscribers, m.g.history).parts, PARTICIPANTS * 4));
  const release = () => Atomics.compareExchange(parts, m.part, process.pid, 0);
  const fd = sys.shm_open(cstr(name), C.O_RDWR | C.O_CLOEXEC, 0);
  if (fd < 0) {
    release(); // the name is gone already (gc, or remove()): just let go
    return;
  }
  try {
    underLock(fd, address, () => {
      release();
      if (fdStat(fd, address).ino !== m.ino) return; // the name now belongs to a newer topic
      let heir = 0;
      for (let k = 0; k < parts.length && heir === 0; k++) {
        const pid = Atomics.load(parts, k);
        if (pid !== 0 && processAlive(pid)) heir = pid; // our own pid too: another channel of ours is still open
      }
      if (heir === 0) {
        sys.shm_unlink(cstr(name));
        unregister(address);
      } else if (heir !== process.pid && ownerOf(address) === process.pid) register(address, heir); // gc must not take it while others use it
    });
  } finally {
    libc.close(fd);
  }
}
