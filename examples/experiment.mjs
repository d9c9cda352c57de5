#!/usr/bin/env zx
/**
 * An experiment scripted with zx: a matrix of mechanisms × sizes × placements, each cell a
 * `ipc-lab bench` run with --json, merged into one markdown report with a chart.
 *
 *   npx zx examples/experiment.mjs [--mech pipe,mq,shm] [--size 64,4096] [--out experiment]
 */
import { $, argv, fs, path } from "zx";

const root = path.join(import.meta.dirname, "..");
const mechs = String(argv.mech ?? "pipe,unix,mq,shm,memfd").split(",");
const sizes = String(argv.size ?? "64,4096").split(",");
const placements = String(argv.placement ?? "same-cpu,cross-cpu").split(",");
const out = path.resolve(String(argv.out ?? "experiment"));
// the project's own Bun (a devDependency), whether or not it is on PATH
const bun = fs.existsSync(path.join(root, "node_modules/.bin/bun")) ? path.join(root, "node_modules/.bin/bun") : "bun";
await fs.mkdirp(out);
$.verbose = false;

const results = [];
for (const placement of placements) {
  for (const size of sizes) {
    const file = path.join(out, `${placement}-${size}.json`);
    console.log(`measuring ${mechs.join(", ")} at ${size} B, ${placement}`);
    // each cell's own files (report, chart) stay beside its JSON
    await $`${bun} ${path.join(root, "bin/ipc-lab.ts")} bench --mech ${
      mechs.join(",")
    } --size ${size} --placement ${placement} --mode sync --json ${file} --out ${path.join(out, `${placement}-${size}`)}`;
    results.push(JSON.parse(await fs.readFile(file, "utf8")));
  }
}

// one report from all cells: the rows, and the chart drawn from them by the bench itself
const rows = results.flatMap((r) => r.rows);
const merged = { header: results[0].header, rows, targets: results.flatMap((r) => r.targets) };
await fs.writeFile(path.join(out, "all.json"), JSON.stringify(merged, null, 2));
await $`${bun} ${path.join(root, "bench/chart.ts")} ${path.join(out, "all.json")} ${path.join(out, "chart.svg")}`;
const line = (r) =>
  `| ${r.mechanism} | ${r.impl} | ${r.placement} | ${r.size} | ${r.pattern === "rtt" ? (r.p50_ns / 1000).toFixed(2) + " µs" : ""} | ${
    r.pattern === "stream" ? Math.round(r.msgs_per_s).toLocaleString("en") : ""
  } | ${r.ratio_to_c ? r.ratio_to_c.toFixed(2) + "×" : ""} |`;
const md = [
  `# Experiment: ${mechs.join(", ")} × ${sizes.join(", ")} B × ${placements.join(", ")}`,
  "",
  `${merged.header.date.slice(0, 10)} · ${merged.header.cores} × ${merged.header.cpu_model} · ${merged.header.kernel} · Bun ${merged.header.bun}`,
  "",
  "![chart](chart.svg)",
  "",
  "| mechanism | impl | placement | size | rtt p50 | stream msg/s | vs C |",
  "|---|---|---|---:|---:|---:|---:|",
  ...rows.filter((r) => !r.skipped).map(line),
].join("\n");
await fs.writeFile(path.join(out, "report.md"), md + "\n");
console.log(`wrote ${path.join(out, "report.md")}`);
