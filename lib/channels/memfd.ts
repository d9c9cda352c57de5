/**
 * Anonymous shared-memory rings: memfd_create + mmap, handed to a child as a descriptor.
 * Nothing is named, so nothing can leak. The creator (side 0) makes the ring; the child
 * opens `memfd:3` (the fd number it inherited) and becomes side 1.
 */
import type { ChildProcess } from "../../ffi/process.ts";
import { cstr, libc, shim } from "../../ffi/runtime.ts";
import { type Address, parseFds } from "../address.ts";
import { checkNeg } from "../errors.ts";
import { RingChannel } from "../ring/channel.ts";
import { checkRingTuning, ringGeometry, type RingTuning, ringTuningNames } from "../ring/layout.ts";
import { claimOpener, initRingFd, mapRingFd, notARing } from "../ring/mapping.ts";
import { type SpawnOptions, spawnWith } from "../os/inherit.ts";
import { mechanism, usualTraits } from "../mechanism.ts";

/** Options for memfd rings. */
export interface MemfdOptions extends RingTuning {
  /** bytes per direction, a power of two (default 2 MiB) */
  capacity?: number;
  /** largest message (default min(1 MiB, capacity/2)) */
  maxMessageSize?: number;
}

/** A memfd ring made by this process, before its descriptor is handed on. */
export interface MemfdRing {
  /** our side of the ring */
  channel: RingChannel;
  /** the memfd; pass it to the peer, then close it (spawnWithMemfd does both) */
  fd: number;
}

/** Create an anonymous ring. The caller passes `fd` to the peer, which opens `memfd:N`. */
export function createMemfdRing(opts: MemfdOptions = {}): MemfdRing {
  checkRingTuning(opts, "memfd:");
  const g = ringGeometry(opts.capacity, opts.maxMessageSize, "memfd:", opts.wait);
  const fd = checkNeg(shim.ipcl_memfd(cstr("ipc-lab-ring")), "memfd_create", "memfd:");
  let mapped;
  try {
    mapped = initRingFd(fd, g, "memfd:");
  } catch (e) {
    libc.close(fd);
    throw e;
  }
  const { base, size } = mapped;
  const channel = new RingChannel(`memfd:${fd}`, "memfd", { base, size, release: () => libc.munmap(base, size) }, 0, g, opts);
  return { channel, fd };
}

/** Open `memfd:N`: the ring behind an inherited descriptor N. */
function openMemfd(addr: Address, opts: RingTuning): RingChannel {
  const [fd] = parseFds(addr) as [number];
  checkRingTuning(opts, addr.text);
  const r = mapRingFd(fd, addr.text);
  libc.close(fd); // the mapping is all we need
  if ("why" in r) throw notARing(addr.text, `descriptor ${fd}`, r.why);
  // memfd:N names a descriptor number, which a later ring may reuse: no same-process check
  const release = claimOpener(r.base, addr.text, `descriptor ${fd}`, () => libc.munmap(r.base, r.size), false);
  return new RingChannel(addr.text, "memfd", { base: r.base, size: r.size, release }, 1, r.g, opts);
}

/** Spawn cmd with a fresh memfd ring as its fd 3 (it opens IPC_LAB_CHANNEL = "memfd:3"). */
export function spawnWithMemfd(cmd: string[], opts: MemfdOptions & SpawnOptions = {}): { channel: RingChannel; child: ChildProcess } {
  const { channel, fd } = createMemfdRing(opts);
  try {
    const child = spawnWith(cmd, { fds: [fd], address: "memfd:3" }, opts);
    channel.expectPeer(child.pid);
    return { channel, child };
  } catch (e) {
    channel.close();
    throw e;
  }
}

/** The `memfd:` mechanism. */
export const memfd = mechanism<RingTuning>()({
  scheme: "memfd",
  describe: "memfd:N — a shared-memory ring behind an inherited memfd descriptor",
  options: ringTuningNames,
  open: (a, o) => openMemfd(a, o),
  traits: { ...usualTraits, boundaries: "framed", duplex: true, pollable: false, maxMessageSize: 1 << 20 },
  inherit: (cmd, opts) => spawnWithMemfd(cmd, opts),
});
