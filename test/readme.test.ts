/**
 * The README's code is true: every ts/js/sh/python block (README.md and docs/) says, in a `<!-- readme-test: … -->`
 * line just above it, whether it runs; the ones that say "runs" are run here as written
 * (only `from "ipc-lab"`, the queue and FIFO names are pointed at this test's own), and must
 * exit 0 with the output the README says they print. With `ipc-lab` on PATH as npm links it.
 */
import { describe, expect, test } from "./support/harness.ts";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkLeaks } from "./support/check-leaks.ts";
import { noteMq, privateDir, testPrefix, track } from "./support/leaks.ts";

const root = join(import.meta.dirname, "..");
const prefix = testPrefix("readme");
const dir = privateDir("readme");

interface Block {
  line: number;
  lang: string;
  marker: string | undefined;
  code: string;
}

/** Every fenced block with a language, and the readme-test marker above it (if any). */
function blocks(file: string): Block[] {
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

/** The README's names, pointed at this test's own (unique, and checked for leaks). */
function localise(code: string): string {
  return code
    .replaceAll('from "ipc-lab"', `from ${JSON.stringify(join(root, "lib", "index.ts"))}`)
    .replaceAll("mq:/jobs", `mq:/${prefix}jobs`)
    .replaceAll("fifo:/tmp/f", `fifo:${dir}/f`)
    .replaceAll("unix:/tmp/up.sock", `unix:${dir}/up.sock`);
}

async function run(cmd: string[], env: Record<string, string | undefined> = process.env) {
  const p = track(Bun.spawn(cmd, { cwd: dir, env, stdout: "pipe", stderr: "pipe" }));
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

const readme = blocks("README.md");
const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).flatMap((f) => blocks(join("docs", f)).map((b) => ({ ...b, file: `docs/${f}` })));

describe("README code blocks", () => {
  test("every block, in README.md and docs/, says whether it runs", () => {
    expect(readme.filter((b) => !b.marker).map((b) => `README.md:${b.line} (${b.lang})`)).toEqual([]);
    expect(docs.filter((b) => !b.marker).map((b) => `${b.file}:${b.line} (${b.lang})`)).toEqual([]);
    // the runnable ones are the README's: a block in docs/ that claims to run must be moved or run here
    expect(docs.filter((b) => b.marker!.startsWith("runs")).map((b) => `${b.file}:${b.line}`)).toEqual([]);
    expect(readme.filter((b) => b.marker!.startsWith("runs")).length).toBeGreaterThanOrEqual(3);
  });

  test("the quick start: server.ts and client.ts, as written: HELLO, BRAVE, WORLD; Ctrl-C stops the server and removes the queue", async () => {
    noteMq(`mq:/${prefix}jobs`);
    const files = readme.filter((b) => b.marker?.startsWith("runs") && b.lang === "ts");
    expect(files.length).toBe(2);
    for (const b of files) {
      const name = /^\/\/ (\S+\.ts)/.exec(b.code)?.[1];
      expect(name).toBeDefined();
      writeFileSync(join(dir, name!), localise(b.code));
    }
    const server = track(Bun.spawn([process.execPath, join(dir, "server.ts")], { cwd: dir, stdout: "pipe", stderr: "pipe" }));
    const client = await run([process.execPath, join(dir, "client.ts")]);
    expect({ code: client.code, out: client.out, err: client.err }).toEqual({ code: 0, out: "HELLO\nBRAVE\nWORLD\n", err: "" });
    server.kill("SIGINT");
    expect(await server.exited).toBe(130);
    expect(await new Response(server.stderr).text()).toBe("");
  }, 30_000);

  test("the shell examples, as written, with ipc-lab on PATH", async () => {
    noteMq(`mq:/${prefix}jobs`);
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(root, "bin", "ipc-lab.mjs"), join(bin, "ipc-lab"));
    const sh = readme.filter((b) => b.marker?.startsWith("runs") && b.lang === "sh");
    expect(sh.length).toBe(1);
    const r = await run(["sh", "-c", localise(sh[0]!.code)], { ...process.env, PATH: `${bin}:${process.env.PATH}` });
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    // the two receivers' lines, in whichever order they finished
    expect(r.out.trim().split("\n").sort()).toEqual(["61", "62", "SHOUT", "hello", "world"]);
  }, 30_000);
});

checkLeaks(prefix, [dir], () => {
  // the scripts and the PATH entry the tests wrote on purpose
  for (const f of ["server.ts", "client.ts", "bin"]) rmSync(join(dir, f), { recursive: true, force: true });
});
