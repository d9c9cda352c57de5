/**
 * `npm run soak`: every mechanism carries a long stream of messages of random sizes from 0
 * to its maximum from a producer process to us; each message holds its sequence number and
 * a pattern derived from it, and every byte is checked. Lost, duplicated, reordered,
 * corrupted and extra messages are tallied separately over the whole run (test/support/
 * sequence.ts: Tally) and any of them fails it. Run unpinned and with both processes on
 * one CPU (checked from /proc: every thread of both may run on CPU 0 only).
 *
 *   bun test/soak.ts [--count N] [--mech pipe,shm] [--placement unpinned,same-cpu]
 */
import { parseArgs } from "node:util";
import { shim } from "../ffi/runtime.ts";
import { leftovers } from "./support/leaks.ts";
import { dir, mechanisms, prefix } from "./support/mechanisms.ts";
import { readdirSync, readFileSync } from "node:fs";
import { type Channel, IpcError } from "../lib/index.ts";
import { Tally } from "./support/sequence.ts";

/** Faults (other than lost messages) after which a run stops: enough to tell kinds apart. */
const FAULT_LIMIT = 1000;

/** recvInto within `ms`: the length, -1 on timeout, -2 at end of stream. */
function receive(ch: Channel, buf: Uint8Array, ms: number): number {
  try {
    return ch.recvInto(buf, { timeout: ms });
  } catch (e) {
    if (e instanceof IpcError && e.code === "ETIMEDOUT") return -1;
    if (e instanceof IpcError && e.code === "EOF") return -2;
    throw e;
  }
}

/** The CPUs each thread of `pid` may run on ("0", "0-1", …), distinct. */
function cpusOf(pid: number | "self"): string[] {
  const out = new Set<string>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.add(/Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${t}/status`, "utf8"))![1]!);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return [...out];
}

/** "" when this process and the producer run on CPU 0 only, else what is wrong. */
function pinningProblem(peer: number): string {
  const ours = cpusOf("self");
  const theirs = cpusOf(peer);
  return ours.join() === "0" && theirs.join() === "0"
    ? ""
    : `pinning did not hold: our threads may run on ${ours.join(" / ")}, the producer's on ${theirs.join(" / ")}`;
}

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
    const max = s.here.caps.maxMessageSize;
    const tally = new Tally(count, max);
    try {
      const buf = new Uint8Array(max);
      // until `count` messages have arrived, past any fault (bounded); a silence of 30 s or
      // an early end of stream ends it, and what did not come counts as lost
      while (tally.received < count) {
        const n = receive(s.here, buf, 30_000);
        if (n < 0) {
          problem = n === -1 ? "no message for 30 s" : "the stream ended early";
          break;
        }
        tally.add(buf.subarray(0, n));
        bytes += n;
        s.received(n);
        if (tally.misdelivered > FAULT_LIMIT) {
          problem = `stopped after ${FAULT_LIMIT} faults`;
          break;
        }
        if (tally.received === 1 && placement === "same-cpu") problem = pinningProblem(s.peer.pid);
      }
      // nothing may follow the last message: what comes within 200 ms (or before EOF) is extra
      for (let n = receive(s.here, buf, 200); n >= 0; n = receive(s.here, buf, 200)) tally.add(buf.subarray(0, n));
      if ((await s.peer.exited) !== 0 && !problem) problem = `the producer exited with ${s.peer.exitCode}`;
    } catch (e) {
      problem = (e as Error).message;
    } finally {
      s.here.close();
      s.peer.kill();
      await s.peer.exited;
    }
    const secs = (performance.now() - t0) / 1000;
    const verdict = `${tally}${problem ? ` — FAILED: ${problem}` : tally.faults ? " — FAILED" : ""}`;
    if (problem || tally.faults) failures++;
    const row = `${m.name.padEnd(28)} ${placement.padEnd(9)} ${String(count).padStart(9)} msgs ${(bytes / 2 ** 20).toFixed(0).padStart(6)} MiB ${
      secs.toFixed(1).padStart(6)
    } s  ${verdict}`;
    rows.push(row);
    console.log(row);
  }
  if (placement === "same-cpu") {
    delete process.env.PEER_CPU;
    shim.ipcl_pin_process(-1);
  }
}
const left = await leftovers(prefix, [dir], true);
if (left.length) {
  console.log(`left behind: ${left.join(", ")}`);
  failures++;
}
console.log(failures ? `${failures} failure(s)` : `soak passed: ${rows.length} runs, nothing lost, nothing left behind`);
process.exitCode = failures ? 1 : 0;
