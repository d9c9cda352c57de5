/**
 * Owners remove their names on normal exit, on an uncaught error, and on SIGINT/SIGTERM/
 * SIGHUP, without close() being called. (SIGKILL cannot be caught: see `ipc-lab gc`.)
 */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync } from "node:fs";
import { open } from "../lib/index.ts";
import { IpcError } from "../lib/errors.ts";
import { lineReader } from "./support/lines.ts";
import { noteMq, privateDir, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("clean");
const dir = privateDir("clean");
let serial = 0;

function namesExist(n: number): boolean[] {
  let mq = true;
  try {
    open(`mq:/${prefix}${n}`).close();
  } catch (e) {
    if (!(e instanceof IpcError && e.code === "ENOENT")) throw e;
    mq = false;
  }
  return [existsSync(`/dev/shm/${prefix}${n}`), mq, existsSync(`${dir}/${prefix}${n}`)];
}

describe("names are removed when the owner goes", () => {
  for (const how of ["exit", "throw", "SIGINT", "SIGTERM", "SIGHUP"] as const) {
    test(`on ${how}`, async () => {
      const n = ++serial;
      noteMq(`mq:/${prefix}${n}`);
      const child = track(Bun.spawn([
        process.execPath,
        "-e",
        `
        const { open } = await import(${JSON.stringify(import.meta.dirname + "/../lib/index.ts")});
        open("shm:/${prefix}${n}", { create: true });
        open("mq:/${prefix}${n}", { create: true });
        open("fifo:${dir}/${prefix}${n}", { create: true });
        console.log("ready");
        if (${JSON.stringify(how)} === "throw") throw new Error("uncaught on purpose");
        if (${JSON.stringify(how)} !== "exit") await Bun.sleep(30000);`,
      ], { stdout: "pipe", stderr: "ignore" }));
      expect(await lineReader(child.stdout).line()).toBe("ready");
      if (how.startsWith("SIG")) {
        expect(namesExist(n)).toEqual([true, true, true]);
        child.kill(how as NodeJS.Signals);
      }
      await child.exited;
      expect(namesExist(n)).toEqual([false, false, false]);
    });
  }
});

checkLeaks(prefix, [dir]);
