/**
 * Robustness (part of the hardening work): corrupted shared memory is refused with a typed
 * error, never a crash or an out-of-bounds access; a storm of signals against both
 * processes during a transfer loses, duplicates or reorders nothing (every wait retries
 * on EINTR).
 */
import { describe, expect, test } from "./support/harness.ts";
import { join } from "node:path";
import { IpcError, open, SharedMemory } from "../lib/index.ts";
import { RING_HEADER } from "../lib/ring/layout.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { lineReader } from "./support/lines.ts";
import { noteMq, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { checkMessage } from "./support/sequence.ts";

const prefix = testPrefix("robust");
let serial = 0;
const peerScript = join(import.meta.dirname, "support", "peer.ts");

describe("corrupted shared memory", () => {
  test("fuzz: 2000 random header corruptions are each refused with IpcError or opened sanely", () => {
    const address = `shm:/${prefix}${++serial}`;
    using ring = open(address, { create: true, capacity: 4096 });
    using raw = new SharedMemory(address);
    const header = new Uint8Array(raw.buffer, 0, RING_HEADER.size);
    const pristine = header.slice();
    let seed = 7;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const fields = ["magic", "version", "header_size", "capacity", "max_message", "wait_kind"] as const;
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      header.set(pristine);
      const view = new DataView(raw.buffer);
      // one field, or a few random bytes anywhere in the header
      if (rand(2) === 0) view.setUint32(RING_HEADER[fields[rand(fields.length)]!], rand(2) ? rand(0x100000000) : rand(64), true);
      else for (let k = rand(8) + 1; k > 0; k--) header[rand(RING_HEADER.size)] = rand(256);
      view.setInt32(RING_HEADER.opener_pid, 0, true); // let every attempt try to attach
      try {
        const ch = open(address);
        // whatever it accepted must be self-consistent
        expect(ch.caps.maxMessageSize).toBeLessThanOrEqual(ch.caps.capacity - 8);
        ch.close();
      } catch (e) {
        expect(e).toBeInstanceOf(IpcError);
        expect(["EPROTO", "EBUSY"]).toContain((e as IpcError).code);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(500);
    header.set(pristine);
    expect(ring.caps.capacity).toBe(4096);
  });

  test("a corrupted message length in the ring is EPROTO, not a read out of bounds", () => {
    const address = `shm:/${prefix}${++serial}`;
    using a = open(address, { create: true, capacity: 4096 });
    using b = open(address);
    a.send("fine");
    using raw = new SharedMemory(address);
    // the first message of direction 0 starts at the data area: claim it is 1 GiB long
    new DataView(raw.buffer).setUint32(RING_HEADER.size, 1 << 30, true);
    expect(expectIpcError(() => b.recv({ timeout: 1000 }), "EPROTO").message).toContain("corrupted");
  });
});

describe("signal storm", () => {
  for (const kind of ["pipe", "shm", "mq"] as const) {
    test(`${kind}: 50 000 messages arrive whole and in order while both processes are flooded with signals`, async () => {
      const address = kind === "pipe" ? "" : kind === "shm" ? `shm:/${prefix}${++serial}` : noteMq(`mq:/${prefix}${++serial}`);
      let here;
      let peer;
      // PEER_READY: the peer says so once open, i.e. after its SIGUSR2 handler is in place
      const env = { ...process.env, PEER_READY: "1" };
      const cmd = (a: string) => [process.execPath, "--preload", join(import.meta.dirname, "support", "ignore-sigusr2.ts"), peerScript, "send", a, "50000"];
      if (kind === "pipe") {
        const { spawnWithPipes } = await import("../lib/public/mechanisms.ts");
        const s = spawnWithPipes(cmd("inherit"), { env, stdout: "pipe", stderr: "pipe" });
        here = s.channel;
        peer = track(s.child) as unknown as Bun.Subprocess<"ignore", "pipe", "inherit">;
      } else {
        here = open(address, { create: true });
        peer = track(Bun.spawn(cmd(address), { env, stdout: "pipe", stderr: "pipe" }));
      }
      expect(await lineReader(peer.stdout as ReadableStream<Uint8Array>).line()).toBe(JSON.stringify({ ready: true }));
      // we take SIGUSR2 too (a handler, so it interrupts our waits rather than killing us)
      let handled = 0;
      const onSignal = () => handled++;
      process.on("SIGUSR2", onSignal);
      // the storm counts the signals it sent, and says so when stopped
      const storm = track(
        Bun.spawn(
          ["/bin/sh", "-c", `n=0; trap 'echo $n; exit 0' TERM; while kill -USR2 ${process.pid} ${peer.pid} 2>/dev/null; do n=$((n+1)); done; echo $n`],
          { stdout: "pipe" },
        ),
      );
      let sent = 0;
      try {
        const max = here.caps.maxMessageSize;
        const buf = new Uint8Array(max);
        for (let i = 0; i < 50_000; i++) {
          const n = here.recvInto(buf, { timeout: 30_000 });
          const problem = checkMessage(i, buf.subarray(0, n), max);
          if (problem) throw new Error(problem);
        }
        expect(await peer.exited).toBe(0);
        storm.kill();
        sent = Number((await new Response(storm.stdout).text()).trim());
        await new Promise((r) => setTimeout(r, 50)); // our handler runs on the event loop
        const peerHandled = Number(/sigusr2 (\d+)/.exec(await new Response(peer.stderr as ReadableStream<Uint8Array>).text())?.[1] ?? 0);
        // the storm really happened: many sent, and both processes handled some (pending
        // signals of one kind merge, so handled counts are far below what was sent)
        expect(sent).toBeGreaterThan(200);
        expect(handled).toBeGreaterThan(0);
        expect(peerHandled).toBeGreaterThan(0);
      } finally {
        storm.kill();
        await storm.exited;
        process.off("SIGUSR2", onSignal);
        here.close();
      }
    }, 60_000);
  }
});

checkLeaks(prefix);
