/**
 * Run inside a private mount namespace whose /dev/shm is a 1 MiB tmpfs (test/enospc.test.ts):
 * opens shared-memory objects larger and smaller than the space left and prints one JSON
 * line per attempt: {what, code, message} for a refusal, {what, ok: true} for a success
 * (after writing every byte of it: a page that could not be backed would be a SIGBUS).
 */
import { open, SharedMemory } from "../../lib/index.ts";
import { IpcError } from "../../lib/errors.ts";

function attempt(what: string, fn: () => void): void {
  try {
    fn();
    console.log(JSON.stringify({ what, ok: true }));
  } catch (e) {
    if (!(e instanceof IpcError)) throw e;
    console.log(JSON.stringify({ what, code: e.code, message: e.message }));
  }
}

const prefix = process.argv[2] ?? "ipcl-enospc-";
attempt("ring of 2 MiB per direction", () => open(`shm:/${prefix}big`, { create: true }).close());
attempt("SharedMemory of 4 MiB", () => new SharedMemory(`shm:/${prefix}mem`, { create: true, size: 4 << 20 }).close());
attempt("ring of 256 KiB per direction, filled", () => {
  using a = open(`shm:/${prefix}small`, { create: true, capacity: 256 << 10, maxMessageSize: 4096 });
  using b = open(a.address);
  const msg = new Uint8Array(4096).fill(7);
  while (a.trySend(msg)) {} // every page of a's direction written
  while (b.trySend(msg)) {} // and b's
});
attempt("a second ring that no longer fits while the first is open", () => {
  using a = open(`shm:/${prefix}one`, { create: true, capacity: 256 << 10 });
  using b = open(`shm:/${prefix}two`, { create: true, capacity: 256 << 10 });
  void a;
  void b;
});
