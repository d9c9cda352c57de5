/**
 * The benchmark's ratio and target code, on rows built by hand: every ipc-lab sync round
 * trip with a C counterpart is a target at any size (eventfd's 8 B included), a target
 * whose row or C row is missing or failed reads NOT MEASURED with the reason, the gap of a
 * miss is computed, and interleaved repetitions keep their median and spread.
 */
import type { Row } from "../bench/measure.ts";
import { addRatios, type Header, median, ratioToC, targets, textReport } from "../bench/report.ts";
import { recommend, recommendationLines } from "../bench/recommend.ts";
import { compareRuns } from "../bench/summary.ts";
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
/** A run as a user's machine might give it: rings, kernel mechanisms, a topic, work queues, NATS, the runtimes' own IPC. */
const userRun = (): Row[] => [
  rtt("ipc-lab", "shm", 1_060),
  rtt("ipc-lab", "memfd", 1_160),
  rtt("ipc-lab", "unix", 62_800),
  rtt("ipc-lab", "pipe", 71_900),
  rtt("ipc-lab", "mq", 78_100),
  rtt("ipc-lab", "tcp", 80_000),
  rtt("ipc-lab", "nats", 480_100),
  rtt("ipc-lab", "topic → 1 subscriber", 1_610),
  rtt("ipc-lab", "topic → 4 subscribers", 11_600),
  stream("ipc-lab", "shm-queue (2 producers, 2 consumers)", 1_270_000),
  stream("ipc-lab", "mq (2 producers, 2 consumers)", 190_000),
  rtt("bun-ipc", "spawn ipc", 86_900, { mode: "async" }),
  rtt("worker-postmessage", "worker", 5_550, { mode: "async" }),
  rtt("ipc-lab (deno)", "shm", 900), // another runtime's row: not the answer for this one
  rtt("c", "shm", 700),
];

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

  test("interleaved streams are judged by the median of their pairs: the ring against the C ring, the work queue against mq", () => {
    const rows = [
      // the lone C row says 0.5×; the pairs measured back to back say 1/0.9
      stream("ipc-lab", "shm", 5e6, { ratio_to_c: 0.9, ratio_spread: [0.8, 1.25], ratio_reps: 3, c_pair_msgs_per_s: 4.5e6 }),
      stream("c", "shm", 10e6),
      stream("ipc-lab", "shm-queue (2 producers, 2 consumers)", 1.6e6, { pair_ratio: { median: 5.2, min: 3.9, max: 6.0, reps: 3 } }),
      stream("ipc-lab", "mq (2 producers, 2 consumers)", 0.4e6),
    ];
    const judged = targets(rows, new Set(), cOf);
    const ring = judged.find((x) => x.target === "shm ring stream ≥ 1.0× the C ring's (64 B, cross-cpu)")!;
    expect(ring).toMatchObject({ met: true, measured: "1.11× (5.00M vs 4.50M msg/s, spread 0.80–1.25 over 3 interleaved pairs)" });
    const queue = judged.find((x) => x.target.startsWith("shm-queue stream, 2 producers and 2 consumers"))!;
    expect(queue).toMatchObject({ met: true, measured: "5.2× (1.60M vs 400.0k msg/s, spread 3.9–6.0× over 3 interleaved pairs)" });
  });

  test("the async target needs its sync row", () => {
    const rows = [rtt("ipc-lab", "pipe", 40, { mode: "async" })];
    expect(targets(rows, new Set(["pipe"]), () => undefined)).toEqual([
      { target: "pipe async round trip ≤ 1.3× sync (64 B, cross-cpu)", measured: "NOT MEASURED", met: undefined, gap: "sync row: no such row in this run" },
    ]);
  });
});

describe("which to use, and the change against an earlier run", () => {
  test("the recommendation answers each need from the run's own rows, with the figures and the trade-off", () => {
    const r = recommend(userRun())!;
    expect({ placement: r.placement, size: r.size }).toEqual({ placement: "cross-cpu", size: 64 });
    const by = Object.fromEntries(r.entries.map((e) => [e.need, e]));
    expect(by["two processes, lowest latency"]).toMatchObject({ pick: "shm", figures: "1.06 µs (unix 62.8 µs)" });
    expect(by["any language, plain bytes"]).toMatchObject({ pick: "unix", figures: "62.8 µs (pipe 71.9 µs, mq 78.1 µs)" });
    expect(by["many readers, each gets every message"]).toMatchObject({ pick: "topic", figures: "11.6 µs to the last of 4 subscribers" });
    expect(by["many workers, each message to one"]).toMatchObject({
      pick: "shm-queue",
      figures: "1.27M msg/s with 2 producers and 2 consumers (mq 190.0k; 6.7× as many)",
    });
    expect(by["across hosts"]).toMatchObject({ pick: "nats", figures: "480.1 µs through a local server (tcp 80.0 µs point to point)" });
    expect(by["against the runtime's own IPC"]!.figures).toBe("1.06 µs, against Bun.spawn IPC 86.9 µs (82×), a Worker's postMessage 5.55 µs (5.2×)");
    for (const e of r.entries) expect(e.tradeoff.length).toBeGreaterThan(10);
    // printed within 100 columns, never cut inside a word
    const lines = recommendationLines(userRun());
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(lines.join(" ").replace(/\s+/g, " ")).toContain("A unix socket: every language has one");
  });

  test("figures within 20% are a tie, and a tie goes to the more generally useful mechanism", () => {
    const r = recommend([rtt("ipc-lab", "memfd", 1_170), rtt("ipc-lab", "shm", 1_230), rtt("ipc-lab", "pipe", 60_000), rtt("ipc-lab", "unix", 71_000)])!;
    const by = Object.fromEntries(r.entries.map((e) => [e.need, e]));
    expect(by["two processes, lowest latency"]).toMatchObject({ pick: "shm", figures: "1.23 µs (unix 71.0 µs)" }); // memfd: a child only
    expect(by["any language, plain bytes"]).toMatchObject({ pick: "unix", figures: "71.0 µs (pipe 60.0 µs)" }); // pipe: a child only
    // beyond 20%, the faster one
    expect(recommend([rtt("ipc-lab", "memfd", 1_000), rtt("ipc-lab", "shm", 1_300)])!.entries[0]).toMatchObject({ pick: "memfd" });
  });

  test("a need the run did not measure is left out, not guessed", () => {
    const r = recommend([rtt("ipc-lab", "unix", 62_800), rtt("ipc-lab", "pipe", 71_900), rtt("ipc-lab", "tcp", 80_000)])!;
    // no ring, topic, work queue, nats or runtime IPC measured; "any language" would repeat the first answer
    expect(r.entries.map((e) => e.need)).toEqual(["two processes, lowest latency", "across hosts"]);
    expect(r.entries[1]).toMatchObject({ pick: "tcp", figures: "80.0 µs point to point" });
    expect(recommend([])).toBeUndefined();
  });

  test("--compare: the noise band from rows whose code did not change; only the ipc-lab rows beyond it, in plain words", () => {
    const before = [
      rtt("ipc-lab", "shm", 1_000),
      rtt("ipc-lab", "pipe", 70_000),
      stream("ipc-lab", "shm", 885_000),
      stream("ipc-lab", "unix", 800_000),
      rtt("c", "shm", 700),
      rtt("c", "pipe", 60_000),
    ];
    const now = [
      rtt("ipc-lab", "shm", 1_050), // +5%: within the C rows' +10%
      rtt("ipc-lab", "pipe", 35_000), // 2× faster
      stream("ipc-lab", "shm", 183_000), // 4.8× lower throughput
      stream("ipc-lab", "unix", 820_000),
      rtt("c", "shm", 770), // +10%
      rtt("c", "pipe", 57_000),
      rtt("ipc-lab", "mq", 78_000), // only in this run
    ];
    const text = compareRuns(before, now);
    const [summary, table] = text.split("\n\n");
    expect(summary!.replace(/\n/g, " ")).toBe(
      "Against the earlier run: of 4 ipc-lab rows in both, 1 slower and 1 faster beyond the noise band, 2 within it (±10%: the most any of the 2 rows whose code did not change (C, the runtimes' own IPC) moved between the runs); 1 rows only in this run.",
    );
    const rows = table!.split("\n").slice(1);
    expect(rows.length).toBe(2);
    expect(rows[0]).toMatch(/^shm .*885\.0k\/s\s+183\.0k\/s\s+4\.84× lower throughput$/);
    expect(rows[1]).toMatch(/^pipe .*70\.0 µs\s+35\.0 µs\s+2\.00× faster$/);
    expect(compareRuns(now, now)).toStartWith("Against the earlier run: of 5 ipc-lab rows in both, 0 slower and 0 faster");
  });
});

checkLeaks(testPrefix("report"));
