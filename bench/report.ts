/**
 * The report: machine facts, result tables (terminal and Markdown), the targets with how
 * far each is met or missed, JSON, and an SVG chart.
 */
import { spawnSync } from "node:child_process";
import { cpus, release } from "node:os";
import { readFileSync } from "node:fs";
import { runtime, runtimeBinary, type RuntimeName } from "../ffi/process.ts";
import type { Row } from "./measure.ts";

/** The impl name of ipc-lab rows measured under Deno by a benchmark running on Bun. */
export const DENO_IMPL = "ipc-lab (deno)";

/** Facts about the machine and the run (the JSON header). */
export interface Header {
  date: string;
  cores: number;
  cpu_model: string;
  kernel: string;
  /** the runtime that ran the benchmark (its "ipc-lab" rows) */
  runtime: RuntimeName;
  bun?: string;
  node: string;
  deno?: string;
  cc: string;
  quick: boolean;
}

/** Collect the header facts. */
export function machineFacts(quick: boolean): Header {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
  const version = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8" }).stdout?.split("\n")[0]?.trim() || undefined;
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpu_model: model.trim(),
    kernel: `Linux ${release()}`,
    runtime,
    bun: process.versions.bun ?? version(runtimeBinary("bun"), ["--version"]),
    node: process.versions.node,
    deno: process.versions.deno ? `deno ${process.versions.deno}` : version(runtimeBinary("deno"), ["--version"]),
    cc: version(process.env.CC || "cc", ["--version"]) ?? "unknown",
    quick,
  };
}

/** The C row a row compares with (same mechanism family, pattern, size, placement). */
export function cRowFor(row: Row, rows: Row[], cName: string | undefined): Row | undefined {
  if (!cName) return undefined;
  return rows.find((r) => r.impl === "c" && r.mechanism === cName && r.pattern === row.pattern && r.size === row.size && r.placement === row.placement);
}

/** Fill ratio_to_c: p50 over the C p50 (rtt), or C msg/s over ours (stream): > 1 is slower. */
export function addRatios(rows: Row[], cOf: (mechanism: string) => string | undefined): void {
  for (const r of rows) {
    if (r.impl === "c" || r.skipped) continue;
    const c = cRowFor(r, rows, cOf(r.mechanism));
    if (!c) continue;
    r.ratio_to_c = r.pattern === "rtt" ? r.p50_ns! / c.p50_ns! : c.msgs_per_s! / r.msgs_per_s!;
  }
}

const us = (ns?: number) => (ns === undefined ? "" : ns < 10_000 ? (ns / 1000).toFixed(2) : (ns / 1000).toFixed(1));
const num = (n?: number) => (n === undefined ? "" : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
const mb = (b?: number) => (b === undefined ? "" : b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
const cost = (r: Row) => `${num(r.cpu_ns_per_msg?.parent)}/${num(r.cpu_ns_per_msg?.peer)}`;
const csw = (r: Row) => `${r.ctx_switches_per_msg?.parent.toFixed(2) ?? ""}/${r.ctx_switches_per_msg?.peer?.toFixed(2) ?? "-"}`;
const ratio = (r: Row) => (r.ratio_to_c === undefined ? "" : `${r.ratio_to_c.toFixed(2)}×`);

/** Table rows (header first) for a pattern. */
function tableRows(rows: Row[], pattern: "rtt" | "stream"): string[][] {
  const head =
    pattern === "rtt"
      ? ["mechanism", "impl", "mode", "placement", "size", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "vs C", "cpu ns/msg", "csw/msg"]
      : ["mechanism", "impl", "mode", "placement", "size", "msg/s", "bytes/s", "vs C", "cpu ns/msg", "csw/msg"];
  const body = rows
    .filter((r) => r.pattern === pattern && !r.skipped && r.impl !== DENO_IMPL)
    .map((r) =>
      pattern === "rtt"
        ? [r.mechanism, r.impl, r.mode, r.placement, String(r.size), us(r.p50_ns), us(r.p90_ns), us(r.p99_ns), us(r.p999_ns), us(r.max_ns), ratio(r), cost(r), csw(r)]
        : [r.mechanism, r.impl, r.mode, r.placement, String(r.size), num(r.msgs_per_s), mb(r.bytes_per_s), ratio(r), cost(r), csw(r)],
    );
  return [head, ...body];
}

function textTable(t: string[][]): string {
  const widths = t[0]!.map((_, i) => Math.max(...t.map((r) => r[i]!.length)));
  return t.map((r) => r.map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

function mdTable(t: string[][]): string {
  return [t[0]!, t[0]!.map((_, i) => (i < 5 ? "---" : "---:")), ...t.slice(1)].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** A target and what was measured. */
export interface TargetResult {
  target: string;
  measured: string;
  met: boolean | undefined;
  /** for a missed target: by how much */
  gap?: string;
}

/** Check the issue's targets against the rows. */
export function targets(rows: Row[], fdBased: Set<string>, cOf: (m: string) => string | undefined): TargetResult[] {
  const out: TargetResult[] = [];
  const find = (f: (r: Row) => boolean) => rows.find((r) => !r.skipped && f(r));
  for (const r of rows.filter((r) => r.impl === "ipc-lab" && r.pattern === "rtt" && r.mode === "sync" && r.ratio_to_c !== undefined && r.size === 64 && cOf(r.mechanism) === r.mechanism)) {
    const limit = r.mechanism === "shm" ? 1.3 : 1.1;
    out.push({
      target: `${r.mechanism} sync round trip ≤ ${limit}× C (64 B, ${r.placement})`,
      measured: `${r.ratio_to_c!.toFixed(2)}× (${us(r.p50_ns)} µs vs ${us(cRowFor(r, rows, cOf(r.mechanism))!.p50_ns)} µs)`,
      met: r.ratio_to_c! <= limit,
      gap: r.ratio_to_c! <= limit ? undefined : `${((r.ratio_to_c! / limit - 1) * 100).toFixed(0)}% over`,
    });
  }
  for (const placement of ["cross-cpu", "same-cpu"] as const) {
    const shm = find((r) => r.impl === "ipc-lab" && r.mechanism === "shm" && r.pattern === "rtt" && r.mode === "sync" && r.size === 64 && r.placement === placement);
    const ipc = find((r) => r.impl === "bun-ipc" && r.size === 64 && r.placement === placement);
    if (shm && ipc) {
      const x = ipc.p50_ns! / shm.p50_ns!;
      out.push({ target: `shm ring round trip ≥ 100× faster than Bun.spawn ipc (64 B, ${placement})`, measured: `${x.toFixed(0)}×`, met: x >= 100, gap: x >= 100 ? undefined : `${(100 / x).toFixed(1)}× short` });
    }
    const s64 = find((r) => r.impl === "ipc-lab" && r.mechanism === "shm" && r.pattern === "stream" && r.mode === "sync" && r.size === 64 && r.placement === placement);
    if (s64) out.push({ target: `shm ring stream ≥ 20 M msg/s at 64 B (${placement})`, measured: `${num(s64.msgs_per_s)} msg/s`, met: s64.msgs_per_s! >= 20e6, gap: s64.msgs_per_s! >= 20e6 ? undefined : `${(20e6 / s64.msgs_per_s!).toFixed(1)}× short` });
    const s64k = find((r) => r.impl === "ipc-lab" && r.mechanism === "shm" && r.pattern === "stream" && r.mode === "sync" && r.size === 65536 && r.placement === placement);
    if (s64k) out.push({ target: `shm ring stream ≥ 10 GB/s at 64 KiB (${placement})`, measured: mb(s64k.bytes_per_s) + "/s", met: s64k.bytes_per_s! >= 10e9, gap: s64k.bytes_per_s! >= 10e9 ? undefined : `${(10e9 / s64k.bytes_per_s!).toFixed(1)}× short` });
  }
  for (const a of rows.filter((r) => r.impl === "ipc-lab" && r.pattern === "rtt" && r.mode === "async" && fdBased.has(r.mechanism))) {
    const s = find((r) => r.impl === "ipc-lab" && r.mechanism === a.mechanism && r.pattern === "rtt" && r.mode === "sync" && r.size === a.size && r.placement === a.placement);
    if (!s) continue;
    const x = a.p50_ns! / s.p50_ns!;
    out.push({ target: `${a.mechanism} async round trip ≤ 1.3× sync (${a.size} B, ${a.placement})`, measured: `${x.toFixed(2)}×`, met: x <= 1.3, gap: x <= 1.3 ? undefined : `${((x / 1.3 - 1) * 100).toFixed(0)}% over` });
  }
  return out;
}

function headerLine(h: Header): string {
  return `${h.date.slice(0, 10)} · ${h.cores} × ${h.cpu_model} · ${h.kernel} · run on ${h.runtime ?? "bun"} · Bun ${h.bun ?? "-"}${h.deno ? ` · ${h.deno}` : ""} · ${h.cc}${h.quick ? " · --quick" : ""}`;
}

/**
 * Bun against Deno, per mechanism: the same sync measurement of the same channel code,
 * once per runtime, in the same run. "Deno/Bun" > 1: Deno takes longer (rtt) or moves
 * fewer messages (stream).
 */
function runtimeRows(rows: Row[]): string[][] {
  const head = ["mechanism", "pattern", "placement", "size", "Bun", "Deno", "Deno/Bun"];
  const body: string[][] = [];
  for (const d of rows.filter((r) => r.impl === DENO_IMPL && !r.skipped)) {
    const b = rows.find((r) => r.impl === "ipc-lab" && !r.skipped && r.mode === d.mode && r.mechanism === d.mechanism && r.pattern === d.pattern && r.placement === d.placement && r.size === d.size);
    if (!b) continue;
    const rtt = d.pattern === "rtt";
    const fig = (r: Row) => (rtt ? `${us(r.p50_ns)} µs` : `${num(r.msgs_per_s)} msg/s`);
    const x = rtt ? d.p50_ns! / b.p50_ns! : b.msgs_per_s! / d.msgs_per_s!;
    body.push([d.mechanism, rtt ? "rtt p50" : "stream", d.placement, String(d.size), fig(b), fig(d), `${x.toFixed(2)}×`]);
  }
  return body.length ? [head, ...body] : [];
}

function skips(rows: Row[]): string[] {
  return rows.filter((r) => r.skipped).map((r) => `${r.impl} ${r.mechanism} ${r.pattern} ${r.mode} ${r.size} B: ${r.skipped}`);
}

/** The terminal report. */
export function textReport(h: Header, rows: Row[], t: TargetResult[]): string {
  const lines = [`ipc-lab bench — ${headerLine(h)}`, "", "Round trips (ping-pong; cpu and context switches per message: ours/peer's):", textTable(tableRows(rows, "rtt")), ""];
  if (rows.some((r) => r.pattern === "stream")) lines.push("One-way stream:", textTable(tableRows(rows, "stream")), "");
  const vs = runtimeRows(rows);
  if (vs.length) lines.push("Bun vs Deno (same channels, sync, same run):", textTable(vs), "");
  lines.push("Targets:", ...t.map((x) => `  ${x.met ? "met   " : "MISSED"} ${x.target}: ${x.measured}${x.gap ? ` — ${x.gap}` : ""}`));
  const s = skips(rows);
  if (s.length) lines.push("", `Not measured (${s.length}):`, ...s.map((x) => `  ${x}`));
  return lines.join("\n");
}

/** The Markdown report (optionally embedding the chart). */
export function mdReport(h: Header, rows: Row[], t: TargetResult[], svg?: string): string {
  const parts = [`# ipc-lab benchmark`, "", `${headerLine(h)}`, ""];
  if (svg) parts.push(`![latency and throughput](${svg})`, "");
  parts.push("## Round trips", "", mdTable(tableRows(rows, "rtt")), "");
  if (rows.some((r) => r.pattern === "stream")) parts.push("## One-way stream", "", mdTable(tableRows(rows, "stream")), "");
  const vs = runtimeRows(rows);
  if (vs.length) parts.push("## Bun vs Deno", "", "The same channel code, sync, measured once per runtime in this run; Deno/Bun > 1: Deno is slower.", "", mdTable(vs), "");
  parts.push("## Targets", "", "| target | measured | |", "|---|---|---|", ...t.map((x) => `| ${x.target} | ${x.measured} | ${x.met ? "met" : `**missed**${x.gap ? `: ${x.gap}` : ""}`} |`));
  const s = skips(rows);
  if (s.length) parts.push("", "## Not measured", "", ...s.map((x) => `- ${x}`));
  return parts.join("\n") + "\n";
}
