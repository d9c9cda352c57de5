/**
 * System V shared-memory rings: `sysv-shm:KEY` or `sysv-shm:/path` (ftok). The same ring as
 * shm: over shmget/shmat instead of shm_open/mmap, for comparing the two. The creator
 * removes the segment (IPC_RMID) on close; the kernel frees it after the last detach.
 */
import { C } from "../../ffi/facts.ts";
import { type Pointer, shim } from "../../ffi/runtime.ts";
import type { Address } from "../address.ts";
import { closeAtExit, forgetAtExit } from "../names/cleanup.ts";
import { checkNeg, errnoError, ipcError } from "../errors.ts";
import { RingChannel } from "../ring/channel.ts";
import { checkRingTuning, initRingHeader, RING_HEADER, ringGeometry, ringObjectSize } from "../ring/layout.ts";
import { checkRing, claimOpener, notARing, reserveError, SMALLER_RING } from "../ring/mapping.ts";
import { sysvKey } from "../os/sysv-key.ts";
import { notThere, retryUntil } from "../os/wait.ts";
import { shm, type ShmOptions } from "./shm.ts";
import { mechanism } from "../mechanism.ts";
import { sysvNames } from "../names/kinds.ts";

function attach(id: number, address: string): Pointer {
  const err = new Int32Array(1);
  const p = shim.ipcl_shmat(id, err);
  if (!p) throw errnoError(err[0]!, "shmat", address);
  return p;
}

/** Open or create the System V ring at `sysv-shm:KEY`. */
function openSysvShm(addr: Address, opts: ShmOptions): RingChannel {
  const key = sysvKey(addr);
  checkRingTuning(opts, addr.text);
  if (opts.create) {
    const g = ringGeometry(opts.capacity, opts.maxMessageSize, addr.text, opts.wait);
    const size = ringObjectSize(g);
    const id = shim.ipcl_shmget(key, size, C.IPC_CREAT | C.IPC_EXCL | (opts.mode ?? 0o600));
    if (id >= 0) {
      let base: Pointer;
      try {
        base = attach(id, addr.text);
        // no descriptor to fallocate: fault every page in now, so a lack of memory is an
        // error here rather than a SIGBUS later
        const r = shim.ipcl_populate(base, size);
        if (r < 0 && r !== -C.EINVAL) {
          shim.ipcl_shmdt(base);
          throw reserveError(r, "madvise", addr.text, size, SMALLER_RING);
        }
      } catch (e) {
        shim.ipcl_shm_remove(id);
        throw e;
      }
      initRingHeader(base, g);
      const ch: RingChannel = new RingChannel(
        addr.text,
        "sysv-shm",
        {
          base,
          size,
          release: () => shim.ipcl_shmdt(base),
          unlink: () => {
            shim.ipcl_shm_remove(id);
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
    if (id !== -C.EEXIST || opts.exclusive) checkNeg(id, "shmget", addr.text);
  }
  let last = -C.ENOENT;
  let why = "";
  const found = retryUntil(opts.timeout ?? 0, () => {
    const id = shim.ipcl_shmget(key, 0, 0);
    if (id < 0) {
      if (id !== -C.ENOENT) checkNeg(id, "shmget", addr.text);
      last = id;
      return undefined;
    }
    const size = shim.ipcl_shm_size(id);
    if (size < RING_HEADER.size) {
      why = `it is ${size} bytes, smaller than a ring header`;
      return undefined;
    }
    const base = attach(id, addr.text);
    const r = checkRing(base, size, () => shim.ipcl_shmdt(base));
    if ("why" in r) {
      why = r.why;
      return undefined;
    }
    return r;
  });
  if (!found) {
    if (why) throw notARing(addr.text, `segment ${addr.name}`, why);
    checkNeg(last, "shmget", addr.text, notThere(`no segment with key ${addr.name}`, opts.timeout ?? 0));
    throw ipcError("ENOENT", "shmget", addr.text, "not found");
  }
  const release = claimOpener(found.base, addr.text, `segment ${addr.name}`, () => shim.ipcl_shmdt(found.base));
  return new RingChannel(addr.text, "sysv-shm", { base: found.base, size: found.size, release }, 1, found.g, opts);
}

/** The `sysv-shm:` mechanism. */
export const sysvShm = mechanism<ShmOptions>()({
  scheme: "sysv-shm",
  describe: "sysv-shm:KEY or sysv-shm:/path — a System V shared-memory ring",
  options: shm.options,
  open: (a, o) => openSysvShm(a, o),
  traits: shm.traits,
  names: sysvNames("shm"),
  sample: (u) => `sysv-shm:${u.key}`,
  small: { capacity: 4096 },
});
