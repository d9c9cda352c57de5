/**
 * The benchmark's pinning: a row pins our side to a CPU and frees it afterwards — every
 * thread, also those started while it was pinned, which took its CPU.
 */
import { describe, expect, test } from "./support/harness.ts";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { open } from "../lib/index.ts";
import { pinUs } from "../bench/measure.ts";
import { runtimeBaselines } from "../bench/baselines.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("pinning");

/** Each thread's allowed CPUs, as /proc lists them ("0-1"). */
const threadMasks = () =>
  readdirSync("/proc/self/task").map((t) => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/self/task/${t}/status`, "utf8"))![1]!);

describe("bench pinning", () => {
  test.skipIf(availableParallelism() < 2)(
    "after an in-process row pinned to CPU 0, every thread may run anywhere again — the async waiter thread started meanwhile too",
    async () => {
      const anywhere = threadMasks()[0]!; // this thread's mask before any pinning
      try {
        pinUs({ inProcess: true }, 0);
        using a = open(`shm:/${prefix}1`, { create: true });
        using b = open(`shm:/${prefix}1`);
        setTimeout(() => a.send("x"), 20);
        await b.recvAsync({ timeout: 5_000 }); // parks on a waiter thread, started now: on CPU 0
        expect(threadMasks().filter((m) => m === "0").length).toBeGreaterThan(1); // not only this thread
      } finally {
        pinUs({ inProcess: true }, -1);
      }
      expect(threadMasks().filter((m) => m !== anywhere)).toEqual([]);
    },
  );

  test.skipIf(availableParallelism() < 2)("the Worker postMessage baseline across CPUs has its two threads on two CPUs, then frees both", async () => {
    const anywhere = threadMasks()[0]!;
    const worker = runtimeBaselines.find((b) => b.impl === "worker-postmessage")!;
    const seen = new Set<string>();
    const look = setInterval(() => threadMasks().forEach((m) => seen.add(m)), 1);
    try {
      await worker.run(64, 3000, "cross-cpu");
    } finally {
      clearInterval(look);
    }
    // before: the whole process was pinned to CPU 0, the Worker's thread with it
    expect([...seen].filter((m) => m === "0" || m === "1").sort()).toEqual(["0", "1"]);
    expect(threadMasks().filter((m) => m !== anywhere)).toEqual([]);
  });
});

checkLeaks(prefix);
