/**
 * The README's code is true: every ts/js/sh/python block (README.md and docs/) says, in a `<!-- readme-test: … -->`
 * line just above it, whether it runs; the ones that say "runs" are run here exactly as
 * written — the same command lines, through the same `node_modules/.bin` a reader has after
 * `npm install`, with a PATH that holds no bun, deno or ipc-lab of its own — in a project
 * directory that has ipc-lab installed (linked to this clone). Only the queue, FIFO and
 * socket names are pointed at this test's own. Each must exit 0 with the output the README
 * says it prints, and the signal it sends must stop what it started.
 */
import { describe, expect, test } from "./support/harness.ts";
import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { checkLeaks } from "./support/check-leaks.ts";
import { blocks } from "./support/readme-blocks.ts";
import { noteMq, privateDir, testPrefix, track } from "./support/leaks.ts";

const root = join(import.meta.dirname, "..");
const prefix = testPrefix("readme");
const dir = privateDir("readme");
// node (the launcher's interpreter) and the system's tools: no bun, deno or ipc-lab but what the README puts on PATH
const bare = { ...process.env, PATH: [dirname(realpathSync(Bun.which("node")!)), "/usr/bin", "/bin"].join(":"), IPC_LAB_BUN: "", IPC_LAB_DENO: "" };

/** A project that installed ipc-lab (a link to this clone, as `npm install ../ipc-lab` makes), with Bun and Deno beside it. */
function project(): string {
  const at = join(dir, "project");
  mkdirSync(join(at, "node_modules", ".bin"), { recursive: true });
  writeFileSync(join(at, "package.json"), JSON.stringify({ name: "readme-reader", private: true, type: "module", dependencies: { "ipc-lab": "*" } }));
  symlinkSync(root, join(at, "node_modules", "ipc-lab"));
  for (const tool of ["bun", "deno", "ipc-lab"]) symlinkSync(realpathSync(join(root, "node_modules", ".bin", tool)), join(at, "node_modules", ".bin", tool));
  return at;
}
const at = project();

/** The README's names, pointed at this test's own (unique, and checked for leaks); nothing else changes. */
function localise(code: string): string {
  return code
    .replaceAll("mq:/jobs", `mq:/${prefix}jobs`)
    .replaceAll("fifo:/tmp/f", `fifo:${dir}/f`)
    .replaceAll("unix:/tmp/up.sock", `unix:${dir}/up.sock`);
}

async function run(cmd: string[]) {
  const p = track(Bun.spawn(cmd, { cwd: at, env: bare, stdout: "pipe", stderr: "pipe" }));
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
    // each runnable block is run by a test: these here, the two "project" ones in node-package.test.ts
    expect(readme.filter((b) => b.marker!.startsWith("runs")).map((b) => b.marker)).toEqual([
      "runs server.ts, then client.ts",
      "runs client.ts",
      "runs (sh, Bun)",
      "runs (sh, Deno)",
      "runs (sh, CLI)",
      "runs (js, project)",
      "runs (sh, project)",
    ]);
  });

  const runnable = (lang: string) => readme.filter((b) => b.marker?.startsWith("runs") && b.lang === lang);
  const shell = (what: string) => runnable("sh").find((b) => b.marker === `runs (sh, ${what})`)!.code;

  test("the quick start, as written, on Bun and on Deno: HELLO, BRAVE, WORLD; kill -INT stops the server, which removes the queue", async () => {
    noteMq(`mq:/${prefix}jobs`);
    const files = runnable("ts");
    expect(files.length).toBe(2);
    for (const b of files) {
      const name = /^\/\/ (\S+\.ts)/.exec(b.code)?.[1];
      expect(name).toBeDefined();
      writeFileSync(join(at, name!), localise(b.code));
    }
    for (const runtime of ["Bun", "Deno"]) {
      // `wait` at the block's end: it returns once the server, signalled, has exited
      const r = await run(["sh", "-c", shell(runtime)]);
      expect({ runtime, code: r.code, out: r.out, err: r.err }).toEqual({ runtime, code: 0, out: "HELLO\nBRAVE\nWORLD\n", err: "" });
    }
  }, 60_000);

  test("Deno without permissions stops at import with one line naming the flags ipc-lab needs", async () => {
    const r = await run(["sh", "-c", 'export PATH="$PWD/node_modules/.bin:$PATH"; NO_COLOR=1 deno run client.ts']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("run Deno with -A, or with --allow-ffi --allow-read --allow-write --allow-env --allow-run --allow-sys");
    // and the README says the same, next to the Deno commands
    expect(readFileSync(join(root, "README.md"), "utf8").replace(/\s+/g, " ")).toContain(
      "`--allow-ffi --allow-read --allow-write --allow-env --allow-run --allow-sys`",
    );
  }, 30_000);

  test("the shell examples, as written: ipc-lab from node_modules/.bin, and kill -INT reaches the server", async () => {
    noteMq(`mq:/${prefix}jobs`);
    const r = await run(["sh", "-c", localise(shell("CLI"))]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    // the two receivers' lines, in whichever order they finished
    expect(r.out.trim().split("\n").sort()).toEqual(["61", "62", "SHOUT", "hello", "world"]);
  }, 30_000);
});

checkLeaks(prefix, [dir], () => {
  // the project the tests made on purpose (its scripts, links and whatever Deno wrote there)
  rmSync(at, { recursive: true, force: true });
});
