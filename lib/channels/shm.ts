/**
 * POSIX shared memory rings: `shm:/name` is the object /dev/shm/name (shm_open). The
 * creator makes it with O_EXCL and mode 0600, sizes and initialises it, and unlinks it on
 * close; one peer opens it. Both sides can send and receive (see lib/ring/channel.ts).
 */
import { C } from "../../ffi/facts.ts";
import { cstr, libc, type Pointer, sys } from "../../ffi/runtime.ts";
import { type Address, checkPosixName } from "../address.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { errnoError } from "../errors.ts";
import { RingChannel } from "../ring/channel.ts";
import { checkRingTuning, type RingGeometry, ringGeometry, type RingTuning } from "../ring/layout.ts";
import { claimOpener, initRingFd, mapRingFd, notARing } from "../ring/mapping.ts";
import { notThere, retryUntil } from "../os/wait.ts";
import { mechanism, usualTraits } from "../mechanism.ts";
import { optionNames } from "../options.ts";
import { shmNames } from "../names/kinds.ts";
import { ringConversing } from "./shm-rendezvous.ts";

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
  /** accept a ring created by another user (default: refused, see docs/robustness.md, "Trust model") */
  allowForeignOwner?: boolean;
}

/** Open or create the ring at `shm:/name`. */
export function openShm(addr: Address, opts: ShmOptions): RingChannel {
  const name = checkPosixName(addr);
  checkRingTuning(opts, addr.text);
  const cname = cstr(name);
  if (opts.create) {
    const g = ringGeometry(opts.capacity, opts.maxMessageSize, addr.text, opts.wait);
    const fd = sys.shm_open(cname, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_CLOEXEC, opts.mode ?? 0o600);
    if (fd >= 0) return createRing(addr, name, fd, g, opts);
    if (opts.exclusive || fd !== -C.EEXIST) throw errnoError(-fd, "shm_open", addr.text);
  }
  return attachRing(addr, name, opts);
}

function createRing(addr: Address, name: string, fd: number, g: RingGeometry, opts: ShmOptions): RingChannel {
  let mapped: { base: Pointer; size: number };
  try {
    mapped = initRingFd(fd, g, addr.text);
  } catch (e) {
    libc.shm_unlink(cstr(name));
    throw e;
  } finally {
    libc.close(fd); // the mapping keeps the memory; the name keeps the object findable
  }
  const { base, size } = mapped;
  const ch: RingChannel = new RingChannel(
    addr.text,
    "shm",
    {
      base,
      size,
      release: () => libc.munmap(base, size),
      unlink: () => {
        libc.shm_unlink(cstr(name));
        forgetAtExit(ch, addr.text);
      },
    },
    0,
    g,
    opts,
  );
  closeAtExit(ch, addr.text);
  return ch;
}

function attachRing(addr: Address, name: string, opts: ShmOptions): RingChannel {
  const cname = cstr(name);
  let lastErr = 0;
  let why = "";
  // wait for the object to exist and for its creator to finish the header
  const attached = retryUntil(opts.timeout ?? 0, () => {
    const fd = sys.shm_open(cname, C.O_RDWR | C.O_CLOEXEC, 0);
    if (fd < 0) {
      lastErr = -fd;
      if (lastErr !== C.ENOENT) throw errnoError(lastErr, "shm_open", addr.text);
      return undefined;
    }
    try {
      const r = mapRingFd(fd, addr.text, opts.allowForeignOwner);
      if ("why" in r) {
        why = r.why;
        return undefined;
      }
      return r;
    } finally {
      libc.close(fd);
    }
  });
  if (!attached) {
    if (why) throw notARing(addr.text, name, why);
    throw errnoError(lastErr || C.ENOENT, "shm_open", addr.text, notThere(`no ring ${name}`, opts.timeout ?? 0));
  }
  const { base, size, g } = attached;
  const release = claimOpener(base, addr.text, name, () => libc.munmap(base, size));
  return new RingChannel(addr.text, "shm", { base, size, release }, 1, g, opts);
}

/** The `shm:` mechanism. */
export const shm = mechanism<ShmOptions>()({
  scheme: "shm",
  describe: "shm:/name — a POSIX shared-memory ring (/dev/shm/name)",
  options: optionNames<ShmOptions>()(
    "create",
    "exclusive",
    "mode",
    "capacity",
    "maxMessageSize",
    "timeout",
    "allowForeignOwner",
    "spin",
    "wait",
    "peerCheckMs",
    "hotPath",
  ),
  open: (a, o) => openShm(a, o),
  traits: { ...usualTraits, boundaries: "framed", duplex: true, pollable: false, maxMessageSize: 1 << 20 },
  names: shmNames,
  sample: (u) => `shm:/${u.tag}`,
  converse: ringConversing(openShm),
  small: { capacity: 4096 },
});
