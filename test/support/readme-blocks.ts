/** The fenced code blocks of README.md and docs/, with the `<!-- readme-test: … -->` marker that says whether each runs. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

/** A fenced block: where it starts, its language, the marker above it and its text. */
export interface Block {
  line: number;
  lang: string;
  marker: string | undefined;
  code: string;
}

/** Every fenced block with a language, and the readme-test marker above it (if any). */
export function blocks(file: string): Block[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```(ts|js|sh|python)\s*$/.exec(lines[i]!);
    if (!open) continue;
    let j = i + 1;
    while (!/^\s*```\s*$/.test(lines[j]!)) j++;
    const above = lines.slice(0, i).reverse().find((l) => l.trim() !== "");
    out.push({ line: i + 1, lang: open[1]!, marker: /<!-- readme-test: (.+?) -->/.exec(above ?? "")?.[1], code: lines.slice(i + 1, j).join("\n") });
    i = j;
  }
  return out;
}
