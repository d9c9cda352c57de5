/**
 * A finished program exits: after asynchronous waits — completed, timed out, or ended by
 * close() — nothing ipc-lab started (a waiter Worker on Bun, a nonblocking FFI call on
 * Deno, a cancel pipe) keeps the process alive. Runs on both runtimes, with the program on
 * the runtime running the test.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtime, scriptCommand, spawnProcess } from "../ffi/process.ts";
import { shimAsync } from "../ffi/runtime.ts";
import { describe, expect, test } from "./support/harness.ts";
import { noteMq, privateDir, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { lineReader } from "./support/lines.ts";

const prefix = testPrefix("exit");
const dir = privateDir("exit");
const script = join(dirname(fileURLToPath(import.meta.url)), "support", "async-exit.ts");

const cases: [name: string, address: string, wait?: string][] = [
  ["mq (poll on the queue descriptor)", noteMq(`mq:/${prefix}mq`)],
  ["fifo (poll on a pipe)", `fifo:${dir}/${prefix}fifo`],
  ["shm ring, futex wait", `shm:/${prefix}futex`, "futex"],
  ["shm ring, semaphore wait", `shm:/${prefix}sem-ring`, "semaphore"],
  ["sem (named semaphore)", `sem:/${prefix}sem`],
];

describe(`async waits leave nothing running (${runtime})`, () => {
  test("waits run as nonblocking FFI calls on Deno, in waiter Workers on Bun", () => {
    expect(shimAsync !== undefined).toBe(runtime === "deno");
  });

  for (const [name, address, wait] of cases) {
    test(`${name}: the program exits once its work is done`, async () => {
      const child = track(spawnProcess(scriptCommand(script, wait ? [address, wait] : [address]), { stdio: ["ignore", "pipe", "inherit"] }));
      const out = lineReader(child.stdout!);
      expect(await out.line()).toBe("done");
      // a bound, not a speed target: a live waiter would keep it running forever
      const exited = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r("still running"), 10_000))]);
      expect(exited).toBe(0);
    });
  }
});

checkLeaks(prefix, [dir]);
