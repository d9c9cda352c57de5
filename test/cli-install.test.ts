/**
 * The CLI runs everywhere the README says it does, with no bun on PATH: `npx ipc-lab` and
 * `npm run ipc-lab` in the clone, `./bin/ipc-lab.ts` directly, and node_modules/.bin/ipc-lab
 * in a project that depends on ipc-lab (made in a temporary directory and installed offline
 * from this checkout). Where neither Bun nor Deno can be found, the launcher runs the CLI
 * on Node (test/node-package.test.ts); without the build for Node it says so and exits 127.
 */
import { describe, expect, test } from "./support/harness.ts";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkLeaks } from "./support/check-leaks.ts";
import { testPrefix, track } from "./support/leaks.ts";

const root = join(import.meta.dirname, "..");
// node and npm, but no bun or deno: what a user who never installed them globally has
const node = Bun.which("node")!;
const bare = { ...process.env, PATH: [dirname(node), "/usr/bin", "/bin"].join(":"), IPC_LAB_BUN: "", IPC_LAB_DENO: "" };

async function run(cmd: string[], cwd: string) {
  const p = track(Bun.spawn(cmd, { cwd, env: bare, stdout: "pipe", stderr: "pipe" }));
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

describe("the CLI as a user runs it, without bun on PATH", () => {
  test("PATH really has no bun or deno here", () => {
    expect(Bun.which("bun", { PATH: bare.PATH })).toBe(null);
    expect(Bun.which("deno", { PATH: bare.PATH })).toBe(null);
  });

  for (
    const [how, cmd] of [
      ["npx ipc-lab", ["npx", "--no-install", "ipc-lab", "info"]],
      ["npm run ipc-lab", ["npm", "run", "--silent", "ipc-lab", "--", "info"]],
      ["./bin/ipc-lab.ts", ["./bin/ipc-lab.ts", "info"]],
    ] as const
  ) {
    test(`${how} in the clone`, async () => {
      const r = await run([...cmd], root);
      expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
      expect(r.out).toMatch(/^runtime:\s+bun \d/m);
    }, 30_000);
  }

  test("node_modules/.bin/ipc-lab in a project that depends on ipc-lab", async () => {
    const project = mkdtempSync(join(tmpdir(), testPrefix("dependent")));
    try {
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({ name: "dependent", version: "1.0.0", private: true, dependencies: { "ipc-lab": `file:${root}` } }),
      );
      const install = await run(["npm", "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], project);
      expect(install.code).toBe(0);
      const r = await run([join(project, "node_modules", ".bin", "ipc-lab"), "info"], project);
      expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
      expect(r.out).toMatch(/^runtime:\s+bun \d/m);
      const help = await run([join(project, "node_modules", ".bin", "ipc-lab"), "recv", "--help"], project);
      expect(help.code).toBe(0);
      expect(help.out).toContain("usage: ipc-lab recv");
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 60_000);

  test("with no Bun or Deno anywhere and no build for Node, the launcher says what to run (127)", async () => {
    const alone = mkdtempSync(join(tmpdir(), testPrefix("alone")));
    try {
      mkdirSync(join(alone, "bin"));
      copyFileSync(join(root, "bin", "ipc-lab.mjs"), join(alone, "bin", "ipc-lab.mjs"));
      const r = await run([node, join(alone, "bin", "ipc-lab.mjs"), "info"], alone);
      expect(r.code).toBe(127);
      expect(r.err).toContain("npm run build");
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
  });
});

checkLeaks(testPrefix("cli-install"));
