/**
 * The chart: (1) round-trip p50 per mechanism at the smallest size, both placements, with
 * p99 whiskers and the C baseline marked; (2) stream throughput against message size.
 * Plain SVG, no dependency.
 */
import { onOtherRuntime } from "./report.ts";
import type { Row } from "./measure.ts";
import type { Header } from "./report.ts";
import { isMainModule } from "../ffi/process.ts";

const W = 960;
const colors = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#7f7f7f",
  "#bcbd22",
  "#393b79",
  "#637939",
  "#8c6d31",
  "#843c39",
  "#7b4173",
  "#3182bd",
  "#31a354",
];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const log10 = Math.log10;

function fmtNs(ns: number): string {
  return ns >= 1e6 ? `${ns / 1e6} ms` : ns >= 1e3 ? `${ns / 1e3} µs` : `${ns} ns`;
}

/** The chart as an SVG document. */
export function chartSvg(h: Header, rows: Row[]): string {
  // ipc-lab and C in their sync form; the runtimes' own IPC is async by nature
  const rtt = rows.filter((r) =>
    r.pattern === "rtt" && (r.mode === "sync" || (r.impl !== "ipc-lab" && r.impl !== "c")) && !r.skipped && r.impl !== "c" && !onOtherRuntime(r)
  );
  const size = Math.min(...rtt.filter((r) => r.size >= 64).map((r) => r.size), 64);
  const labels = [
    ...new Set(
      rtt.filter((r) => r.size === size || (r.size < 64 && r.impl === "ipc-lab")).map((r) => `${r.impl === "ipc-lab" ? "" : `${r.impl} `}${r.mechanism}`),
    ),
  ];
  const rowOf = (label: string, placement: string) =>
    rtt.find((r) => `${r.impl === "ipc-lab" ? "" : `${r.impl} `}${r.mechanism}` === label && r.placement === placement && (r.size === size || r.size < 64));
  const cOf = (label: string, placement: string) =>
    rows.find((r) => r.impl === "c" && r.pattern === "rtt" && r.placement === placement && r.size === size && label === r.mechanism);
  // panel 1 geometry
  const left = 190, right = W - 30, top = 70, band = 22;
  const lo = 100, hi = 1e7; // 0.1 µs .. 10 ms
  const x = (ns: number) => left + ((log10(Math.min(Math.max(ns, lo), hi)) - log10(lo)) / (log10(hi) - log10(lo))) * (right - left);
  const h1 = top + labels.length * band + 40;
  const out: string[] = [];
  out.push(`<text x="${W / 2}" y="24" font-size="17" text-anchor="middle" font-weight="bold">ipc-lab: round trip and throughput per mechanism</text>`);
  out.push(
    `<text x="${W / 2}" y="44" font-size="11" text-anchor="middle" fill="#555">${
      esc(`${h.date.slice(0, 10)} · ${h.cores} × ${h.cpu_model} · ${h.kernel} · ${h.runtime ?? "bun"} ${h.runtime === "deno" ? h.deno : `Bun ${h.bun}`}`)
    }</text>`,
  );
  out.push(
    `<text x="${left}" y="${top - 8}" font-size="13" font-weight="bold">Round trip p50 (bar) to p99 (whisker), ${size} B — log scale; ◆ = C baseline</text>`,
  );
  for (let d = log10(lo); d <= log10(hi); d++) {
    const gx = x(10 ** d);
    out.push(`<line x1="${gx}" y1="${top}" x2="${gx}" y2="${top + labels.length * band}" stroke="#ddd"/>`);
    out.push(`<text x="${gx}" y="${top + labels.length * band + 14}" font-size="10" text-anchor="middle" fill="#555">${fmtNs(10 ** d)}</text>`);
  }
  labels.forEach((label, i) => {
    const y = top + i * band;
    out.push(`<text x="${left - 8}" y="${y + 15}" font-size="11" text-anchor="end">${esc(label)}</text>`);
    (["cross-cpu", "same-cpu"] as const).forEach((placement, j) => {
      const r = rowOf(label, placement);
      if (!r) return;
      const by = y + 3 + j * 9;
      const fill = j === 0 ? "#1f77b4" : "#9ecae1";
      out.push(
        `<rect x="${left}" y="${by}" width="${Math.max(1, x(r.p50_ns!) - left)}" height="8" fill="${fill}"><title>${
          esc(`${label} ${placement}: p50 ${r.p50_ns} ns, p99 ${r.p99_ns} ns`)
        }</title></rect>`,
      );
      out.push(`<line x1="${x(r.p50_ns!)}" y1="${by + 4}" x2="${x(r.p99_ns!)}" y2="${by + 4}" stroke="#333" stroke-width="1"/>`);
      const c = cOf(label, placement);
      if (c) out.push(`<path d="M${x(c.p50_ns!)} ${by - 1} l4 5 l-4 5 l-4 -5 z" fill="#d62728"/>`);
    });
  });
  out.push(
    `<rect x="${right - 220}" y="${top + 2}" width="10" height="8" fill="#1f77b4"/><text x="${right - 206}" y="${
      top + 10
    }" font-size="10">pinned to different CPUs</text>`,
  );
  out.push(
    `<rect x="${right - 220}" y="${top + 14}" width="10" height="8" fill="#9ecae1"/><text x="${right - 206}" y="${
      top + 22
    }" font-size="10">both on one CPU</text>`,
  );
  // panel 2: throughput vs size
  // mechanisms with tiny messages (signals, eventfd) have no curve to draw
  const stream = rows.filter((r) =>
    r.pattern === "stream" && r.mode === "sync" && r.impl === "ipc-lab" && r.placement === "cross-cpu" && !r.skipped && r.size >= 64
  );
  const mechs = [...new Set(stream.map((r) => r.mechanism))];
  const sizes = [...new Set(stream.map((r) => r.size))].sort((a, b) => a - b);
  const t2 = h1 + 40, l2 = 90, r2 = W - 200, b2 = t2 + 300;
  const bLo = 1e6, bHi = 1e11;
  const sx = (s: number) => (sizes.length < 2 ? (l2 + r2) / 2 : l2 + ((log10(s) - log10(sizes[0]!)) / (log10(sizes.at(-1)!) - log10(sizes[0]!))) * (r2 - l2));
  const sy = (b: number) => b2 - ((log10(Math.min(Math.max(b, bLo), bHi)) - log10(bLo)) / (log10(bHi) - log10(bLo))) * (b2 - t2);
  out.push(
    `<text x="${l2}" y="${
      t2 - 10
    }" font-size="13" font-weight="bold">One-way stream throughput (bytes/s) against message size, different CPUs — log-log</text>`,
  );
  for (let d = log10(bLo); d <= log10(bHi); d++) {
    out.push(`<line x1="${l2}" y1="${sy(10 ** d)}" x2="${r2}" y2="${sy(10 ** d)}" stroke="#ddd"/>`);
    out.push(
      `<text x="${l2 - 6}" y="${sy(10 ** d) + 4}" font-size="10" text-anchor="end" fill="#555">${
        10 ** d >= 1e9 ? `${10 ** d / 1e9} GB/s` : `${10 ** d / 1e6} MB/s`
      }</text>`,
    );
  }
  for (const s of sizes) {
    out.push(`<text x="${sx(s)}" y="${b2 + 16}" font-size="10" text-anchor="middle" fill="#555">${s >= 1024 ? `${s / 1024} KiB` : `${s} B`}</text>`);
  }
  mechs.forEach((m, i) => {
    const pts = stream.filter((r) => r.mechanism === m).sort((a, b) => a.size - b.size);
    const color = colors[i % colors.length]!;
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${sx(p.size)},${sy(p.bytes_per_s!)}`).join(" ")}"/>`);
    for (const p of pts) {
      out.push(
        `<circle cx="${sx(p.size)}" cy="${sy(p.bytes_per_s!)}" r="2.5" fill="${color}"><title>${
          esc(`${m} ${p.size} B: ${(p.bytes_per_s! / 1e6).toFixed(1)} MB/s`)
        }</title></circle>`,
      );
    }
    out.push(
      `<rect x="${r2 + 20}" y="${t2 + i * 16}" width="12" height="3" fill="${color}"/><text x="${r2 + 38}" y="${t2 + i * 16 + 5}" font-size="11">${
        esc(m)
      }</text>`,
    );
  });
  const height = b2 + 40;
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
