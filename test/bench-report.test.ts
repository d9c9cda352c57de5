/**
 * The benchmark's ratio and target code, on rows built by hand: every ipc-lab sync round
 * trip with a C counterpart is a target at any size (eventfd's 8 B included), a target
 * whose row or C row is missing or failed reads NOT MEASURED with the reason, the gap of a
 * miss is computed, and interleaved repetitions keep their median and spread.
 */
import type { Row } from "../bench/measure.ts";
import { addRatios, type Header, median, ratioToC, targets, textReport } from "../bench/report.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { describe, expect, test } from "./support/harness.ts";
import { testPrefix } from "./support/leaks.ts";

const rtt = (impl: string, mechanism: string, p50: number, extra: Partial<Row> = {}): Row => ({
  impl,
  mechanism,
  pattern: "rtt",
  mode: "sync",
  placement: "cross-cpu",
  size: 64,
  count: 100,
  p50_ns: p50,
  ...extra,
});
const stream = (impl: string, mechanism: string, rate: number, extra: Partial<Row> = {}): Row => ({
  impl,
  mechanism,
  pattern: "stream",
  mode: "sync",
  placement: "cross-cpu",
  size: 64,
  count: 100,
  msgs_per_s: rate,
  bytes_per_s: rate * 64,
  ...extra,
});
const cOf = (m: string) => ({ pipe: "pipe", eventfd: "eventfd", shm: "shm", "shm (semaphore)": "shm-sem", fifo: "fifo" } as Record<string, string>)[m];
const none = new Set<string>();

describe("benchmark ratios and targets", () => {
  test("ratio to C: p50 over C's for round trips, C's rate over ours for streams", () => {
    expect(ratioToC(rtt("ipc-lab", "pipe", 30), rtt("c", "pipe", 20))).toBe(1.5);
    expect(ratioToC(stream("ipc-lab", "pipe", 1e6), stream("c", "pipe", 2e6))).toBe(2);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test("addRatios pairs rows of the same family, size and placement, and keeps interleaved ratios", () => {
    const rows = [
      rtt("ipc-lab", "pipe", 22),
      rtt("c", "pipe", 20),
      rtt("ipc-lab", "pipe", 50, { placement: "same-cpu" }), // no C row at this placement
      rtt("ipc-lab", "shm", 1.2, { ratio_to_c: 3, ratio_spread: [2.5, 3.5], ratio_reps: 3 }),
      rtt("c", "shm", 1),
      stream("ipc-lab", "pipe", 1e6),
      stream("c", "pipe", 1.5e6),
    ];
    addRatios(rows, cOf);
    expect(rows.map((r) => r.ratio_to_c)).toEqual([1.1, undefined, undefined, 3, undefined, 1.5, undefined]);
  });

  test("every sync round trip with a C counterpart is a target, eventfd's 8 B included", () => {
    const rows = [
      rtt("ipc-lab", "eventfd", 40, { size: 8 }),
      rtt("c", "eventfd", 25, { size: 8 }),
      rtt("ipc-lab", "pipe", 21, { size: 4096 }),
      rtt("c", "pipe", 20, { size: 4096 }),
    ];
    addRatios(rows, cOf);
    const t = targets(rows, none, cOf);
    expect(t.map((x) => [x.target, x.met, x.gap])).toEqual([
      ["eventfd sync round trip ≤ 1.1× C eventfd (8 B, cross-cpu)", false, "45% over"],
      ["pipe sync round trip ≤ 1.1× C pipe (4096 B, cross-cpu)", true, undefined],
    ]);
  });

  test("a missing or failed row is NOT MEASURED, with the reason", () => {
    const rows = [
      rtt("ipc-lab", "pipe", 0, { skipped: "failed: peer crashed" }),
      rtt("c", "pipe", 20),
      rtt("ipc-lab", "fifo", 30),
      rtt("c", "fifo", 0, { skipped: "failed: mkfifo: Permission denied" }),
      rtt("ipc-lab", "shm (semaphore)", 2),
      stream("ipc-lab", "shm", 0, { skipped: "failed: timeout" }),
      rtt("ipc-lab", "shm", 1),
    ];
    addRatios(rows, cOf);
    const t = targets(rows, none, cOf);
    const by = (prefix: string) => t.find((x) => x.target.startsWith(prefix))!;
    expect(by("pipe sync")).toMatchObject({ measured: "NOT MEASURED", met: undefined, gap: "ipc-lab row: failed: peer crashed" });
    expect(by("fifo sync")).toMatchObject({ met: undefined, gap: "C fifo row: failed: mkfifo: Permission denied" });
    expect(by("shm (semaphore) sync")).toMatchObject({ met: undefined, gap: "C shm-sem row: no such row in this run" });
    expect(by("shm ring stream ≥ 20 M")).toMatchObject({ met: undefined, gap: "shm stream row: failed: timeout" });
    const text = textReport(
      { date: "2026-11-27T00:00:00Z", cores: 2, cpu_model: "x", kernel: "Linux", runtime: "bun", node: "20", cc: "cc", quick: true } as Header,
      rows,
      t,
    );
    expect(text).toContain("NOT MEASURED pipe sync round trip ≤ 1.1× C pipe (64 B, cross-cpu): ipc-lab row: failed: peer crashed");
  });

  test("interleaved repetitions report the median ratio and its spread", () => {
    const rows = [rtt("ipc-lab", "shm", 0.9, { ratio_to_c: 1.4, ratio_spread: [1.2, 1.9], ratio_reps: 3 }), rtt("c", "shm", 0.6)];
    const [t] = targets(rows, none, cOf);
    expect(t).toMatchObject({ met: false, gap: "8% over" });
    expect(t!.measured).toContain("spread 1.20–1.90 over 3 interleaved pairs");
  });

  test("a size above the mechanism's maximum has no target; a gap under 1% keeps a decimal", () => {
    const rows = [
      rtt("ipc-lab", "pipe", 0, { size: 65536, skipped: "above its maximum message (8192 B)", inapplicable: true }),
      rtt("ipc-lab", "pipe", 22.1),
      rtt("c", "pipe", 20),
    ];
    addRatios(rows, cOf);
    expect(targets(rows, none, cOf).map((x) => [x.target, x.gap])).toEqual([["pipe sync round trip ≤ 1.1× C pipe (64 B, cross-cpu)", "0.5% over"]]);
  });

  test("the ring's stream is judged against the C ring's: ≥ 1.0× across CPUs, ≥ 0.8× on one CPU", () => {
    const rows = [
      stream("ipc-lab", "shm", 5e6),
      stream("c", "shm", 10e6),
      stream("ipc-lab", "shm", 9e6, { placement: "same-cpu" }),
      stream("c", "shm", 10e6, { placement: "same-cpu" }),
    ];
    const judged = targets(rows, new Set(), cOf).filter((x) => x.target.includes("the C ring's (64 B"));
    expect(judged.map((x) => [x.target, x.met, x.gap])).toEqual([
      ["shm ring stream ≥ 1.0× the C ring's (64 B, cross-cpu)", false, "2.0× short"],
      ["shm ring stream ≥ 0.8× the C ring's (64 B, same-cpu)", true, undefined],
    ]);
  });

  test("the async target needs its sync row", () => {
    const rows = [rtt("ipc-lab", "pipe", 40, { mode: "async" })];
    expect(targets(rows, new Set(["pipe"]), () => undefined)).toEqual([
      { target: "pipe async round trip ≤ 1.3× sync (64 B, cross-cpu)", measured: "NOT MEASURED", met: undefined, gap: "sync row: no such row in this run" },
    ]);
  });
});

checkLeaks(testPrefix("report"));
