/**
 * A test that hangs fails, fast: the harness's watchdog (test/support/harness.ts) ends a run
 * whose test blocks synchronously past its timeout — which a runner's own timer cannot do —
 * and names the test. Runs test/support/hang-fixture.ts (a 1 s test that awaits, then blocks
 * the JS thread for 30 s) under this runtime's test runner.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runnablePath } from "../ffi/paths.ts";
import { nanoseconds, runtime, runtimeBinary, spawnProcess } from "../ffi/process.ts";
import { describe, expect, test, WATCHDOG_GRACE_MS } from "./support/harness.ts";
import { testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { runBounded } from "./support/run-bounded.ts";
import { liveDescendants } from "./support/system-state.ts";

const prefix = testPrefix("dog");
const fixture = join(dirname(fileURLToPath(import.meta.url)), "support", "hang-fixture.ts");

describe(`a hung test fails the run (${runtime})`, () => {
  test("a test blocked synchronously after an await is ended by the watchdog, named", async () => {
    const args = runtime === "bun"
      ? ["test", fixture]
      : runtime === "node"
      ? ["--test", runnablePath(fixture, false)]
      : ["test", "--no-check", "--allow-all", fixture];
    const start = nanoseconds();
    // NODE_TEST_CONTEXT: set by Node's runner for the files it runs, it makes a nested `node --test` report to it instead
    const env = { ...process.env, NO_COLOR: "1", NODE_TEST_CONTEXT: undefined };
    const child = track(spawnProcess([runtimeBinary(runtime), ...args], { stdio: ["ignore", "pipe", "pipe"], env }));
    const [out, err, status] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    const seconds = (nanoseconds() - start) / 1e9;
    expect(status).not.toBe(0);
    expect(out + err).toContain('ipc-lab test watchdog: "blocks synchronously after an await" still running');
    // 1 s timeout + grace + the watchdog's own 3 s for a process that ignores SIGTERM, and start-up
    expect(seconds).toBeLessThan(1 + WATCHDOG_GRACE_MS / 1000 + 3 + 10);
  }, 30_000);

  test("a whole program run under a limit (runBounded) that hangs fails naming its processes and output, and is stopped", async () => {
    // a shell that ignores SIGINT, as a program stuck in a wait that does not look for it: the SIGKILL after the grace must end it
    // (an ignored signal stays ignored across exec)
    const script = "trap '' INT; echo row-7-of-13 >&2; exec sleep 61";
    let message = "";
    await runBounded(["sh", "-c", script], 3000).catch((e: Error) => (message = e.message));
    expect(message).toContain("still running after 3 s: a hang");
    expect(message).toMatch(/^ +\d+ S \S+ sleep 61$/m);
    expect(message).toContain("row-7-of-13");
    expect([...liveDescendants().values()]).toEqual([]);
    // and a run that ends gives its status and output
    expect(await runBounded(["sh", "-c", "echo out; echo err >&2; exit 3"], 10_000)).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
  }, 30_000);
});

checkLeaks(prefix);
