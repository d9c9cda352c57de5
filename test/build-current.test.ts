/**
 * Node runs the compiled dist/: in a checkout, a dist/ older than the sources is refused,
 * naming the file and the command, rather than run (the benchmark's Node rows once measured
 * the code of before an edit). `npm test` builds first, so here dist/ is current.
 */
import { statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "./support/harness.ts";
import { packageRoot } from "../ffi/paths.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { testPrefix } from "./support/leaks.ts";

/** What a fresh process says when it asks for the command that runs a script under Node. */
function nodeCommandIn(): string {
  const program = `import { scriptCommand } from ${JSON.stringify(join(packageRoot, "ffi", "process.ts"))};
    try { console.log(scriptCommand(${JSON.stringify(join(packageRoot, "bench", "peer.ts"))}, [], "node").at(-1)); }
    catch (e) { console.log(e.message); }`;
  const r = spawnSync(process.execPath, ["-e", program], { encoding: "utf8", timeout: 30_000 });
  return r.stdout.trim();
}

describe("dist/ and the sources", () => {
  test("a current dist/ runs; a source edited after the build is refused, naming both files and npm run build", () => {
    expect(nodeCommandIn()).toBe(join(packageRoot, "dist", "bench", "peer.js"));
    const source = join(packageRoot, "lib", "index.ts");
    const was = statSync(source);
    try {
      const later = new Date(Date.now() + 60_000);
      utimesSync(source, later, later); // as an edit after the build
      expect(nodeCommandIn()).toBe(
        `ipc-lab: ${join(packageRoot, "dist", "lib", "index.js")} is older than ${source}: Node runs the compiled JavaScript, rebuild it first (npm run build)`,
      );
    } finally {
      utimesSync(source, was.atime, was.mtime);
    }
    expect(nodeCommandIn()).toBe(join(packageRoot, "dist", "bench", "peer.js"));
  });
});

checkLeaks(testPrefix("build-current"));
