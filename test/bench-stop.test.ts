/**
 * A benchmark run stopped by a signal takes what it started with it: SIGTERM or SIGINT to
 * `bench/run.ts` while its NATS rows run (a nats-server with JetStream in a temporary
 * directory, subscriber and consumer peers) leaves no process and no server directory
 * behind, and the run exits as the signal would have ended it (143, 130). And test hosts
 * (network namespaces) made by a process go with it when it is stopped.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { scriptCommand, spawnProcess } from "../ffi/process.ts";
import { alive } from "../lib/names/registry.ts";
import { netnsUnavailable } from "../bench/netns.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { afterAll, describe, expect, test } from "./support/harness.ts";
import { testPrefix, track } from "./support/leaks.ts";
import { lineReader } from "./support/lines.ts";
import { natsSkip } from "./support/nats-server.ts";
import { runSync } from "./support/run-sync.ts";

const prefix = testPrefix("benchstop");
const benchScript = fileURLToPath(new URL("../bench/run.ts", import.meta.url));
const hostsProgram = fileURLToPath(new URL("./support/hosts-program.ts", import.meta.url));
const out = mkdtempSync(join(tmpdir(), prefix));

/** The processes `pid` started that still run. */
function childrenOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  return existsSync(file) ? readFileSync(file, "utf8").trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

const until = async (what: string, ok: () => boolean, ms = 20_000) => {
  for (const deadline = performance.now() + ms; !ok();) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(!!natsSkip)("a benchmark run stopped by a signal", () => {
  for (const [signal, status] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    test(`${signal}: exits ${status}; its nats-server, its store and its peers go with it`, async () => {
      const args = ["--quick", "--mech", "nats", "--out", out];
      const bench = track(spawnProcess(scriptCommand(benchScript, args), { stdio: ["ignore", "ignore", "ignore"] }));
      // its server (its directory made) and at least one more child: a peer of the first rows
      const serverDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`ipcl-nats-${bench.pid}-`));
      await until("the run's nats-server and a peer", () => serverDirs().length === 1 && childrenOf(bench.pid).length >= 2);
      const started = childrenOf(bench.pid);
      bench.kill(signal);
      expect(await bench.exited).toBe(status);
      await until("the run's children to go", () => started.every((p) => !alive(p)), 5000);
      expect(serverDirs()).toEqual([]);
    });
  }
});

const tag = `ipcs${process.pid % 100000}`;
const noNetns = netnsUnavailable(tag);
describe.skipIf(!!noNetns)("test hosts", () => {
  test("a process stopped by SIGTERM removes the network namespaces it made", async () => {
    const program = track(spawnProcess(scriptCommand(hostsProgram, [tag, `10.215.${process.pid % 250}`]), { stdio: ["ignore", "pipe", "inherit"] }));
    const names = JSON.parse(await lineReader(program.stdout!).line()) as string[];
    const listed = () => runSync("ip", ["netns", "list"]).stdout;
    for (const n of names) expect(listed()).toContain(n);
    program.kill("SIGTERM");
    expect(await program.exited).toBe(143);
    for (const n of names) expect(listed()).not.toContain(n);
  });
});

afterAll(() => rmSync(out, { recursive: true, force: true })); // also when a filter skipped the leak check
checkLeaks(prefix, [], () => rmSync(out, { recursive: true, force: true }));
