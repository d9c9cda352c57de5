/** The benchmark pipeline: a small real run writes JSON (per the schema), Markdown and SVG. */
import { describe, expect, test } from "./support/harness.ts";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { summarize } from "../bench/stats.ts";
import { privateDir, testPrefix } from "./support/leaks.ts";
import { runBounded } from "./support/run-bounded.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { natsSkip } from "./support/nats-server.ts";

const prefix = testPrefix("bench");
/**
 * Each test here runs a whole (small) benchmark, processes and all: alone a few seconds to
 * ~30 s, but beside the other suites (test/run-suites.sh runs three at once on two CPUs)
 * several times that. A limit against hangs, not a speed target.
 */
const BENCH_RUN_TIMEOUT = 180_000;
const dir = privateDir("bench");
const cliPath = join(import.meta.dirname, "..", "bin", "ipc-lab.ts");

/**
 * `ipc-lab ARGS` to its end, expecting exit status `status`: its output. Past a limit
 * 20 s below the test's, a hang fails naming the run's processes and its progress so far;
 * a wrong status fails with the run's stderr.
 */
async function ipcLab(args: string[], status = 0): Promise<{ stdout: string; stderr: string }> {
  const r = await runBounded([process.execPath, cliPath, ...args], BENCH_RUN_TIMEOUT - 20_000);
  if (r.code !== status) throw new Error(`ipc-lab ${args.join(" ")}: exit status ${r.code}, not ${status}; its stderr:\n${r.stderr}`);
  return r;
}

/** `ipc-lab bench ARGS` into this test's own files: its summary, and the saved rows and targets (then removed). */
async function benchRun(tag: string, args: string[]): Promise<{ out: string; rows: Record<string, unknown>[]; targets: { target: string }[] }> {
  const [json, out] = [join(dir, `${tag}.json`), join(dir, tag)];
  const { stdout: text } = await ipcLab(["bench", ...args, "--json", json, "--out", out]);
  const data = JSON.parse(readFileSync(json, "utf8"));
  rmSync(json);
  rmSync(out, { recursive: true });
  return { out: text, rows: data.rows, targets: data.targets };
}

describe("bench", () => {
  test("percentiles are nearest-rank over the sorted samples", () => {
    const s = summarize(Float64Array.from({ length: 1000 }, (_, i) => 1000 - i));
    expect(s).toMatchObject({ count: 1000, p50_ns: 500, p90_ns: 900, p99_ns: 990, p999_ns: 999, max_ns: 1000, mean_ns: 500.5 });
  });

  test("a small run measures ipc-lab and C side by side and writes JSON, Markdown and SVG", async () => {
    const [json, md, svg] = ["r.json", "r.md", "r.svg"].map((f) => join(dir, f)) as [string, string, string];
    try {
      const { stdout: out } = await ipcLab([
        "bench",
        "--mech",
        "pipe,shm",
        "--size",
        "64",
        "--placement",
        "cross-cpu",
        "--impl",
        "ipc-lab,c",
        "--mode",
        "sync",
        "--count",
        "300",
        "--json",
        json,
        "--md",
        md,
        "--svg",
        svg,
        "--out",
        join(dir, "run1"),
      ]);
      expect(out).toContain("Round trips");
      expect(out).toContain("ipc-lab's own targets (the project's goals for itself, not a verdict on this machine):");
      const data = JSON.parse(readFileSync(json, "utf8"));
      // the pick is whichever measured faster here (shm on an idle machine; on a loaded one a
      // spinning ring can lose to the pipe): the test checks that the advice follows the figures
      const p50 = (mechanism: string) =>
        data.rows.find((r: Record<string, unknown>) => r.impl === "ipc-lab" && r.mechanism === mechanism && r.pattern === "rtt").p50_ns;
      const faster = p50("shm") <= p50("pipe") ? "shm" : "pipe";
      expect(out).toMatch(
        new RegExp(
          `^Which to use, on this machine \\(this run: 64 B round trips, p50, processes on different CPUs\\):\n  two processes, lowest latency: ${faster} — `,
          "m",
        ),
      );
      expect(data.header).toMatchObject({ cores: expect.any(Number), kernel: expect.stringContaining("Linux"), runtime: "bun", bun: Bun.version });
      const rows = data.rows as Record<string, unknown>[];
      for (const impl of ["ipc-lab", "c"]) {
        for (const mechanism of ["pipe", "shm"]) {
          const rtt = rows.find((r) => r.impl === impl && r.mechanism === mechanism && r.pattern === "rtt");
          expect(rtt).toMatchObject({ mode: "sync", placement: "cross-cpu", size: 64, count: 300 });
          for (const k of ["p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns"]) expect(rtt![k]).toBeGreaterThan(0);
          const stream = rows.find((r) => r.impl === impl && r.mechanism === mechanism && r.pattern === "stream");
          expect(stream!.msgs_per_s).toBeGreaterThan(0);
          // C prints its figures to 0.1: compare relatively
          expect(Math.abs((stream!.bytes_per_s as number) / ((stream!.msgs_per_s as number) * 64) - 1)).toBeLessThan(1e-6);
          expect(rtt!.cpu_ns_per_msg).toMatchObject({ parent: expect.any(Number) });
          expect(rtt!.ctx_switches_per_msg).toMatchObject({ parent: expect.any(Number) });
        }
      }
      expect(rows.find((r) => r.impl === "ipc-lab" && r.mechanism === "pipe" && r.pattern === "rtt")!.ratio_to_c).toBeGreaterThan(0);
      // the ring's 64 B stream alternates with the C ring's: its target compares pairs measured back to back
      const ring = rows.find((r) => r.impl === "ipc-lab" && r.mechanism === "shm" && r.pattern === "stream")!;
      expect(ring).toMatchObject({ ratio_reps: 3, ratio_to_c: expect.any(Number), c_pair_msgs_per_s: expect.any(Number) });
      expect(data.targets.find((t: { target: string }) => t.target === "shm ring stream ≥ 1.0× the C ring's (64 B, cross-cpu)")?.measured).toContain(
        "over 3 interleaved pairs",
      );
      expect(data.targets.some((t: { target: string }) => t.target.startsWith("pipe sync round trip"))).toBeTrue();
      expect(readFileSync(md, "utf8")).toContain("## Round trips");
      expect(readFileSync(svg, "utf8")).toStartWith("<svg");
      // the default output is a summary that fits 100 columns, and says where the files went
      expect(Math.max(...out.split("\n").map((l) => l.length))).toBeLessThanOrEqual(100);
      for (const f of ["results.json", "report.md", "chart.svg", "report.html"]) expect(readFileSync(join(dir, "run1", f), "utf8").length).toBeGreaterThan(100);
      expect(readFileSync(join(dir, "run1", "report.html"), "utf8")).toContain("<svg");
      // the whole report again from the saved run, without measuring, and compared with itself
      const { stdout: text } = await ipcLab(["bench", "--from", json, "--full", "--compare", json]);
      expect(text).toContain("pipe sync round trip");
      expect(text).toMatch(/Against the earlier run: of \d+ ipc-lab rows in both, 0 slower and 0 faster beyond the noise band/);
    } finally {
      // also when an expectation failed: the leak check would report these files a second time
      for (const f of [json, md, svg, join(dir, "run1")]) rmSync(f, { recursive: true, force: true });
    }
  }, BENCH_RUN_TIMEOUT);

  test("the same run under Deno and under Node sits beside Bun's, per mechanism, with Node's own IPC (--impl deno,node)", async () => {
    const json = join(dir, "vs.json");
    const { stdout: out } = await ipcLab([
      "bench",
      "--mech",
      "pipe,shm",
      "--size",
      "64",
      "--placement",
      "cross-cpu",
      "--impl",
      "ipc-lab,deno,node",
      "--mode",
      "sync",
      "--count",
      "300",
      "--json",
      json,
      "--out",
      join(dir, "run2"),
    ]);
    try {
      expect(out).toMatch(/Bun vs Deno vs Node[^\n]*\n.*Deno\s+Node\s+Deno ×\s+Node ×/);
      const data = JSON.parse(readFileSync(json, "utf8"));
      expect(data.header).toMatchObject({ runtime: "bun", deno: expect.stringContaining("deno 2"), node: expect.stringMatching(/^node \d/) });
      for (const rt of ["bun", "deno", "node"]) expect(data.header.ffi_call_ns[rt]).toBeGreaterThan(0);
      const rows = data.rows as Record<string, unknown>[];
      for (const impl of ["ipc-lab (deno)", "ipc-lab (node)"]) {
        for (const mechanism of ["pipe", "shm"]) {
          for (const pattern of ["rtt", "stream"]) {
            const d = rows.find((r) => r.impl === impl && r.mechanism === mechanism && r.pattern === pattern && !r.skipped);
            expect(d).toMatchObject({ mode: "sync", placement: "cross-cpu", size: 64 });
            expect((pattern === "rtt" ? d!.p50_ns : d!.msgs_per_s) as number).toBeGreaterThan(0);
          }
        }
      }
      // send + receive in one process under each runtime, beside Bun's (what each FFI makes of the same code)
      for (const impl of ["ipc-lab", "ipc-lab (deno)", "ipc-lab (node)"]) {
        for (const mechanism of ["getpid (FFI)", "pipe", "shm", "shm (js hot path)"]) {
          expect(rows.find((r) => r.impl === impl && r.mechanism === mechanism && r.pattern === "inproc" && !r.skipped)?.mean_ns as number).toBeGreaterThan(0);
        }
      }
      expect(out).toMatch(/In one process[^\n]*\n\s*mechanism\s+Bun ns\s+C ns\s+added ns\s+× C\s+Deno ns\s+× C\s+Node ns\s+× C\n/);
      expect(out).toMatch(/^pipe\s+\d+\s+\d+\s+\d+\s*$/m); // no C rows in this run: Bun, Deno, Node ns only
      expect(out).not.toMatch(/undefined|NaN/); // (the in-process rows stay out of the rtt/stream table)
      // Node's own IPC, measured by the Node run beside its rings
      for (const impl of ["node-ipc-json", "node-ipc-advanced", "node-net (node)", "worker-postmessage (node)"]) {
        expect(rows.find((r) => r.impl === impl && r.pattern === "rtt" && !r.skipped)?.p50_ns as number).toBeGreaterThan(0);
      }
    } finally {
      // also when an expectation failed: the leak check would report these files a second time
      rmSync(json, { force: true });
      rmSync(join(dir, "run2"), { recursive: true, force: true });
    }
  }, BENCH_RUN_TIMEOUT);

  test("the benchmark runs under Deno itself, with Deno's own socket as a baseline", async () => {
    const json = join(dir, "deno.json");
    await ipcLab([
      "--runtime",
      "deno",
      "bench",
      "--mech",
      "shm",
      "--size",
      "64",
      "--placement",
      "cross-cpu",
      "--impl",
      "ipc-lab,deno-socket",
      "--mode",
      "sync,async",
      "--pattern",
      "rtt",
      "--count",
      "300",
      "--json",
      json,
      "--out",
      join(dir, "run3"),
    ]);
    const data = JSON.parse(readFileSync(json, "utf8"));
    expect(data.header).toMatchObject({ runtime: "deno" });
    const rows = data.rows as Record<string, unknown>[];
    for (const mode of ["sync", "async"]) {
      expect(rows.find((r) => r.impl === "ipc-lab" && r.mechanism === "shm" && r.mode === mode)!.p50_ns as number).toBeGreaterThan(0);
    }
    expect(rows.find((r) => r.impl === "deno-socket")!.p50_ns as number).toBeGreaterThan(0);
    rmSync(json);
    rmSync(join(dir, "run3"), { recursive: true });
  }, BENCH_RUN_TIMEOUT);

  test("--placement unpinned,loaded: the ring beside Bun's IPC on an idle machine and beside a CPU-bound process the run starts and stops", async () => {
    const { out, rows, targets } = await benchRun("loaded", [
      ...["--mech", "shm", "--size", "64", "--placement", "unpinned,loaded", "--impl", "ipc-lab,bun-ipc"],
      ...["--mode", "sync,async-both", "--pattern", "rtt", "--count", "300"],
    ]);
    for (const placement of ["unpinned", "loaded"]) {
      for (const [impl, mode] of [["ipc-lab", "sync"], ["ipc-lab", "async-both"], ["bun-ipc", "async"]]) {
        expect(rows.find((r) => r.impl === impl && r.mode === mode && r.placement === placement && !r.skipped)?.p50_ns as number).toBeGreaterThan(0);
      }
    }
    expect(out).toMatch(
      /As users run them — unpinned, on an idle machine and beside one CPU-bound process[^\n]*\n\s+p50 idle\s+p99 idle\s+p50 loaded\s+p99 loaded\n/,
    );
    expect(out).toMatch(/^shm \(both ends async\)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
    // what users compare: the ring at p50 and p99 against Bun's IPC, as they run them
    for (const placement of ["unpinned", "loaded"]) {
      expect(targets.some((x) => x.target === `shm ring with both ends async ≥ 5× faster than Bun.spawn ipc (64 B, ${placement})`)).toBeTrue();
      expect(targets.some((x) => x.target === `shm ring with both ends async: p99 no worse than Bun.spawn ipc's (64 B, ${placement})`)).toBeTrue();
    }
    // (the CPU-bound neighbour is gone: the file's leak check finds no process left)
  }, BENCH_RUN_TIMEOUT);

  test("--pattern inproc: send + receive in one process, ipc-lab beside C per mechanism, and the FFI crossing beside a raw syscall", async () => {
    const { out, rows } = await benchRun("inproc", ["--mech", "pipe,mq,shm", "--pattern", "inproc", "--impl", "ipc-lab,c", "--count", "2000"]);
    for (
      const [impl, mechanism] of [["ipc-lab", "getpid (FFI)"], ["c", "getpid"], ["ipc-lab", "pipe"], ["c", "pipe"], ["ipc-lab", "mq"], ["c", "mq"], [
        "ipc-lab",
        "shm",
      ], ["c", "shm"]]
    ) {
      expect(rows.find((r) => r.impl === impl && r.mechanism === mechanism && r.pattern === "inproc" && !r.skipped)?.mean_ns as number).toBeGreaterThan(0);
    }
    expect(out).toMatch(/In one process — send \+ receive of one message, ns[^\n]*\n\s*mechanism\s+ipc-lab ns\s+C ns\s+added ns\s+× C\n/);
    expect(out).toMatch(/^pipe\s+\d+\s+\d+\s+-?\d+\s+[\d.]+×$/m);
  }, BENCH_RUN_TIMEOUT);

  test("an unknown --placement is a usage error naming the known ones", async () => {
    const { stderr } = await ipcLab(["bench", "--placement", "moon", "--mech", "shm"], 2);
    expect(stderr).toContain("unknown --placement moon; known: same-cpu, cross-cpu, unpinned, loaded");
  });
});

describe.skipIf(!!natsSkip)("bench: nats", () => {
  test("the NATS rows: ipc-lab beside the raw client on a server the run starts, the report's NATS section and its targets", async () => {
    const json = join(dir, "nats.json");
    const md = join(dir, "nats.md");
    const args = [
      "bench",
      "--mech",
      "nats",
      "--pattern",
      "request,stream",
      "--size",
      "64",
      "--placement",
      "cross-cpu",
      "--impl",
      "ipc-lab",
      "--count",
      "200",
      "--quick",
    ];
    await ipcLab([...args, "--json", json, "--md", md, "--out", join(dir, "nats-run")]);
    const data = JSON.parse(readFileSync(json, "utf8")) as { rows: Record<string, unknown>[]; targets: { target: string; met?: boolean }[] };
    const measured = (mechanism: string, pattern: string) => data.rows.find((r) => r.mechanism === mechanism && r.pattern === pattern && !r.skipped);
    for (
      const [mechanism, pattern] of [["nats", "request"], ["nats raw", "request"], ["nats pub/sub (thread: false)", "stream"], ["nats raw pub/sub", "stream"]]
    ) {
      expect(measured(mechanism!, pattern!)).toBeDefined();
    }
    expect(data.targets.filter((t) => t.target.includes("within 1.2× of the raw official client")).length).toBe(3);
    expect(readFileSync(md, "utf8")).toContain("## NATS");
    for (const f of [json, md, join(dir, "nats-run")]) rmSync(f, { recursive: true, force: true });
  }, BENCH_RUN_TIMEOUT);
});

checkLeaks(prefix, [dir]);
