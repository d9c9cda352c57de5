/**
 * `npm run soak`: every mechanism carries a long stream of messages of random sizes from 0
 * to its maximum from a producer process to us; each message holds its sequence number and
 * a pattern derived from it, and every byte is checked — so a lost, duplicated, reordered
 * or corrupted message fails the run. Run unpinned and with both processes on one CPU.
 *
 *   bun test/soak.ts [--count N] [--mech pipe,shm] [--placement unpinned,same-cpu]
 */
import { parseArgs } from "node:util";
import { shim } from "../ffi/runtime.ts";
import { leftovers } from "./support/leaks.ts";
import { dir, mechanisms, prefix } from "./support/mechanisms.ts";
import { checkMessage } from "./support/sequence.ts";

const { values } = parseArgs({ options: { count: { type: "string" }, mech: { type: "string" }, placement: { type: "string" } } });
const wanted = values.mech?.split(",");
const placements = values.placement?.split(",") ?? ["unpinned", "same-cpu"];
/** Slow by nature (a file read per message under a lock; UDP paced by acknowledgements): fewer, and said so. */
const slow: Record<string, number> = { file: 200_000, udp: 200_000, popen: 500_000, spawn: 500_000 };

let failures = 0;
const rows: string[] = [];
for (const placement of placements) {
  if (placement === "same-cpu") {
    process.env.PEER_CPU = "0";
    shim.ipcl_pin_process(0);
  }
  for (const m of mechanisms) {
    if (wanted && !wanted.includes(m.name)) continue;
    const count = Number(values.count ?? slow[m.name] ?? 1_000_000);
    const s = await m.start("send", count);
    const t0 = performance.now();
    let bytes = 0;
    let problem = "";
    try {
      const max = s.here.caps.maxMessageSize;
      const buf = new Uint8Array(max);
      for (let i = 0; i < count && !problem; i++) {
        const n = s.here.recvInto(buf, { timeout: 30_000 });
        problem = checkMessage(i, buf.subarray(0, n), max);
        bytes += n;
        s.received(n);
      }
      if (!problem && (await s.peer.exited) !== 0) problem = `the producer exited with ${s.peer.exitCode}`;
    } catch (e) {
      problem = (e as Error).message;
    } finally {
      s.here.close();
      s.peer.kill();
      await s.peer.exited;
    }
    const secs = (performance.now() - t0) / 1000;
    const verdict = problem ? `FAILED: ${problem}` : "0 lost, 0 duplicated, 0 reordered, 0 corrupted";
    if (problem) failures++;
    const row = `${m.name.padEnd(28)} ${placement.padEnd(9)} ${String(count).padStart(9)} msgs ${(bytes / 2 ** 20).toFixed(0).padStart(6)} MiB ${secs.toFixed(1).padStart(6)} s  ${verdict}`;
    rows.push(row);
    console.log(row);
  }
  if (placement === "same-cpu") {
    delete process.env.PEER_CPU;
    shim.ipcl_pin_process(-1);
  }
}
const left = await leftovers(prefix, [dir]);
if (left.length) {
  console.log(`left behind: ${left.join(", ")}`);
  failures++;
}
console.log(failures ? `${failures} failure(s)` : `soak passed: ${rows.length} runs, nothing lost, nothing left behind`);
process.exitCode = failures ? 1 : 0;
