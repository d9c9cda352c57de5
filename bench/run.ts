/**
 * `npm run bench` / `ipc-lab bench`: every mechanism's round-trip percentiles and stream
 * throughput, sync and async, on one CPU and across CPUs, beside C baselines and the
 * runtimes' own IPC, in one run. See bench/README.md for the method and the JSON schema.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainModule, runtime, scriptCommand } from "../ffi/process.ts";
import { spawnChild } from "./children.ts";
import { parseArgs } from "node:util";
import { cBaseline, runC, runtimeBaselines } from "./baselines.ts";
import { BY_TIME, FIXED, type StreamTiming } from "./stream-plan.ts";
import { type BenchCase, benchCases, fastRing, notMeasured } from "./cases.ts";
import { chartSvg } from "./chart.ts";
import { LOCK_KINDS, lockPairs } from "./locks.ts";
import { topicFanout } from "./topic-fanout.ts";
import { natsAcrossHosts, natsFanout, natsName, natsQueueRow, natsQueueStream, natsRawRequest, natsStream } from "./nats.ts";
import { natsMissing, startNatsServer } from "./nats-server.ts";
import { queueStream } from "./queue-stream.ts";
import { streamInOwnProcess, type StreamJob } from "./stream-process.ts";
import { REQUEST_SCHEMES, requestResponse, valuesBaseline } from "./conversations.ts";
import { busyTimerLateness, idleTimerLateness, type Mode, roundTrips, type Row } from "./measure.ts";
import { compareRuns, htmlReport, textSummary } from "./summary.ts";
import { recommendationMarkdown } from "./recommend.ts";
import { addRatios, machineFacts, mdReport, median, ratioToC, RUNTIME_IMPLS, targets, textReport } from "./report.ts";
import type { Placement } from "./usage.ts";
import { cpuLoad, stopLoad } from "./load.ts";
import { fastestOf, INPROC_MECHS, inprocInChild, RING_JS_ROW } from "./inproc.ts";
import { ffiCallCosts } from "./ffi-cost.ts";

/** Usage text. */
const benchUsage = `usage: ipc-lab bench [--quick] [--mech pipe,shm,...] [--size 64,4096] [--count N]
                     [--pattern rtt,stream,lock,request,values,inproc] [--placement same-cpu,cross-cpu,unpinned,loaded]
                     [--impl ipc-lab,c,deno,node,bun-ipc,node-net,bun-socket,deno-socket,node-ipc-json,node-ipc-advanced,worker-postmessage]
                     [--mode sync,async,async-both,batch,loan] [--full] [--targets] [--out DIR] [--compare OLD.json]
                     [--json FILE] [--md FILE] [--svg FILE]
       ipc-lab bench --from RUN.json [--full] [--targets] [--compare OLD.json] [--md FILE] [--svg FILE]
  Prints which mechanism to use on this machine and a summary (--targets: each of ipc-lab's
  own targets; --full: every row and target) and saves results.json, report.md,
  chart.svg and report.html in --out (default ./ipc-lab-results/DATE-HOST/ in the current
  directory), saying where.
  --compare: each row's change against an earlier results.json.
  --from: the report of a saved run — ratios and targets worked out again — without measuring
          (with --out DIR: its files written again there).
`;

const list = (v: string | undefined) => v?.split(",").map((s) => s.trim()).filter(Boolean);

/** What one benchmark run measures, from its command line. */
interface Plan {
  quick: boolean;
  sizes: number[];
  /** the placements this machine can give (cross-cpu needs two CPUs) */
  placements: Placement[];
  patterns: string[];
  modes: string[];
  impls: string[];
  mechs: string[] | undefined;
  count: string | undefined;
  rttCount: number;
  /** at most this many warm-up round trips (the count a run with --count asks for; else no cap) */
  rttWarmCap: number;
  streamCount: (size: number) => number;
  /** how streams size their warm-up and timed part: by time, or (--count, --quick) fixed */
  streamTiming: StreamTiming;
  cases: BenchCase[];
  /** extra placements for the ring and the runtimes' own IPC only (asUsersRunJobs) */
  asUsersRun: Placement[];
}

/** One unit of work; `row` says what it measures, so that a failed one keeps its place in the report. */
interface Job {
  label: string;
  row?: Omit<Row, "count">;
  run: () => Promise<Row | Row[]> | Row;
  /** how long it takes against an average job, for the progress line's estimate (default 1) */
  weight?: number;
}

const benchOptions = {
  quick: { type: "boolean" },
  mech: { type: "string" },
  size: { type: "string" },
  count: { type: "string" },
  pattern: { type: "string" },
  placement: { type: "string" },
  impl: { type: "string" },
  mode: { type: "string" },
  json: { type: "string" },
  md: { type: "string" },
  svg: { type: "string" },
  from: { type: "string" },
  help: { type: "boolean", short: "h" },
  full: { type: "boolean" },
  targets: { type: "boolean" },
  out: { type: "string" },
  compare: { type: "string" },
} as const;

/** Run the benchmark with CLI arguments; returns the exit code. */
export async function bench(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: benchOptions });
  if (values.help) {
    process.stdout.write(benchUsage);
    return 0;
  }
  if (values.from) {
    const saved = JSON.parse(readFileSync(values.from, "utf8")) as { header: ReturnType<typeof machineFacts>; rows: Row[] };
    report(saved.header, saved.rows, values, values.out); // --out: write the report files again (ratios and targets worked out anew)
    return 0;
  }
  const plan = planOf(values);
  const wrong = unknownMechanism(plan);
  if (wrong) {
    process.stderr.write(`ipc-lab bench: ${wrong}\n`);
    return 2;
  }
  // nats rows need a server: this run starts one (and stops it), or says why there are none
  const wantsNats = plan.cases.some((c) => c.name === "nats");
  const server = wantsNats && !natsMissing ? await startNatsServer() : undefined;
  if (server) process.env.NATS_URL = server.url;
  else if (wantsNats) plan.cases = plan.cases.filter((c) => c.name !== "nats");
  let rows: Row[];
  try {
    rows = await runJobs(jobsOf(plan, !!server));
  } finally {
    await server?.stop();
  }
  if (wantsNats && !server) {
    rows.push({
      impl: "ipc-lab",
      mechanism: "nats",
      pattern: "rtt",
      mode: "sync",
      placement: "unpinned",
      size: 64,
      count: 0,
      skipped: `not measured: ${natsMissing}`,
    });
  }
  const header = {
    ...machineFacts(plan.quick),
    ffi_call_ns: ffiCallCosts(),
    timer_idle_late_p99_ns: await idleTimerLateness(),
    timer_busy_late_p99_ns: await busyTimerLateness(),
  };
  report(header, rows, values, values.out ?? join(resultsRoot, `${header.date.slice(0, 19).replace(/:/g, "-")}-${hostname()}`));
  return 0;
}

/** The plan a command line asks for (defaults: the full run, or the quick one). */
function planOf(values: { [K in keyof typeof benchOptions]?: string | boolean }): Plan {
  const str = (k: keyof typeof benchOptions) => values[k] as string | undefined;
  const quick = !!values.quick;
  const sizes = (list(str("size")) ?? (quick ? ["64"] : ["64", "4096", "65536"])).map(Number);
  const placements = (list(str("placement")) ?? (quick ? ["cross-cpu"] : ["same-cpu", "cross-cpu"])) as Placement[];
  // the full run also measures the ring against the runtimes' own IPC unpinned, idle and loaded
  const asUsersRun: Placement[] = str("placement") || quick ? [] : ["unpinned", "loaded"];
  const mechs = list(str("mech"));
  const count = str("count");
  return {
    quick,
    sizes,
    placements: placements.filter((p) => p !== "cross-cpu" || cpus().length >= 2),
    patterns: list(str("pattern")) ?? ["rtt", "stream", "lock", "request", "values", "inproc"],
    modes: list(str("mode")) ?? ["sync", "async", "async-both", "batch", "loan"],
    // "deno", "node": on Bun, the same ipc-lab measurements (sync) run once more under Deno and
    // under Node — in the full run; --quick leaves them out (they would triple its time) unless named
    impls: list(str("impl")) ?? ["ipc-lab", "c", ...(runtime === "bun" && !quick ? ["deno", "node"] : []), ...runtimeBaselines.map((b) => b.impl)],
    mechs,
    count,
    rttCount: Number(count ?? (quick ? 1000 : 3000)),
    rttWarmCap: count === undefined ? Infinity : Number(count),
    streamCount: (size) => Number(count ?? Math.max(200, Math.min(quick ? 50_000 : 200_000, Math.floor((quick ? 32 : 128) * 2 ** 20 / Math.max(size, 1))))),
    streamTiming: count !== undefined || quick ? FIXED : BY_TIME,
    cases: benchCases.filter((c) => !mechs || mechs.includes(c.name)),
    asUsersRun,
  };
}

/** The placements --placement may name. */
const PLACEMENTS: readonly Placement[] = ["same-cpu", "cross-cpu", "unpinned", "loaded"];

/** What is wrong with a --mech name (not measured, or unknown) or a --placement, or undefined. */
function unknownMechanism(plan: Plan): string | undefined {
  const bad = plan.placements.find((p) => !PLACEMENTS.includes(p));
  if (bad) return `unknown --placement ${bad}; known: ${PLACEMENTS.join(", ")}`;
  for (const m of plan.mechs ?? []) {
    const why = (notMeasured as Record<string, string | undefined>)[m];
    if (why) return `--mech ${m}: not measured (${why})`;
    if (!benchCases.some((c) => c.name === m)) return `unknown --mech ${m}; known: ${benchCases.map((c) => c.name).join(", ")}`;
  }
  return undefined;
}

/** Every job of the plan, in the order they run (so the progress bar knows the total). */
function jobsOf(plan: Plan, nats: boolean): Job[] {
  const jobs: Job[] = [];
  if (plan.impls.includes("c")) {
    jobs.push({
      label: "compile C baselines",
      run: () => (cBaseline(), { impl: "c", mechanism: "", pattern: "rtt", mode: "sync", placement: "unpinned", size: 0, count: 0, skipped: "(build)" }),
    });
  }
  for (const placement of plan.placements) {
    for (const size of plan.sizes) {
      if (plan.impls.includes("ipc-lab")) { for (const c of plan.cases) jobs.push(...mechanismJobs(plan, c, placement, size)); }
      if (plan.impls.includes("c")) jobs.push(...cJobs(plan, placement, size));
      if (size === plan.sizes[0] && plan.impls.includes("ipc-lab")) jobs.push(...patternJobs(plan, placement, size, nats));
      for (const b of runtimeBaselines) {
        const row = { impl: b.impl, mechanism: b.mechanism, pattern: "rtt", mode: "async", placement, size } as const;
        if (plan.impls.includes(b.impl) && plan.patterns.includes("rtt")) {
          jobs.push({
            label: `${b.impl} rtt ${size} B ${placement}`,
            row,
            run: () => b.run(size, plan.rttCount, placement),
          });
        }
      }
    }
  }
  jobs.push(...asUsersRunJobs(plan), ...inprocJobs(plan));
  for (const other of ["deno", "node"] as const) {
    const job = runtimeJob(plan, other);
    if (job) jobs.push(job);
  }
  return jobs;
}

/**
 * The ring against the runtimes' own IPC as users run them — unpinned, on an idle machine
 * and beside one CPU-bound process — in the full run (or when --placement names them):
 * pinning flatters the ring across CPUs (Bun's IPC pays two cross-CPU wake-ups there) and
 * hides what a busy machine does to a spinning waiter.
 */
function asUsersRunJobs(plan: Plan): Job[] {
  const jobs: Job[] = [];
  const shm = plan.cases.find((c) => c.name === "shm");
  const size = plan.sizes[0]!;
  for (const placement of plan.asUsersRun) {
    if (!plan.patterns.includes("rtt")) continue;
    if (shm && plan.impls.includes("ipc-lab")) {
      for (const mode of (["sync", "async-both"] as const).filter((m) => plan.modes.includes(m))) {
        const row = { impl: "ipc-lab", mechanism: "shm", pattern: "rtt", mode, placement, size } as const;
        jobs.push({
          label: `shm rtt ${mode} ${size} B ${placement}`,
          row,
          run: () => roundTrips(shm, size, mode === "sync" ? plan.rttCount : plan.rttCount * 10, placement, mode, plan.rttWarmCap),
        });
      }
    }
    for (const b of runtimeBaselines.filter((b) => plan.impls.includes(b.impl))) {
      const row = { impl: b.impl, mechanism: b.mechanism, pattern: "rtt", mode: "async", placement, size } as const;
      jobs.push({ label: `${b.impl} rtt ${size} B ${placement}`, row, run: () => b.run(size, plan.rttCount, placement) });
    }
  }
  return jobs;
}

/**
 * Send + receive in one process, per mechanism, ipc-lab and C, and a getpid() loop through
 * the FFI and in C (bench/inproc.ts): what a message costs beyond C, no scheduler in the way.
 */
function inprocJobs(plan: Plan): Job[] {
  if (!plan.patterns.includes("inproc")) return [];
  const jobs: Job[] = [];
  const size = plan.sizes[0]!;
  const count = Number(plan.count ?? (plan.quick ? 100_000 : 300_000));
  const row = (impl: string, mechanism: string, s: number) => ({ impl, mechanism, pattern: "inproc", mode: "sync", placement: "unpinned", size: s } as const);
  if (plan.impls.includes("ipc-lab")) {
    jobs.push({
      label: "getpid through the FFI, in one process",
      row: row("ipc-lab", "getpid (FFI)", 0),
      run: () => fastestOf(() => inprocInChild("getpid", 0, count)),
    });
  }
  if (plan.impls.includes("c")) {
    jobs.push({
      label: "C getpid, in one process",
      row: row("c", "getpid", 0),
      run: () => fastestOf(() => runC("getpid", "inproc", 0, count, "unpinned")),
    });
  }
  for (const m of INPROC_MECHS.filter((m) => plan.cases.some((c) => c.name === m))) {
    const s = m === "eventfd" ? 8 : size;
    if (plan.impls.includes("ipc-lab")) {
      jobs.push({
        label: `${m} send + recv in one process`,
        row: row("ipc-lab", m, s),
        run: () => fastestOf(() => inprocInChild(m, size, count)),
      });
      if (m === "shm") {
        jobs.push({
          label: "shm send + recv in one process, js hot path",
          row: row("ipc-lab", RING_JS_ROW, s),
          run: () => fastestOf(() => inprocInChild("shm-js", size, count)),
        });
      }
    }
    if (plan.impls.includes("c")) {
      jobs.push({
        label: `C ${m} send + recv in one process`,
        row: row("c", m, s),
        run: () => fastestOf(() => runC(m, "inproc", s, count, "unpinned")),
      });
    }
  }
  return jobs;
}

/** A row that was not measured, and why. */
const skipped = (c: { name: string }, pattern: "rtt" | "stream", mode: Mode, placement: Placement, size: number, why: string): Row => ({
  impl: "ipc-lab",
  mechanism: c.name,
  pattern,
  mode,
  placement,
  size,
  count: 0,
  skipped: why,
});

/** One mechanism's round trips and streams at one size and placement, in every mode. */
function mechanismJobs(plan: Plan, c: BenchCase, placement: Placement, size: number): Job[] {
  const { sizes, rttCount } = plan;
  // mechanisms whose messages are tiny (eventfd 8 B, signals 7 B, semaphores 0 B) run once, at their size
  const tiny = c.maxSize < Math.min(...sizes);
  if (tiny && size !== Math.min(...sizes)) return [];
  const s = tiny ? c.maxSize : size;
  const jobs: Job[] = [];
  for (const pattern of plan.patterns.filter((p) => p === "rtt" || p === "stream") as ("rtt" | "stream")[]) {
    for (const mode of plan.modes as Mode[]) {
      if (mode === "loan") {
        // zero-copy round trips on the ring, at sizes up to 1 MiB: is latency flat with size?
        if (pattern !== "rtt" || size !== sizes[0] || c.name !== "shm") continue;
        for (const ls of LOAN_SIZES) {
          const row = { impl: "ipc-lab", mechanism: c.name, pattern, mode, placement, size: ls } as const;
          jobs.push({ label: `${c.name} rtt loan ${ls} B ${placement}`, row, run: () => roundTrips(c, ls, rttCount, placement, "loan", plan.rttWarmCap) });
        }
        continue;
      }
      if (mode === "async-both" && (size !== sizes[0] || pattern === "stream")) continue; // both ends async: round trips, smallest size
      if (mode === "batch" && (size !== sizes[0] || pattern === "rtt")) continue; // batches: streams, smallest size
      const label = `${c.name} ${pattern} ${mode} ${s} B ${placement}`;
      const row = { impl: "ipc-lab", mechanism: c.name, pattern, mode, placement, size: s } as const;
      if (s > c.maxSize) {
        jobs.push({
          label,
          row,
          run: () => ({ ...skipped(c, pattern, mode, placement, s, `above its maximum message (${c.maxSize} B)`), inapplicable: true }),
        });
      } else if (pattern === "stream" && c.noStream) jobs.push({ label, row, run: () => skipped(c, pattern, mode, placement, s, c.noStream!) });
      else if (mode === "async" && (size !== sizes[0] || (pattern === "stream" && !c.fdBased))) continue; // async: smallest size
      else if (pattern === "rtt" && mode === "sync" && c.c && plan.impls.includes("c")) {
        // a round trip with a C target: ipc-lab and C alternate, REPS times each
        jobs.push({ label: `${label}, ${REPS}× interleaved with C ${c.c}`, row, run: () => interleaved(c, c.c!, s, rttCount, placement, plan.rttWarmCap) });
      } else if (pattern === "stream" && mode === "sync" && c.name === "shm" && s === 64 && plan.impls.includes("c")) {
        // the ring's 64 B stream, judged against the C ring's: the two alternate, as round trips do
        const job: StreamJob = { mechanism: c.name, size: s, count: plan.streamCount(s), placement, mode, timing: plan.streamTiming };
        jobs.push({ label: `${label}, ${REPS}× interleaved with C shm`, row, run: () => interleavedStream(job) });
      } else {
        const run = () =>
          pattern === "rtt"
            ? roundTrips(c, s, mode !== "sync" && fastRing(c) ? rttCount * 40 : rttCount, placement, mode, plan.rttWarmCap)
            : streamInOwnProcess({
              mechanism: c.name,
              size: s,
              count: plan.streamCount(s),
              placement,
              mode: mode === "async-both" ? "async" : mode,
              timing: plan.streamTiming,
            });
        jobs.push({ label, row, run });
      }
    }
  }
  return jobs;
}

/** The C programs doing the same work, and the cache-line ping-pong the ring is judged against. */
function cJobs(plan: Plan, placement: Placement, size: number): Job[] {
  const jobs: Job[] = [];
  if (placement === "cross-cpu" && size === plan.sizes[0] && plan.patterns.includes("rtt") && plan.cases.some((c) => c.c === "shm")) {
    const row = { impl: "c", mechanism: "flag", pattern: "rtt", mode: "sync", placement, size: 0 } as const;
    jobs.push({ label: `C flag (cache-line ping-pong) rtt ${placement}`, row, run: () => runC("flag", "rtt", 0, plan.rttCount, placement) });
  }
  for (const m of new Set(plan.cases.map((c) => c.c).filter(Boolean) as string[])) {
    for (const pattern of plan.patterns.filter((p) => p === "rtt" || p === "stream") as ("rtt" | "stream")[]) {
      if (m === "eventfd" && (pattern === "stream" || size !== plan.sizes[0])) continue;
      if ((m === "mq" || m === "sysv-mq") && size > 8192) continue;
      const s = m === "eventfd" ? 8 : size;
      const row = { impl: "c", mechanism: m, pattern, mode: "sync", placement, size: s } as const;
      jobs.push({
        label: `C ${m} ${pattern} ${s} B ${placement}`,
        row,
        run: () => runC(m, pattern, s, pattern === "rtt" ? plan.rttCount : plan.streamCount(s), placement, plan.streamTiming),
      });
    }
  }
  return jobs;
}

/**
 * The NATS rows beside the raw official client (bench/nats.ts), across CPUs or unpinned only
 * (a server process and two threads per participant do not fit one CPU's story): fan-out to
 * 1 and 4 subscribers, a pub/sub stream, a queue group and a durable queue with 2 producers
 * and 2 consumers, and the raw client's request/reply beside serve/request's nats rows.
 */
function natsJobs(plan: Plan, placement: Placement, size: number): Job[] {
  const { patterns, rttCount, quick } = plan;
  const jobs: Job[] = [];
  const impls = ["ipc-lab", "raw"] as const;
  const name = (impl: string, what: string) => `${impl === "raw" ? "nats raw" : "nats"}${what}`;
  if (patterns.includes("rtt")) {
    for (const k of [1, 4]) {
      for (const impl of impls) {
        const row = {
          impl: impl === "raw" ? "nats raw" : "ipc-lab",
          mechanism: name(impl, ` → ${k} subscriber${k > 1 ? "s" : ""}`),
          pattern: "rtt",
          mode: impl === "raw" ? "async" : "sync",
          placement,
          size: 64,
        } as const;
        jobs.push({ label: `${row.mechanism} ${placement}`, row, run: () => natsFanout(impl, k, Math.ceil(rttCount / 2), placement) });
      }
    }
  }
  if (patterns.includes("stream")) {
    const n = quick ? 50_000 : 200_000;
    for (const impl of ["ipc-lab", "loop", "raw"] as const) {
      const row = {
        impl: impl === "raw" ? "nats raw" : "ipc-lab",
        mechanism: natsName(impl, "pub/sub"),
        pattern: "stream",
        mode: impl === "ipc-lab" ? "sync" : "async",
        placement,
        size: 64,
      } as const;
      jobs.push({ label: `${row.mechanism} stream ${placement}`, row, run: () => natsStream(impl, n, placement) });
    }
    for (const kind of ["queue", "durable"] as const) {
      const row = natsQueueRow(kind, placement);
      jobs.push({
        label: `${row.mechanism} ${placement}`,
        row,
        run: () => {
          const perProducer = kind === "durable" ? n / 10 : n / 2;
          return natsQueueStream(kind, perProducer, placement, plan.streamTiming.warmMs > 0 ? perProducer / 4 : 0); // a quarter as many first, to warm up
        },
      });
    }
  }
  if (patterns.includes("request") && placement === plan.placements[plan.placements.length - 1]) {
    // once per run: across network-namespace hosts (root only; otherwise a row says why not)
    jobs.push({ label: "nats across hosts", run: () => natsAcrossHosts(Math.ceil(rttCount / 2), quick ? 50_000 : 200_000) });
  }
  if (patterns.includes("request")) {
    for (const clients of [1, 8]) {
      const row = { impl: "nats raw", mechanism: "nats raw", pattern: "request", mode: clients === 1 ? "1 client" : "8 clients", placement, size } as const;
      jobs.push({
        label: `nats raw request/reply, ${clients} client(s) ${placement}`,
        row,
        run: () => natsRawRequest(clients, clients === 1 ? rttCount : Math.ceil(rttCount / 4), size, placement),
      });
    }
  }
  return jobs;
}

/** The many-process patterns, at the smallest size: fan-out, work queues, serve/request, values, locks. */
function patternJobs(plan: Plan, placement: Placement, size: number, nats: boolean): Job[] {
  const { patterns, mechs, rttCount, quick } = plan;
  const wants = (m: string) => !mechs || mechs.includes(m);
  const jobs: Job[] = nats && wants("nats") && placement !== "same-cpu" ? natsJobs(plan, placement, size) : [];
  if (patterns.includes("rtt") && plan.modes.includes("sync") && wants("topic")) {
    // one publisher, 1, 4 and 8 subscribers: the round trip to the last one
    for (const k of [1, 4, 8]) {
      const row = { impl: "ipc-lab", mechanism: `topic → ${k} subscriber${k > 1 ? "s" : ""}`, pattern: "rtt", mode: "sync", placement, size: 64 } as const;
      jobs.push({ label: `topic fan-out to ${k} ${placement}`, row, run: () => topicFanout(k, rttCount, placement) });
    }
  }
  if (patterns.includes("stream") && plan.modes.includes("sync") && wants("shm-queue")) {
    // a work queue against a POSIX queue with the same 2 producers and 2 consumers, alternating
    const row = { impl: "ipc-lab", mechanism: "shm-queue (2 producers, 2 consumers)", pattern: "stream", mode: "sync", placement, size: 64 } as const;
    const perProducer = quick ? 20_000 : 250_000;
    jobs.push({
      label: `shm-queue and mq 2×2 streams ${placement}, ${REPS}× interleaved`,
      row,
      run: () => interleavedQueues(perProducer, placement, plan.streamTiming.warmMs),
      weight: 2 * REPS,
    });
  }
  if (patterns.includes("request")) {
    // serve()/Client as a program uses them: one client asking in turn, and 8 at once
    for (const scheme of REQUEST_SCHEMES.filter((s) => wants(s) && (s !== "nats" || nats))) {
      for (const clients of [1, 8]) {
        const row = { impl: "ipc-lab", mechanism: scheme, pattern: "request", mode: clients === 1 ? "1 client" : "8 clients", placement, size } as const;
        const n = clients === 1 ? rttCount : Math.ceil(rttCount / 4);
        jobs.push({
          label: `${scheme} serve/request, ${clients} client(s) ${placement}`,
          row,
          run: () => requestResponse(scheme, clients, n, size, placement),
        });
      }
    }
  }
  if (patterns.includes("values") && wants("shm")) {
    // an object per request: each codec over shm, against Bun.spawn's IPC and node:net with JSON
    for (const codec of ["json", "msgpack"]) {
      const row = { impl: "ipc-lab", mechanism: `shm + ${codec}`, pattern: "values", mode: "1 client", placement, size: 0 } as const;
      jobs.push({ label: `shm values (${codec}) ${placement}`, row, run: () => requestResponse("shm", 1, rttCount, 0, placement, codec) });
    }
    for (const kind of ["bun-ipc", "net-json"] as const) {
      if (kind === "bun-ipc" && runtime !== "bun") continue;
      const row = { impl: kind, mechanism: kind, pattern: "values", mode: "1 client", placement, size: 0 } as const;
      jobs.push({ label: `${kind} values ${placement}`, row, run: () => valuesBaseline(kind, rttCount, placement) });
    }
  }
  if (patterns.includes("lock")) {
    // the robust mutex against a POSIX semaphore and flock: alone, and with a peer taking it meanwhile
    for (const kind of LOCK_KINDS) {
      for (const contended of [false, true]) {
        const mode = contended ? "contended" : "uncontended";
        const row = { impl: "ipc-lab", mechanism: kind, pattern: "lock", mode, placement, size: 0 } as const;
        jobs.push({ label: `${kind} lock+unlock ${mode} ${placement}`, row, run: () => lockPairs(kind, quick ? 20_000 : 100_000, placement, contended) });
      }
    }
  }
  return jobs;
}

/**
 * On Bun: the same ipc-lab rows (sync and loans, smallest size) once more under Deno or
 * Node; Node also measures its own IPC (child_process, node:net, worker_threads) there.
 */
function runtimeJob(plan: Plan, other: "deno" | "node"): Job | undefined {
  const modes = plan.modes.filter((m) => m === "sync" || m === "loan");
  if (!plan.impls.includes(other) || !plan.impls.includes("ipc-lab") || runtime !== "bun" || modes.length === 0) return undefined;
  const impls = other === "node" && plan.patterns.includes("rtt") ? ["ipc-lab", ...NODE_BASELINES] : ["ipc-lab"];
  const args = ["--impl", impls.join(","), "--mode", modes.join(","), "--size", String(plan.sizes[0]), "--placement", plan.placements.join(",")];
  // inproc: send + receive in one process on this runtime too, beside Bun's and C's (what the runtime's FFI adds)
  args.push("--pattern", plan.patterns.filter((p) => p === "rtt" || p === "stream" || p === "inproc").join(","));
  if (plan.mechs) args.push("--mech", plan.mechs.join(","));
  if (plan.count) args.push("--count", plan.count);
  const name = other === "deno" ? "Deno" : "Node (and Node's own IPC)";
  // each is a benchmark run of its own: measured at ~165 s of a 10-minute full run (24 mechanisms), ~14 average jobs per mechanism
  return {
    label: `the same ipc-lab rows under ${name} (sync ${plan.sizes[0]} B, loans)`,
    run: () => underRuntime(other, args, plan.quick),
    weight: 14 * plan.cases.length,
  };
}

/** Node's own IPC, measured by the Node job beside its ipc-lab rows. */
const NODE_BASELINES = ["node-ipc-json", "node-ipc-advanced", "node-net", "worker-postmessage"];

/** Run the jobs in order with a progress line; a job that throws leaves its row, marked failed. */
async function runJobs(jobs: Job[]): Promise<Row[]> {
  const rows: Row[] = [];
  const tty = process.stderr.isTTY;
  const width = Math.max(40, (process.stderr.columns ?? 100) - 1);
  const started = performance.now();
  const total = jobs.reduce((sum, j) => sum + (j.weight ?? 1), 0);
  let done = 0;
  for (const [i, job] of jobs.entries()) {
    const elapsed = (performance.now() - started) / 1000;
    const left = done > 0 ? (elapsed / done) * (total - done) : undefined;
    const line = `[${String(i + 1).padStart(String(jobs.length).length)}/${jobs.length}] ${clock(elapsed)} elapsed${
      left === undefined ? "" : `, ~${clock(left)} left`
    } · ${job.label}`;
    if (tty) process.stderr.write(`\r${line.slice(0, width).padEnd(width)}`);
    else if (i % Math.max(1, Math.round(jobs.length / 10)) === 0) process.stderr.write(`${line}\n`);
    done += job.weight ?? 1; // (counted before it runs: a failed job is done too)
    cpuLoad(job.row?.placement === "loaded" || (job.row === undefined && job.label.endsWith(" loaded")));
    try {
      const got = await job.run();
      for (const row of Array.isArray(got) ? got : [got]) if (row.skipped !== "(build)") rows.push(row);
    } catch (e) {
      const failed = `failed: ${(e as Error).message.split("\n")[0]}`;
      if (job.row) rows.push({ ...job.row, count: 0, skipped: failed });
      else process.stderr.write(`${job.label}: ${failed}\n`);
    }
  }
  stopLoad();
  if (tty) process.stderr.write(`\r${" ".repeat(width)}\r`);
  process.stderr.write(`measured ${rows.filter((r) => !r.skipped).length} rows in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return rows;
}

/** m:ss */
const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

/** Where runs are saved by default (git-ignored). */
// the caller's directory, never the package's: from a dependent project that would be inside
// node_modules (lost on reinstall), and with a linked install inside someone else's clone
const resultsRoot = resolve("ipc-lab-results");

/**
 * Work out ratios and targets, print the summary (or every table with --full) and the
 * comparison asked for, and write the files: all four into `out` (a new run), and any of
 * --json/--md/--svg named.
 */
function report(
  header: ReturnType<typeof machineFacts>,
  rows: Row[],
  opts: { json?: string; md?: string; svg?: string; full?: boolean; targets?: boolean; compare?: string },
  out: string | undefined,
): void {
  const cOf = (m: string) => benchCases.find((c) => c.name === m)?.c;
  addRatios(rows, cOf);
  const fdBased = new Set(benchCases.filter((c) => c.fdBased).map((c) => c.name));
  const t = targets(rows, fdBased, cOf, header);
  const svg = chartSvg(header, rows);
  if (out) {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "results.json"), JSON.stringify({ header, rows, targets: t }, null, 2) + "\n");
    writeFileSync(join(out, "chart.svg"), svg);
    writeFileSync(join(out, "report.md"), mdReport(header, rows, t, "chart.svg", recommendationMarkdown(rows)));
    writeFileSync(join(out, "report.html"), htmlReport(header, rows, t, svg));
  }
  console.log(opts.full ? textReport(header, rows, t) : textSummary(header, rows, t, out, { targets: opts.targets }));
  if (opts.compare) {
    const old = JSON.parse(readFileSync(opts.compare, "utf8")) as { rows: Row[] };
    console.log(`\n${compareRuns(old.rows, rows)}`);
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ header, rows, targets: t }, null, 2) + "\n");
  if (opts.svg) writeFileSync(opts.svg, svg);
  if (opts.md) writeFileSync(opts.md, mdReport(header, rows, t, opts.svg, recommendationMarkdown(rows)));
  if (out) process.stderr.write(`results saved to ${out}/ (results.json, report.md, chart.svg, report.html)\n`);
}

/** Message sizes of the zero-copy (loan) round trips. */
const LOAN_SIZES = [64, 4096, 65536, 1 << 20];

/** How many times ipc-lab and C each run, alternating, for a round trip with a C target (and the ring's 64 B stream). */
const REPS = 3;

/**
 * ipc-lab's sync round trip and C's, alternating REPS times each (ipc-lab, C, ipc-lab, C,
 * …), so that drift on a noisy machine hits both alike. Each pair gives a ratio; the row
 * reported is ipc-lab's median repetition, with the median ratio and its spread.
 */
async function interleaved(c: BenchCase, cName: string, size: number, count: number, placement: Placement, warmCap: number): Promise<Row> {
  const ours: Row[] = [];
  const ratios: number[] = [];
  const cP50: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const r = await roundTrips(c, size, count, placement, "sync", warmCap);
    const base = runC(cName, "rtt", r.size, count, placement);
    ours.push(r);
    ratios.push(ratioToC(r, base));
    cP50.push(base.p50_ns!);
  }
  const mid = medianRow(ours, "p50_ns");
  // the first repetition's warm-up is the one whose code was coldest in this process
  return {
    ...mid,
    warmup: ours[0]!.warmup,
    ratio_to_c: median(ratios),
    ratio_spread: [Math.min(...ratios), Math.max(...ratios)],
    ratio_reps: REPS,
    c_pair_p50_ns: median(cP50),
  };
}

/** Of repetitions of one row, the one with the median `key` (p50 or rate). */
function medianRow(rows: Row[], key: "p50_ns" | "msgs_per_s"): Row {
  return [...rows].sort((a, b) => a[key]! - b[key]!)[rows.length >> 1]!;
}

/**
 * The ring's stream and the C ring's, alternating REPS times each in fresh processes: the C
 * ring's 64 B stream across CPUs is bimodal on this VM (2.5 or 13 M msg/s, with where the
 * vCPUs sit at that moment), and a C row measured minutes apart from ours compared two
 * machines. The row reported is ipc-lab's median repetition, with the median ratio (C's
 * rate over ours: > 1 is slower) and its spread.
 */
async function interleavedStream(job: StreamJob): Promise<Row> {
  const ours: Row[] = [];
  const ratios: number[] = [];
  const cRates: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const r = await streamInOwnProcess(job);
    const base = runC("shm", "stream", job.size, job.count, job.placement, job.timing);
    ours.push(r);
    ratios.push(ratioToC(r, base));
    cRates.push(base.msgs_per_s!);
  }
  const mid = medianRow(ours, "msgs_per_s");
  return { ...mid, ratio_to_c: median(ratios), ratio_spread: [Math.min(...ratios), Math.max(...ratios)], ratio_reps: REPS, c_pair_msgs_per_s: median(cRates) };
}

/**
 * The 2 × 2 work queue and POSIX mq with the same processes, alternating REPS times each:
 * one pair of runs swung by 1.5× between runs on this VM. Two rows, each its median
 * repetition; the work queue's carries the median of the pairs' ratios and their spread.
 */
async function interleavedQueues(perProducer: number, placement: Placement, warmMs: number): Promise<Row[]> {
  const wq: Row[] = [];
  const mq: Row[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < REPS; i++) {
    wq.push(await queueStream("shm-queue", perProducer, placement, warmMs));
    mq.push(await queueStream("mq", perProducer, placement, warmMs));
    ratios.push(wq[i]!.msgs_per_s! / mq[i]!.msgs_per_s!);
  }
  const pair_ratio = { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), reps: REPS };
  return [{ ...medianRow(wq, "msgs_per_s"), pair_ratio }, medianRow(mq, "msgs_per_s")];
}

/**
 * Run this benchmark under Deno or Node with `args` and return its rows: its ipc-lab rows
 * renamed to DENO_IMPL / NODE_IMPL so that they sit beside Bun's in one report, and its
 * runtime baselines marked with the runtime ("node-net (node)"; node-ipc-* are Node's only).
 */
async function underRuntime(which: "deno" | "node", args: string[], quick: boolean): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), `ipcl-bench-${which}-`));
  try {
    // its files go to our temporary directory: only its rows are wanted
    const child = spawnChild(scriptCommand(fileURLToPath(import.meta.url), [...args, ...(quick ? ["--quick"] : []), "--out", dir], which), {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const errors = await new Response(child.stderr).text();
    if ((await child.exited) !== 0) throw new Error(`the ${which} run failed: ${errors.trim().split("\n").pop()}`);
    const { rows } = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as { rows: Row[] };
    return rows.filter((r) => r.impl !== "c").map((r) =>
      r.impl === "ipc-lab"
        ? { ...r, impl: RUNTIME_IMPLS[which], ratio_to_c: undefined }
        : { ...r, impl: r.impl.startsWith("node-ipc") ? r.impl : `${r.impl} (${which})` }
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta)) process.exitCode = await bench(process.argv.slice(2));
