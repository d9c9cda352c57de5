/**
 * The chart: (1) round-trip p50 per mechanism at the smallest size, for each placement the
 * run measured, with p99 whiskers, the C baseline marked and the runtimes' own IPC drawn
 * apart; (2) stream throughput: against message size as small multiples (one panel per
 * family of mechanisms, few lines each, labelled at their ends), or — when the run measured
 * one size — as bars. Plain SVG, no dependency.
 */
import { onOtherRuntime, rowLabel as label } from "./report.ts";
import type { Row } from "./measure.ts";
import type { Header } from "./report.ts";
import { isMainModule } from "../ffi/process.ts";

const W = 960;
/** Okabe–Ito: told apart by most readers, colour-blind ones included (its yellow left out: unreadable on white). */
const palette = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7"];
const placementFill: Record<string, string> = { "cross-cpu": "#0072B2", "same-cpu": "#56B4E9", unpinned: "#009E73", loaded: "#E69F00" };
const placementWords: Record<string, string> = {
  "cross-cpu": "pinned to different CPUs",
  "same-cpu": "both on one CPU",
  unpinned: "placed by the scheduler",
  loaded: "beside a CPU-bound process",
};
/** The runtimes' own IPC in grey, a shade per placement (in the order placements are drawn). */
const greys = ["#666", "#aaa", "#888", "#ccc"];
/** The families of the throughput panels (a mechanism in none goes to the last). */
const families: [string, string[]][] = [
  ["shared memory", ["shm", "shm (semaphore)", "memfd", "sysv-shm", "topic", "shm-queue", "worker"]],
  ["byte streams", ["pipe", "fifo", "unix", "tcp", "file", "spawn", "popen"]],
  ["kernel messages", ["mq", "sysv-mq", "unix-dgram", "udp", "nats"]],
];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const log10 = Math.log10;
const text = (x: number, y: number, s: string, attrs = "") => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs ? ` ${attrs}` : ""}>${esc(s)}</text>`;
/** A text's width at `size` px in a sans-serif face, near enough to lay labels out. */
const width = (s: string, size: number) => s.length * size * 0.56;

function fmtNs(ns: number): string {
  return ns >= 1e6 ? `${ns / 1e6} ms` : ns >= 1e3 ? `${ns / 1e3} µs` : `${ns} ns`;
}
const fmtSize = (s: number) => (s >= 1 << 20 ? `${s / (1 << 20)} MiB` : s >= 1024 ? `${s / 1024} KiB` : `${s} B`);
const fmtRate = (b: number) => (b >= 1e9 ? `${+(b / 1e9).toPrecision(3)} GB/s` : `${+(b / 1e6).toPrecision(3)} MB/s`);
const fmtMsgs = (m: number) => (m >= 1e6 ? `${(m / 1e6).toFixed(2)} M/s` : `${(m / 1e3).toFixed(0)} k/s`);

/** Labels spread apart vertically (at least `gap` px), keeping their order: for labels at line ends. */
function spread(ys: number[], gap: number, lo: number, hi: number): number[] {
  const order = ys.map((y, i) => [y, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(ys.length);
  let prev = -Infinity;
  for (const [y, i] of order) out[i] = prev = Math.max(y, prev + gap);
  // pushed past the bottom: shift the run back up
  const over = Math.max(...out) - hi;
  if (over > 0) { for (let i = 0; i < out.length; i++) out[i] = Math.max(lo, out[i]! - over); }
  return out;
}

/** Panel 1: round trips, one band per label, one bar per placement measured. Returns its SVG and height. */
function roundTrips(rows: Row[], top: number): { svg: string[]; bottom: number } {
  // ipc-lab in its sync form; the runtimes' own IPC is async by nature; C is the ◆
  const rtt = rows.filter((r) =>
    r.pattern === "rtt" && (r.mode === "sync" || (r.impl !== "ipc-lab" && r.impl !== "c")) && !r.skipped && r.impl !== "c" && !onOtherRuntime(r) &&
    r.p50_ns !== undefined
  );
  const size = Math.min(...rtt.filter((r) => r.size >= 64).map((r) => r.size), 64);
  const at = rtt.filter((r) => r.size === size || (r.size < 64 && r.impl === "ipc-lab"));
  const ours = [...new Set(at.filter((r) => r.impl === "ipc-lab").map(label))];
  const theirs = [...new Set(at.filter((r) => r.impl !== "ipc-lab").map(label))];
  const placements = (["cross-cpu", "same-cpu", "unpinned", "loaded"] as const).filter((p) => at.some((r) => r.placement === p));
  const labels = [...ours, ...(theirs.length ? ["", ...theirs] : [])]; // "" = the gap before the runtimes' own
  // each label's band holds a bar per placement it was measured in (the unpinned and loaded rows are few)
  const placementsOf = (name: string) => (name ? placements.filter((p) => at.some((r) => label(r) === name && r.placement === p)) : []);
  const bandOf = (name: string) => 8 * Math.max(1, placementsOf(name).length) + 8;
  const tops = labels.map((_, i) => top + labels.slice(0, i).reduce((sum, l) => sum + bandOf(l), 0));
  const left = 20 + Math.max(...labels.map((l) => width(l, 11))), right = W - 30;
  const lo = 100, hi = 1e7; // 0.1 µs .. 10 ms
  const x = (ns: number) => left + ((log10(Math.min(Math.max(ns, lo), hi)) - log10(lo)) / (log10(hi) - log10(lo))) * (right - left);
  const bottom = top + labels.reduce((sum, l) => sum + bandOf(l), 0);
  const out: string[] = [];
  out.push(
    text(left, top - 26, `Round trip, ${size} B: p50 (bar) to p99 (whisker), log scale; ◆ = the C program doing the same`, 'font-size="13" font-weight="bold"'),
  );
  // the legend: only the placements this run measured
  let lx = left;
  for (const p of placements) {
    out.push(
      `<rect x="${lx}" y="${top - 18}" width="10" height="8" fill="${placementFill[p]}"/>`,
      text(lx + 14, top - 10, placementWords[p]!, 'font-size="11"'),
    );
    lx += 30 + width(placementWords[p]!, 11);
  }
  if (theirs.length) {
    out.push(`<rect x="${lx}" y="${top - 18}" width="10" height="8" fill="#999"/>`, text(lx + 14, top - 10, "the runtimes' own IPC", 'font-size="11"'));
  }
  for (let d = log10(lo); d <= log10(hi); d++) {
    const gx = x(10 ** d);
    out.push(`<line x1="${gx}" y1="${top}" x2="${gx}" y2="${bottom}" stroke="#ddd"/>`);
    out.push(text(gx, bottom + 14, fmtNs(10 ** d), 'font-size="10" text-anchor="middle" fill="#555"'));
  }
  labels.forEach((name, i) => {
    if (!name) return;
    const y = tops[i]!;
    out.push(text(left - 8, y + bandOf(name) / 2 + 4, name, 'font-size="11" text-anchor="end"'));
    placementsOf(name).forEach((placement, j) => {
      const r = at.find((r) => label(r) === name && r.placement === placement);
      if (!r) return;
      const by = y + 4 + j * 8;
      const fill = r.impl === "ipc-lab" ? placementFill[placement] : greys[placements.indexOf(placement)];
      out.push(
        `<rect x="${left}" y="${by}" width="${Math.max(1, x(r.p50_ns!) - left).toFixed(1)}" height="7" fill="${fill}"><title>${
          esc(`${name}, ${placementWords[placement]}: p50 ${fmtNs(r.p50_ns!)}, p99 ${fmtNs(r.p99_ns ?? r.p50_ns!)}`)
        }</title></rect>`,
      );
      if (r.p99_ns !== undefined) out.push(`<line x1="${x(r.p50_ns!)}" y1="${by + 3.5}" x2="${x(r.p99_ns)}" y2="${by + 3.5}" stroke="#333"/>`);
      const c = rows.find((c) =>
        c.impl === "c" && c.pattern === "rtt" && c.placement === placement && c.size === size && c.mechanism === r.mechanism && r.impl === "ipc-lab"
      );
      if (c?.p50_ns !== undefined) out.push(`<path d="M${x(c.p50_ns).toFixed(1)} ${by - 1} l4 4.5 l-4 4.5 l-4 -4.5 z" fill="#D55E00"/>`);
    });
  });
  return { svg: out, bottom: bottom + 20 };
}

/** The stream rows the throughput panels draw: ipc-lab, sync, one placement (across CPUs when measured), plain mechanisms. */
function streamRows(rows: Row[]): { rows: Row[]; placement: string } | undefined {
  const all = rows.filter((r) =>
    r.pattern === "stream" && r.mode === "sync" && r.impl === "ipc-lab" && !r.skipped && r.size >= 64 && r.bytes_per_s !== undefined &&
    !/[(→]/.test(r.mechanism.replace(" (semaphore)", ""))
  );
  const placement = ["cross-cpu", "unpinned", "same-cpu"].find((p) => all.some((r) => r.placement === p));
  return placement ? { rows: all.filter((r) => r.placement === placement), placement } : undefined;
}

/** Panel 2, one size measured: a bar per mechanism, messages per second, largest first. */
function throughputBars(stream: Row[], placement: string, top: number): { svg: string[]; bottom: number } {
  const sorted = [...stream].sort((a, b) => b.msgs_per_s! - a.msgs_per_s!);
  const left = 20 + Math.max(...sorted.map((r) => width(r.mechanism, 11))), right = W - 110, band = 16;
  const max = sorted[0]!.msgs_per_s!;
  const out = [
    text(
      left,
      top - 10,
      `One-way stream, ${fmtSize(sorted[0]!.size)} messages, ${placementWords[placement]}: messages per second`,
      'font-size="13" font-weight="bold"',
    ),
  ];
  sorted.forEach((r, i) => {
    const y = top + i * band;
    const w = ((right - left) * r.msgs_per_s!) / max;
    out.push(text(left - 8, y + 11, r.mechanism, 'font-size="11" text-anchor="end"'));
    out.push(`<rect x="${left}" y="${y + 2}" width="${Math.max(1, w).toFixed(1)}" height="11" fill="${placementFill[placement]}"/>`);
    out.push(text(left + w + 6, y + 11, fmtMsgs(r.msgs_per_s!), 'font-size="10" fill="#333"'));
  });
  return { svg: out, bottom: top + sorted.length * band + 20 };
}

/** Panel 2, several sizes: one small panel per family, bytes per second against size, log-log, lines labelled at their ends. */
function throughputLines(stream: Row[], placement: string, top: number): { svg: string[]; bottom: number } {
  // a mechanism measured at one size has no line to draw (the summary table has its figure)
  const mechs = [...new Set(stream.map((r) => r.mechanism))].filter((m) => new Set(stream.filter((r) => r.mechanism === m).map((r) => r.size)).size > 1);
  stream = stream.filter((r) => mechs.includes(r.mechanism));
  const sizes = [...new Set(stream.map((r) => r.size))].sort((a, b) => a - b);
  const groups = families.map(([name, members]) => [name, mechs.filter((m) => members.includes(m))] as const);
  const rest = mechs.filter((m) => !families.some(([, members]) => members.includes(m)));
  if (rest.length) groups.push(["others", rest]);
  const shown = groups.filter(([, ms]) => ms.length);
  const rates = stream.map((r) => r.bytes_per_s!);
  const bLo = 10 ** Math.floor(log10(Math.min(...rates))), bHi = 10 ** Math.ceil(log10(Math.max(...rates)));
  const cell = W / shown.length, h = 240;
  const out = [
    text(
      20,
      top - 30,
      `One-way stream throughput against message size, ${placementWords[placement]} (log-log; bytes per second)`,
      'font-size="13" font-weight="bold"',
    ),
  ];
  shown.forEach(([name, ms], k) => {
    const l = k * cell + 58, r = (k + 1) * cell - 96, t = top, b = top + h;
    const sx = (s: number) => l + ((log10(s) - log10(sizes[0]!)) / (log10(sizes.at(-1)!) - log10(sizes[0]!))) * (r - l);
    const sy = (v: number) => b - ((log10(v) - log10(bLo)) / (log10(bHi) - log10(bLo))) * (b - t);
    out.push(text((l + r) / 2, t - 8, name, 'font-size="12" font-weight="bold" text-anchor="middle"'));
    for (let d = log10(bLo); d <= log10(bHi) + 1e-9; d++) {
      out.push(`<line x1="${l}" y1="${sy(10 ** d).toFixed(1)}" x2="${r}" y2="${sy(10 ** d).toFixed(1)}" stroke="#ddd"/>`);
      out.push(text(l - 5, sy(10 ** d) + 3.5, fmtRate(10 ** d), 'font-size="9" text-anchor="end" fill="#555"'));
    }
    for (const s of sizes) out.push(text(sx(s), b + 14, fmtSize(s), 'font-size="9" text-anchor="middle" fill="#555"'));
    const ends: { m: string; y: number; color: string }[] = [];
    ms.forEach((m, i) => {
      const pts = stream.filter((x) => x.mechanism === m).sort((a, c) => a.size - c.size);
      const color = palette[i % palette.length]!;
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${
          pts.map((p) => `${sx(p.size).toFixed(1)},${sy(p.bytes_per_s!).toFixed(1)}`).join(" ")
        }"/>`,
      );
      for (const p of pts) {
        out.push(
          `<circle cx="${sx(p.size).toFixed(1)}" cy="${sy(p.bytes_per_s!).toFixed(1)}" r="2.5" fill="${color}"><title>${
            esc(`${m}, ${fmtSize(p.size)}: ${fmtRate(p.bytes_per_s!)}, ${fmtMsgs(p.msgs_per_s!)}`)
          }</title></circle>`,
        );
      }
      ends.push({ m, y: sy(pts.at(-1)!.bytes_per_s!), color });
    });
    const ys = spread(ends.map((e) => e.y), 11, t, b);
    ends.forEach((e, i) => {
      const endX = sx(stream.filter((x) => x.mechanism === e.m).reduce((a, c) => Math.max(a, c.size), 0));
      out.push(text(endX + 6, ys[i]! + 3.5, e.m, `font-size="10" fill="${e.color}"`));
    });
  });
  return { svg: out, bottom: top + h + 30 };
}

/** The chart as an SVG document. */
export function chartSvg(h: Header, rows: Row[]): string {
  const out: string[] = [];
  out.push(`<text x="${W / 2}" y="24" font-size="17" text-anchor="middle" font-weight="bold">ipc-lab: round trip and throughput per mechanism</text>`);
  out.push(
    text(
      W / 2,
      44,
      `${h.date.slice(0, 10)} · ${h.cores} × ${h.cpu_model} · ${h.kernel} · ${h.runtime ?? "bun"} ${h.runtime === "deno" ? h.deno : `Bun ${h.bun}`}`,
      'font-size="11" text-anchor="middle" fill="#555"',
    ),
  );
  const p1 = roundTrips(rows, 100);
  out.push(...p1.svg);
  let bottom = p1.bottom;
  const s = streamRows(rows);
  if (s) {
    const oneSize = new Set(s.rows.map((r) => r.size)).size < 2;
    const p2 = oneSize ? throughputBars(s.rows, s.placement, bottom + 40) : throughputLines(s.rows, s.placement, bottom + 70);
    out.push(...p2.svg);
    bottom = p2.bottom;
  }
  const height = Math.ceil(bottom + 10);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${
    out.join("\n")
  }\n</svg>\n`;
}

// `bun bench/chart.ts RESULTS.json CHART.svg`: draw a chart from saved results (e.g. merged ones)
if (isMainModule(import.meta)) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) throw new Error("usage: bun bench/chart.ts RESULTS.json CHART.svg");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const data = JSON.parse(readFileSync(input, "utf8")) as { header: Header; rows: Row[] };
  writeFileSync(output, chartSvg(data.header, data.rows));
}
