/**
 * The other process of test/primitives.test.ts. One role per run:
 *   rmw SHM N MODE PEERS  N read-modify-writes (MODE sync, async, or none: no lock — the
 *                         control that shows the test can fail) of the counter at byte 64
 *                         under the Mutex at 0, once all PEERS peers are there (byte 128)
 *   hold MUTEX            lock mutex:/…, print "locked", then wait to be killed
 *   create ADDRESS        create that mutex:/, cond:/ or board:/, print "ready", wait to be killed
 *   block MUTEX|BOARD     print "ready", then block in lock() (a mutex held elsewhere) or
 *                         in wait() (a board): for Ctrl-C
 *   produce SHM N         N times: lock, counter += 1, notify the Condition at 48, unlock
 *   board-write BOARD N   write N values: 2000 bytes, all (i & 0xff), first 4 = i
 *   board-read BOARD N    read until version N, checking that no value is torn
 * Prints one JSON line at the end.
 */
import { Board, Condition, Mutex, SharedMemory } from "../../lib/index.ts";

const [role, address, nArg, flag, peersArg] = process.argv.slice(2) as [string, string, string?, string?, string?];
const n = Number(nArg ?? 0);
const out = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");

if (role === "rmw") {
  using mem = new SharedMemory(address);
  using m = Mutex.at(mem, 0, { init: false });
  const counter = new Int32Array(mem.buffer, 64, 1);
  const ready = new Int32Array(mem.buffer, 128, 1);
  Atomics.add(ready, 0, 1);
  while (Atomics.load(ready, 0) < Number(peersArg)); // start together, or the loops may never overlap
  let died = 0;
  for (let i = 0; i < n; i++) {
    if (flag === "none") {
      // a read and a write that each happen (Atomics: the compiler may not merge them across
      // iterations), with a moment between them, as a real update has
      const v = Atomics.load(counter, 0);
      for (let k = 0; k < 20; k++) Atomics.load(ready, 0);
      Atomics.store(counter, 0, v + 1);
      continue;
    }
    const got = flag === "async" && i % 2 === 0 ? await m.lockAsync({ timeout: 20_000 }) : m.lock({ timeout: 20_000 });
    if (got === "owner-died") {
      died++;
      m.consistent();
    }
    const v = counter[0]!; // a plain read and write: only the mutex keeps them whole
    counter[0] = v + 1;
    m.unlock();
  }
  out({ ok: true, died });
} else if (role === "hold") {
  const m = new Mutex(address);
  m.lock();
  out({ locked: true });
  setInterval(() => {}, 1000); // until SIGKILL
} else if (role === "create") {
  const scheme = address.slice(0, address.indexOf(":"));
  if (scheme === "mutex") new Mutex(address, { create: true });
  else if (scheme === "cond") new Condition(address, { create: true });
  else new Board(address, { create: true, size: 8 });
  out({ ready: true });
  setInterval(() => {}, 1000); // until SIGKILL
} else if (role === "block") {
  if (address.startsWith("board:")) {
    const b = new Board(address);
    out({ ready: true });
    b.wait();
  } else {
    const m = new Mutex(address);
    out({ ready: true });
    m.lock();
  }
  out({ returned: true });
} else if (role === "produce") {
  using mem = new SharedMemory(address);
  using m = Mutex.at(mem, 0, { init: false });
  using c = Condition.at(mem, 48, { init: false });
  const counter = new Int32Array(mem.buffer, 64, 1);
  for (let i = 0; i < n; i++) {
    m.lock();
    counter[0] = counter[0]! + 1;
    c.notifyAll();
    m.unlock();
  }
  out({ ok: true });
} else if (role === "board-write") {
  using b = new Board(address);
  const v = new Uint8Array(2000);
  for (let i = 1; i <= n; i++) {
    v.fill(i & 0xff);
    new DataView(v.buffer).setUint32(0, i, true);
    b.write(v);
  }
  out({ ok: true, version: b.version });
} else if (role === "board-read") {
  using b = new Board(address);
  let reads = 0, torn = 0, last = 0, backwards = 0;
  while (last < n) {
    const got = b.read();
    if (!got) continue;
    reads++;
    const d = got.data;
    const i = new DataView(d.buffer, d.byteOffset).getUint32(0, true);
    if (d.byteLength !== 2000 || i !== got.version || d.subarray(4).some((x) => x !== (i & 0xff))) torn++;
    if (got.version < last) backwards++;
    last = got.version;
  }
  out({ reads, torn, backwards });
} else {
  throw new Error(`unknown role ${role}`);
}
