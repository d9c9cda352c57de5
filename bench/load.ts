/**
 * The "loaded" placement's neighbour: one CPU-bound process, started by the benchmark
 * itself beside the two it measures (a shell loop: no compiler, no runtime start-up), so a
 * run shows what users see on a busy machine, where a spinning waiter or a second wake-up
 * costs what it does not cost on an idle one. Stopped as soon as a job of another placement
 * starts, and at exit.
 */
import { type ChildProcess } from "../ffi/process.ts";
import { spawnChild } from "./children.ts";

let hog: ChildProcess | undefined;

/** Make sure a CPU-bound neighbour runs (`on`), or that none does. */
export function cpuLoad(on: boolean): void {
  if (on && !hog) {
    // busy in user space, and gone within ~0.1 s of the benchmark, even a SIGKILLed one
    const loop = 'while kill -0 "$1" 2>/dev/null; do i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done; done';
    hog = spawnChild(["sh", "-c", loop, "sh", String(process.pid)], { stdio: ["ignore", "ignore", "ignore"] });
    process.once("exit", stopLoad);
  } else if (!on) stopLoad();
}

/** Stop the neighbour, if one runs. */
export function stopLoad(): void {
  hog?.kill("SIGKILL");
  hog = undefined;
}
