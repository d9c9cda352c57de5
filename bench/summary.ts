/**
 * What a person reads first: a one-screen summary (one line per mechanism and
 * implementation, under 100 columns), an HTML page with the chart and every table, and the
 * change against an earlier run. The full tables are in report.ts.
 */
import type { Row } from "./measure.ts";
import { placementWords, recommend, recommendationLines, wrapWords } from "./recommend.ts";
import {
  builtinNames,
  type Header,
  headerLine,
  inprocRows,
  num,
  onOtherRuntime,
  rowLabel,
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

/**
 * The summary table: per mechanism and implementation, round trips on one CPU and across, vs
 * C, 64 B stream. `ours`: ipc-lab and the C programs; otherwise the runtimes' own IPC and the
 * raw NATS client (a table of their own, so that each fits 100 columns).
 */
function summaryRows(rows: Row[], ours = true): string[][] {
  if (!ours) return withoutEmptyColumns(theirRows(rows));
  // vs C for both placements: across CPUs this VM's wake-up (~60 µs) hides what the library
  // adds; on one CPU it shows
  const head = ["mechanism", "impl", "p50 ×CPU", "p99 ×CPU", "p50 1CPU", "p99 1CPU", "C× ×CPU", "C× 1CPU", "64 B msg/s"];
  const seen = new Set<string>();
  const body: string[][] = [];
  for (const r of rows) {
    if (onOtherRuntime(r) || r.skipped || r.pattern !== "rtt" || (r.impl === "ipc-lab" || r.impl === "c") !== ours) continue;
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
    const vs = (r?: Row) => (r?.ratio_to_c === undefined ? "" : `${r.ratio_to_c.toFixed(2)}×`);
    body.push([
      label,
      r.impl,
      us(across?.p50_ns),
      us(across?.p99_ns),
      us(one?.p50_ns),
      us(one?.p99_ns),
      vs(across),
      vs(one),
      num(stream?.msgs_per_s),
    ]);
  }
  return withoutEmptyColumns([head, ...body]);
}

/** The runtimes' own IPC and the raw NATS client: p50/p99 for each placement, under the names their users know. */
function theirRows(rows: Row[]): string[][] {
  const body: string[][] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (onOtherRuntime(r) || r.skipped || r.pattern !== "rtt" || r.impl === "ipc-lab" || r.impl === "c" || seen.has(rowLabel(r))) continue;
    seen.add(rowLabel(r));
    const at = (placement: string) =>
      rows.find((x) => rowLabel(x) === rowLabel(r) && x.pattern === "rtt" && x.size === r.size && x.placement === placement && !x.skipped);
    const [across, one] = [at("cross-cpu") ?? at("unpinned"), at("same-cpu")];
    body.push([rowLabel(r), us(across?.p50_ns), us(across?.p99_ns), us(one?.p50_ns), us(one?.p99_ns)]);
  }
  return [["", "p50 ×CPU", "p99 ×CPU", "p50 1CPU", "p99 1CPU"], ...body];
}

/**
 * The ring against the runtimes' own IPC as users run them: unpinned, on an idle machine and
 * beside one CPU-bound process (p50 and p99 round trips); empty when the run has no such rows.
 */
function asUsersRunRows(rows: Row[]): string[][] {
  const at = (r: Row, placement: string) =>
    rows.find((x) =>
      x.impl === r.impl && x.mechanism === r.mechanism && x.mode === r.mode && x.pattern === "rtt" && x.size === r.size && x.placement === placement &&
      !x.skipped
    );
  const body: string[][] = [];
  for (const r of rows.filter((r) => r.placement === "unpinned" && r.pattern === "rtt" && !r.skipped && !onOtherRuntime(r))) {
    if (r.impl !== "ipc-lab" && !builtinNames[r.impl]) continue; // (the NATS rows run unpinned too: not these)
    const loaded = at(r, "loaded");
    const name = r.impl === "ipc-lab" ? `${r.mechanism} ${r.mode === "async-both" ? "(both ends async)" : "(sync)"}` : rowLabel(r);
    body.push([name, us(r.p50_ns), us(r.p99_ns), us(loaded?.p50_ns), us(loaded?.p99_ns)]);
  }
  return body.length ? [["", "p50 idle", "p99 idle", "p50 loaded", "p99 loaded"], ...body] : [];
}

/** A table without the columns no row has a figure in (a --quick run measures one placement). */
function withoutEmptyColumns(t: string[][]): string[][] {
  const keep = t[0]!.map((_, i) => i < 1 || t.slice(1).some((r) => r[i] !== ""));
  return t.map((r) => r.filter((_, i) => keep[i]));
}

/**
 * The report printed by default: which mechanism to use on this machine, the summary table,
 * and a tally of ipc-lab's own targets (the project's goals for itself, not a verdict on the
 * user's machine: `--targets` lists each, report.md and report.html hold them).
 */
export function textSummary(h: Header, rows: Row[], t: TargetResult[], saved?: string, opts: { targets?: boolean } = {}): string {
  const missed = t.filter((x) => x.met === false);
  const unmeasured = t.filter((x) => x.met === undefined);
  // one placement is enough here (across CPUs when measured): report.md has the rest
  const deno = runtimeRows(rows).filter((r, i) => i === 0 || r[1] === "rtt p50");
  const where = deno.some((r) => r[2] === "cross-cpu") ? "cross-cpu" : deno[1]?.[2];
  const vs = deno.filter((r, i) => i === 0 || r[2] === where);
  const advice = recommendationLines(rows);
  const lines = [
    ...wrap(`ipc-lab bench — ${headerLine(h)}`),
    "",
    ...(advice.length ? [...advice, ""] : []),
    "Round trips in µs at 64 B (or the mechanism's own size), and 64 B streams; ×CPU: the processes",
    "on different CPUs, 1CPU: both on one; C×: the ratio to the C program doing the same (> 1: slower;",
    "on one CPU it shows what ipc-lab adds, across CPUs the wake-up between CPUs hides it):",
    columns(summaryRows(rows)),
    "",
    ...(summaryRows(rows, false).length > 1 ? ["The runtimes' own IPC, and the raw NATS client, the same way:", columns(summaryRows(rows, false), 1), ""] : []),
    ...(inprocRows(rows).length
      ? ["In one process — send + receive of one message, ns (no wake-up: what ipc-lab adds to the call):", columns(inprocRows(rows), 1), ""]
      : []),
    ...(asUsersRunRows(rows).length
      ? ["As users run them — unpinned, on an idle machine and beside one CPU-bound process (round trips, µs):", columns(asUsersRunRows(rows), 1), ""]
      : []),
    ...(warmupSentence(rows) ? [...wrapWords(warmupSentence(rows)!, 100), ""] : []),
    ...(vs.length > 1
      ? [`${runtimeNames(vs).join(" vs ")} (round trips, ${where}; × > 1: slower than Bun):`, columns(vs.map((r) => [r[0]!, ...r.slice(4)])), ""]
      : []),
    ...wrapWords(
      `ipc-lab's own targets (the project's goals for itself, not a verdict on this machine): ${
        t.length - missed.length - unmeasured.length
      } met, ${missed.length} missed${unmeasured.length ? `, ${unmeasured.length} not measured` : ""}${
        opts.targets ? ":" : ` — --targets lists each${saved ? "; report.md and report.html hold them" : ""}.`
      }`,
      100,
    ),
    ...(opts.targets ? t.flatMap(targetLines) : []),
  ];
  lines.push("", `Every row${opts.targets ? "" : " and target"}: --full prints them here${saved ? ", and report.md and report.html hold them" : ""}.`);
  return lines.join("\n");
}

/** One target's verdict, wrapped to 100 columns under its status word. */
function targetLines(x: TargetResult): string[] {
  const [, status, rest] = /^\s*(NOT MEASURED|met|MISSED)\s+(.*)$/.exec(targetLine(x))!;
  return wrapWords(rest!, 100, `  ${status!.padEnd(12)} `, " ".repeat(16));
}

/** A table with its first `left` columns left-aligned and the figures right-aligned. */
function columns(t: string[][], left = 2): string {
  const widths = t[0]!.map((_, i) => Math.max(...t.map((r) => r[i]!.length)));
  return t.map((r) => r.map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd()).join("\n");
}

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

/** The recommendation as an HTML section (empty when this run answers no need). */
function recommendationHtml(rows: Row[]): string {
  const r = recommend(rows);
  if (!r || !r.entries.length) return "";
  return `<h2>Which to use, on this machine</h2><p>From this run (${r.size} B round trips, p50, ${
    esc(placementWords[r.placement] ?? r.placement)
  }):</p><dl class="advice">${
    r.entries.map((e) =>
      `<dt>${esc(e.need)}: <code>${esc(e.pick)}</code></dt><dd>${esc(e.figures)}. ${esc(e.tradeoff.charAt(0).toUpperCase() + e.tradeoff.slice(1))}.</dd>`
    ).join("")
  }</dl>`;
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
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}dl.advice dt{font-weight:bold;margin-top:.5em}dl.advice dd{margin:0 0 0 1.5em}</style>
</head><body>
<h1>ipc-lab benchmark</h1><p>${esc(headerLine(h))}</p>
${recommendationHtml(rows)}
${svg}
<h2>Summary</h2>${htmlTable(summaryRows(rows))}${htmlTable(summaryRows(rows, false))}${
    asUsersRunRows(rows).length ? `<h3>As users run them: unpinned, idle and beside one CPU-bound process</h3>${htmlTable(asUsersRunRows(rows))}` : ""
  }
${inprocRows(rows).length ? `<h2>In one process: what a message costs beyond C</h2>${htmlTable(inprocRows(rows))}` : ""}
<h2>Round trips</h2>${htmlTable(tableRows(rows, "rtt"))}
<h2>One-way stream</h2>${htmlTable(tableRows(rows, "stream"))}
${vs.length ? `<h2>${runtimeNames(vs).join(" vs ")}</h2>${htmlTable(vs)}` : ""}
<h2>ipc-lab's own targets</h2><p>The project's goals for itself (what it should cost against C and the runtimes' own IPC), judged on this run — not a verdict on this machine.</p>${
    htmlTable(targetRows)
  }
</body></html>
`;
}

const key = (r: Row) => [r.impl, r.mechanism, r.pattern, r.mode, r.placement, r.size].join("\u0000");

/** How much slower a row got (> 1 slower, < 1 faster): p50 for round trips and requests, messages per second for streams. */
function slowdown(before: Row, now: Row): number | undefined {
  if (now.p50_ns !== undefined && before.p50_ns !== undefined && now.pattern !== "stream") return now.p50_ns / before.p50_ns;
  if (now.msgs_per_s !== undefined && before.msgs_per_s !== undefined) return before.msgs_per_s / now.msgs_per_s;
  return undefined;
}

/**
 * The change against an earlier run, summary first: how many rows got slower or faster by
 * more than the noise band, then only those rows, largest change first. The band is what
 * the runs themselves show: the most any row whose code cannot have changed (C programs,
 * the runtimes' own IPC, the raw NATS client) moved between the two runs. Round trips are
 * compared by p50 ("1.4× slower"), streams by msg/s ("2.1× lower throughput").
 */
export function compareRuns(old: Row[], now: Row[]): string {
  const before = new Map(old.filter((r) => !r.skipped).map((r) => [key(r), r]));
  const pairs: { r: Row; b: Row; x: number }[] = [];
  let only = 0;
  for (const r of now.filter((x) => !x.skipped)) {
    const b = before.get(key(r));
    const x = b && slowdown(b, r);
    if (x === undefined || !Number.isFinite(x) || x <= 0) only++;
    else pairs.push({ r, b: b!, x });
  }
  const factor = (x: number) => Math.max(x, 1 / x);
  // with ten or more reference rows, their 90th percentile: one outlier should not hide every change
  const moves = pairs.filter(({ r }) => !r.impl.startsWith("ipc-lab")).map(({ x }) => factor(x)).sort((a, b) => a - b);
  const p90 = moves.length >= 10;
  const band = moves.length ? moves[p90 ? Math.ceil(moves.length * 0.9) - 1 : moves.length - 1]! : 1.1;
  const bandWords = moves.length
    ? `±${((band - 1) * 100).toFixed(0)}%: ${
      p90 ? "what 90% of" : "the most any of"
    } the ${moves.length} rows whose code did not change (C, the runtimes' own IPC) moved between the runs`
    : "±10%: neither run has C or runtime rows to measure the noise by, so a 10% band is assumed";
  const changed = pairs.filter(({ r, x }) => r.impl.startsWith("ipc-lab") && factor(x) > band).sort((a, b) => factor(b.x) - factor(a.x));
  const slower = changed.filter(({ x }) => x > 1).length;
  const ours = pairs.filter(({ r }) => r.impl.startsWith("ipc-lab")).length;
  const change = (r: Row, x: number) =>
    r.pattern === "stream"
      ? `${factor(x).toFixed(factor(x) < 10 ? 2 : 0)}× ${x > 1 ? "lower" : "higher"} throughput`
      : `${factor(x).toFixed(factor(x) < 10 ? 2 : 0)}× ${x > 1 ? "slower" : "faster"}`;
  const fig = (x: Row) => (x.pattern === "stream" || x.p50_ns === undefined ? `${num(x.msgs_per_s)}/s` : `${us(x.p50_ns)} µs`);
  const head = ["mechanism", "impl", "pattern", "mode", "placement", "size", "before", "now", "change"];
  const body = changed.map(({ r, b, x }) => [r.mechanism, r.impl, r.pattern, r.mode, r.placement, String(r.size), fig(b), fig(r), change(r, x)]);
  return [
    ...wrapWords(
      `Against the earlier run: of ${ours} ipc-lab rows in both, ${slower} slower and ${changed.length - slower} faster beyond the noise band, ${
        ours - changed.length
      } within it (${bandWords})${only ? `; ${only} rows only in this run` : ""}.`,
      100,
    ),
    ...(body.length ? ["", textTable([head, ...body])] : []),
  ].join("\n");
}
