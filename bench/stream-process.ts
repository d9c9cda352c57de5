/**
 * An ipc-lab stream row measured in a process of its own, as a program that uses one
 * mechanism runs it:
 *   bun bench/stream-process.ts '{"mechanism":"shm","size":64,"count":200000,"placement":"same-cpu","mode":"sync","timing":{…}}'
 * prints the row (bench/measure.ts `stream`) as JSON on its last stdout line.
 *
 * Why a process: in the benchmark's own process every channel call site has seen every
 * mechanism by the time a stream runs — the JIT's inline caches there are megamorphic —
 * and the ring's one-CPU stream depended on which rows ran before it: 9.5 or 16 M msg/s in
 * two runs of the same plan, 16–16.7 M in a process of its own (docs/benchmark.md). Round
 * trips, one system call or more apiece, showed no such difference and stay in the
 * benchmark's process. C's rows are a fresh process each.
 */
import { fileURLToPath } from "node:url";
import { isMainModule, scriptCommand } from "../ffi/process.ts";
import { benchCases } from "./cases.ts";
import { spawnChild } from "./children.ts";
import { type Row, stream } from "./measure.ts";
import type { StreamTiming } from "./stream-plan.ts";
import type { Placement } from "./usage.ts";

/** What one stream row measures. */
export interface StreamJob {
  mechanism: string;
  size: number;
  count: number;
  placement: Placement;
  mode: "sync" | "async" | "batch";
  timing: StreamTiming;
}

/** Measure `job` in a fresh process of this runtime: its row, or the child's error. */
export async function streamInOwnProcess(job: StreamJob): Promise<Row> {
  const child = spawnChild(scriptCommand(fileURLToPath(import.meta.url), [JSON.stringify(job)]), { stdio: ["ignore", "pipe", "pipe"] });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const line = out.trim().split("\n").pop();
  if (code !== 0 || !line) throw new Error(`the ${job.mechanism} stream's process exited with ${code}: ${err.trim() || "(nothing on stderr)"}`);
  return JSON.parse(line) as Row;
}

if (isMainModule(import.meta)) {
  const job = JSON.parse(process.argv[2]!) as StreamJob;
  const c = benchCases.find((x) => x.name === job.mechanism);
  if (!c) throw new Error(`bench/stream-process.ts: no mechanism ${job.mechanism}`);
  const row = await stream(c, job.size, job.count, job.placement, job.mode, job.timing);
  process.stdout.write(JSON.stringify(row) + "\n");
}
