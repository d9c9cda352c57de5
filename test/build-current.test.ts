/**
 * Node runs the compiled dist/: in a checkout, a dist/ older than the sources is refused,
 * naming the file and the command, rather than run (the benchmark's Node rows once measured
 * the code of before an edit). `npm test` builds first, so here dist/ is current.
 */
import { cpSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "./support/harness.ts";
import { packageRoot } from "../ffi/paths.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { testPrefix } from "./support/leaks.ts";

/**
 * A checkout of its own for the test to age a source in: ffi/ whole, one source of lib/ and
 * of bench/, and their compiled files, timestamps kept. Ageing a source of the real checkout
 * would make every Node process that starts meanwhile — the Node suite runs beside this one
 * (test/run-suites.sh) — refuse to run.
 */
function copyOfCheckout(): string {
  const root = mkdtempSync(join(tmpdir(), testPrefix("build-current")));
  const files = ["package.json", "ffi", "lib/index.ts", "bench/peer.ts", "dist/ffi", "dist/lib/index.js", "dist/bench/peer.js"];
  for (const f of files) cpSync(join(packageRoot, f), join(root, f), { recursive: true, preserveTimestamps: true });
  return root;
}

/** What a fresh process says when it asks the checkout at `root` for the command that runs a script under Node. */
function nodeCommandIn(root: string): string {
  const program = `import { scriptCommand } from ${JSON.stringify(join(root, "ffi", "process.ts"))};
    try { console.log(scriptCommand(${JSON.stringify(join(root, "bench", "peer.ts"))}, [], "node").at(-1)); }
    catch (e) { console.log(e.message); }`;
  const r = spawnSync(process.execPath, ["-e", program], { encoding: "utf8", timeout: 30_000 });
  return r.stdout.trim();
}

describe("dist/ and the sources", () => {
  test("a current dist/ runs; a source edited after the build is refused, naming both files and npm run build", () => {
    expect(nodeCommandIn(packageRoot)).toBe(join(packageRoot, "dist", "bench", "peer.js"));
    const root = copyOfCheckout();
    try {
      expect(nodeCommandIn(root)).toBe(join(root, "dist", "bench", "peer.js"));
      const source = join(root, "lib", "index.ts");
      const later = new Date(Date.now() + 60_000);
      utimesSync(source, later, later); // as an edit after the build
      expect(nodeCommandIn(root)).toBe(
        `ipc-lab: ${join(root, "dist", "lib", "index.js")} is older than ${source}: Node runs the compiled JavaScript, rebuild it first (npm run build)`,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

checkLeaks(testPrefix("build-current"));
