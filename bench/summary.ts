/**
 * What a person reads first: a one-screen summary (one line per mechanism and
 * implementation, under 100 columns), an HTML page with the chart and every table, and the
 * change against an earlier run. The full tables are in report.ts.
 */
import type { Row } from "./measure.ts";
import {
  type Header,
  headerLine,
  num,
  onOtherRuntime,
  runtimeNames,
  runtimeRows,
  tableRows,
  targetLine,
  type TargetResult,
  textTable,
  us,
  warmupSentence,
} from "./report.ts";

/** The smallest size each (impl, mechanism) was measured at: where its summary figures come from. */
function smallest(rows: Row[], impl: string, mechanism: string): number | undefined {
  const sizes = rows.filter((r) => r.impl === impl && r.mechanism === mechanism && !r.skipped && r.pattern === "rtt").map((r) => r.size);
  return sizes.length ? Math.min(...sizes) : undefined;
}

/** The summary table: per mechanism and implementation, round trips on one CPU and across, vs C, 64 B stream. */
function summaryRows(rows: Row[]): string[][] {
  const head = ["mechanism", "impl", "p50 ×CPU", "p99 ×CPU", "p50 1CPU", "p99 1CPU", "vs C", "64 B msg/s"];
  const seen = new Set<string>();
  const body: string[][] = [];
  for (const r of rows) {
    if (onOtherRuntime(r) || r.skipped || r.pattern !== "rtt") continue;
    const key = `${r.impl}\u0000${r.mechanism}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const size = smallest(rows, r.impl, r.mechanism);
    const at = (placement: string) =>
      rows.find((x) =>
        x.impl === r.impl && x.mechanism === r.mechanism && x.pattern === "rtt" && x.mode === r.mode && x.size === size && x.placement === placement &&
        !x.skipped
      );
    const across = at("cross-cpu") ?? at("unpinned");
    const one = at("same-cpu");
    const stream = rows.find((x) =>
      x.impl === r.impl && x.mechanism === r.mechanism && x.pattern === "stream" && x.mode === "sync" && x.size === size && !x.skipped &&
      x.placement === (across ?? one)?.placement
    );
    const label = size !== undefined && size < 64 ? `${r.mechanism} (${size} B)` : r.mechanism;
    const vs = (across ?? one)?.ratio_to_c;
    body.push([
      label,
      r.impl,
      us(across?.p50_ns),
      us(across?.p99_ns),
      us(one?.p50_ns),
      us(one?.p99_ns),
      vs === undefined ? "" : `${vs.toFixed(2)}×`,
      num(stream?.msgs_per_s),
    ]);
  }
  return [head, ...body];
}

/** The report printed by default: the summary, the targets' tally and the misses. */
export function textSummary(h: Header, rows: Row[], t: TargetResult[], saved?: string): string {
  const missed = t.filter((x) => x.met === false);
  const unmeasured = t.filter((x) => x.met === undefined);
  // one placement is enough here (across CPUs when measured): report.md has the rest
  const deno = runtimeRows(rows).filter((r, i) => i === 0 || r[1] === "rtt p50");
  const where = deno.some((r) => r[2] === "cross-cpu") ? "cross-cpu" : deno[1]?.[2];
  const vs = deno.filter((r, i) => i === 0 || r[2] === where);
  const lines = [
    ...wrap(`ipc-lab bench — ${headerLine(h)}`),
    "",
    "Round trips in µs at 64 B (or the mechanism's own size), and 64 B streams; ×CPU: the processes",
    "on different CPUs; vs C: the ratio to the C program doing the same (> 1 is slower):",
    columns(summaryRows(rows)),
    "",
    ...(warmupSentence(rows)?.match(/.{1,98}(\s|$)/g)?.map((l) => l.trimEnd()).concat("") ?? []),
    ...(vs.length > 1
      ? [`${runtimeNames(vs).join(" vs ")} (round trips, ${where}; × > 1: slower than Bun):`, columns(vs.map((r) => [r[0]!, ...r.slice(4)])), ""]
      : []),
    `Targets: ${t.length - missed.length - unmeasured.length} met, ${missed.length} missed, ${unmeasured.length} not measured${
      missed.length ? " — the largest misses:" : ""
    }`,
    ...missed
      .map((x) => ({ x, by: Number(/([\d.]+)% over|([\d.]+)× short/.exec(x.gap ?? "")?.slice(1).find(Boolean) ?? 0) * (/short/.test(x.gap ?? "") ? 100 : 1) }))
      .sort((a, b) => b.by - a.by)
      .slice(0, 8)
      .map(({ x }) => fit(`  MISSED       ${x.target}: ${x.gap}`)),
    ...unmeasured.map((x) => fit(targetLine(x))),
  ];
  lines.push("", `Every row and target: --full prints them here${saved ? ", and report.md and report.html hold them" : ""}.`);
  return lines.join("\n");
}

/** A table with its first two columns left-aligned and the figures right-aligned. */
function columns(t: string[][]): string {
  const widths = t[0]!.map((_, i) => Math.max(...t.map((r) => r[i]!.length)));
  return t.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd()).join("\n");
}

/** A line shortened to 100 columns (the whole of it is in report.md). */
const fit = (line: string) => (line.length <= 100 ? line : `${line.slice(0, 99)}…`);

/** A long line cut at " · " into lines of at most 100 columns. */
function wrap(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (const part of line.split(" · ")) {
    const next = cur ? `${cur} · ${part}` : part;
    if (next.length > 100 && cur) {
      out.push(cur);
      cur = `  ${part}`.slice(0, 100);
    } else cur = next.slice(0, 100);
  }
  return [...out, cur];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function htmlTable(t: string[][]): string {
  const [head, ...body] = t;
  if (!head) return "";
  return `<table><thead><tr>${head.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>${
    body.map((r) => `<tr>${r.map((c, i) => `<td${i > 1 ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`;
}

/** A self-contained HTML page: the chart (inline SVG), the summary, every table, the targets. */
export function htmlReport(h: Header, rows: Row[], t: TargetResult[], svg: string): string {
  const targetRows = [
    ["target", "measured", "verdict"],
    ...t.map((
      x,
    ) => [
      x.target,
      x.met === undefined ? "—" : x.measured,
      x.met === undefined ? `NOT MEASURED: ${x.gap}` : x.met ? "met" : `MISSED${x.gap ? `: ${x.gap}` : ""}`,
    ]),
  ];
  const vs = runtimeRows(rows);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ipc-lab benchmark ${esc(h.date.slice(0, 10))}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}</style>
</head><body>
<h1>ipc-lab benchmark</h1><p>${esc(headerLine(h))}</p>
${svg}
<h2>Summary</h2>${htmlTable(summaryRows(rows))}
<h2>Round trips</h2>${htmlTable(tableRows(rows, "rtt"))}
<h2>One-way stream</h2>${htmlTable(tableRows(rows, "stream"))}
${vs.length ? `<h2>${runtimeNames(vs).join(" vs ")}</h2>${htmlTable(vs)}` : ""}
<h2>Targets</h2>${htmlTable(targetRows)}
</body></html>
`;
}

const key = (r: Row) => [r.impl, r.mechanism, r.pattern, r.mode, r.placement, r.size].join("\u0000");

/**
 * Each row measured in both runs, with its change: p50 for round trips, messages per
 * second for streams; "+12% slower" / "8% faster". Rows in one run only are counted.
 */
export function compareRuns(old: Row[], now: Row[]): string {
  const before = new Map(old.filter((r) => !r.skipped).map((r) => [key(r), r]));
  const head = ["mechanism", "impl", "pattern", "mode", "placement", "size", "before", "now", "change"];
  const body: string[][] = [];
  let only = 0;
  for (const r of now.filter((x) => !x.skipped)) {
    const b = before.get(key(r));
    if (!b) {
      only++;
      continue;
    }
    const rtt = r.pattern === "rtt";
    const slower = rtt ? r.p50_ns! / b.p50_ns! : b.msgs_per_s! / r.msgs_per_s!;
    const pct = Math.abs(slower - 1) * 100;
    const change = pct < 0.5 ? "same" : `${pct.toFixed(0)}% ${slower > 1 ? "slower" : "faster"}`;
    const fig = (x: Row) => (rtt ? `${us(x.p50_ns)} µs` : `${num(x.msgs_per_s)}/s`);
    body.push([r.mechanism, r.impl, r.pattern, r.mode, r.placement, String(r.size), fig(b), fig(r), change]);
  }
  return [
    `Compared with the earlier run (${body.length} rows in both${only ? `, ${only} only in this one` : ""}; round trips by p50, streams by msg/s):`,
    textTable([head, ...body]),
  ].join("\n");
}
