/**
 * Imports point down only, and there is no import loop. Each folder (or top-level file) of
 * ffi/, lib/, bench/ and cli/ has a rank in the layer table below; a file may import only
 * from its own rank or lower, and no set of files imports itself round (checked over every
 * file with Tarjan's strongly connected components). docs/architecture.md draws the same
 * table. Type-only imports count too: they are what makes a loop in the reader's head.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, test } from "./support/harness.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { testPrefix } from "./support/leaks.ts";
import { packageRoot } from "../ffi/paths.ts";

const root = normalize(packageRoot); // the sources, also when this runs from dist/ (Node)

/** The layers, lowest first: a path prefix each (the longest that matches a file is its layer). */
export const LAYERS: readonly (readonly string[])[] = [
  ["ffi/"],
  ["lib/errors.ts"],
  ["lib/address.ts", "lib/options.ts"],
  ["lib/os/"],
  ["lib/names/"],
  ["lib/channel.ts", "lib/base-channel.ts", "lib/owned-arrays.ts", "lib/values/"],
  ["lib/link/"],
  ["lib/ring/", "lib/mechanism.ts"],
  ["lib/primitives/"],
  ["lib/channels/"],
  ["lib/mechanisms.ts"],
  ["lib/open.ts", "lib/remove.ts"],
  ["lib/conversation/"],
  ["lib/index.ts", "lib/public/"],
  ["bench/"],
  ["cli/", "bin/"],
];

function rank(file: string): number {
  let best = -1, bestLength = -1;
  LAYERS.forEach((prefixes, r) => {
    for (const p of prefixes) if (file.startsWith(p) && p.length > bestLength) [best, bestLength] = [r, p.length];
  });
  return best;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|mjs)$/.test(name) && !name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

/** file → the project files it imports (relative specifiers only: packages are not layers). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ["ffi", "lib", "bench", "cli", "bin"].flatMap(sources)) {
    const text = readFileSync(join(root, file), "utf8");
    const targets = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\.[^"']+)["']|\bimport\(\s*["'](\.[^"']+)["']\s*\)/g)]
      .map((m) => normalize(join(dirname(file), m[1] ?? m[2]!)));
    graph.set(file, targets.filter((t) => !t.startsWith("..")));
  }
  return graph;
}

/** Sets of files that import each other round (Tarjan's SCC, sets of more than one file or a file importing itself). */
function loops(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const set: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        set.push(w);
      } while (w !== v);
      if (set.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(set);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe("layers", () => {
  const graph = importGraph();

  test("every source file has a layer", () => {
    expect([...graph.keys()].filter((f) => rank(f) < 0)).toEqual([]);
  });

  test("no import runs back up a layer", () => {
    const up: string[] = [];
    for (const [file, targets] of graph) {
      for (const t of targets) if (rank(t) > rank(file)) up.push(`${file} -> ${relative(".", t)}`);
    }
    expect(up).toEqual([]);
  });

  test("there is no import loop", () => {
    expect(loops(graph)).toEqual([]);
  });

  test("the check can fail: an upward import and a loop are found", () => {
    const planted = new Map(graph);
    planted.set("lib/errors.ts", [...(graph.get("lib/errors.ts") ?? []), "lib/open.ts"]);
    expect(rank("lib/open.ts") > rank("lib/errors.ts")).toBe(true);
    expect(loops(planted).length).toBeGreaterThan(0);
  });
});

describe("the public face", () => {
  test("ipc-lab exports at most 40 runtime names, each with a JSDoc example and a place in the docs", async () => {
    const core = Object.keys(await import("../lib/index.ts")).sort();
    expect(core.length).toBeLessThanOrEqual(40);
    const docs = ["README.md", ...readdirSync(join(root, "docs")).map((f) => join("docs", f))].map((f) => readFileSync(join(root, f), "utf8")).join("\n");
    const libText = sources("lib").map((f) => readFileSync(join(root, f), "utf8")).join("\n");
    const problems: string[] = [];
    for (const name of core) {
      const decl = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*export (?:async )?(?:function|class|const) ${name}\\b`).exec(libText);
      if (!decl) problems.push(`${name}: no JSDoc`);
      else if (!decl[1]!.includes("@example")) problems.push(`${name}: no @example in its JSDoc`);
      if (!new RegExp(`\\b${name}\\b`).test(docs)) problems.push(`${name}: in no page of docs/ or the README`);
    }
    expect(problems).toEqual([]);
  });

  test("ipc-lab/mechanisms exports an options type for every scheme's options (all, consistently)", () => {
    const tier = readFileSync(join(root, "lib/public/mechanisms.ts"), "utf8") + readFileSync(join(root, "lib/channels/index.ts"), "utf8");
    const declared = sources("lib/channels").flatMap((f) =>
      [...readFileSync(join(root, f), "utf8").matchAll(/^export interface (\w+Options)\b/gm)].map((m) => m[1]!)
    );
    expect(declared.filter((t) => !new RegExp(`\\b${t}\\b`).test(tier))).toEqual([]);
  });
});

checkLeaks(testPrefix("layers"));
