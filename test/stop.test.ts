/**
 * Stopping when told (docs/channel.md, "Stopping"): a program blocked in any call of a named mechanism
 * — a sync recv or send, an open waiting for its peer, accept, a semaphore wait, or an
 * async `for await` — stops promptly on SIGINT, SIGTERM and SIGHUP, exits with 128 + the
 * signal number and leaves no name behind; a program with its own handler gets IpcError
 * EINTR from the blocked call and its handler runs; other signals never end a wait. The CLI
 * too. Runs on both runtimes, the blocked program on the runtime running the test.
 *
 * Delays are printed; the assertion bound (1 s) is for noisy machines, the design is
 * ≤ 100 ms (a stop thread repeats its wake every 20 ms).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildProcess, runtime, scriptCommand, spawnProcess } from "../ffi/process.ts";
import { describe, expect, test } from "./support/harness.ts";
import { leftovers, noteMq, noteProbe, privateDir, testKey, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { untilBlocked } from "./support/blocked.ts";
import { lineReader } from "./support/lines.ts";
import { shim } from "../ffi/runtime.ts";

const prefix = testPrefix("stop");
const dir = privateDir("stop");
const here = dirname(fileURLToPath(import.meta.url));
const program = join(here, "support", "stop-program.ts");
const cli = join(here, "..", "bin", "ipc-lab.ts");
let serial = 0;

const BOUND_MS = 1000;
/**
 * How long a stop may take: BOUND_MS, or as long as the program took to start and block,
 * whichever is longer. A runtime's exit (threads joined, the heap let go) slows with the
 * machine as its start does — Deno beside two other test jobs on two CPUs took 1.5 s to
 * exit, and longer to start — while a stop that did not work leaves the program waiting for
 * good (these programs block without a timeout), which either bound catches.
 */
const stopBound = (startMs: number) => Math.max(BOUND_MS, startMs);
const signalNumbers = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type Sig = keyof typeof signalNumbers;

function sysv(scheme: "sysv-shm" | "sysv-mq" | "sysv-sem"): string {
  const key = testKey();
  const [get, remove] = scheme === "sysv-shm"
    ? [() => shim.ipcl_shmget(key, 0, 0), shim.ipcl_shm_remove]
    : scheme === "sysv-mq"
    ? [() => shim.ipcl_msgget(key, 0), shim.ipcl_msg_remove]
    : [() => shim.ipcl_semget(key, 1, 0), shim.ipcl_sem_remove];
  noteProbe(`${scheme}:${key}`, () => get() >= 0, () => remove(get()));
  return `${scheme}:${key}`;
}

/** [label, how the program blocks, a fresh address, open options] */
type Case = [label: string, how: string, address: () => string, options?: Record<string, unknown>];
const n = () => `${prefix}${++serial}`;
const recvCases: Case[] = [
  ["mq", "recv", () => noteMq(`mq:/${n()}`)],
  ["shm (futex)", "recv", () => `shm:/${n()}`],
  ["shm (semaphore)", "recv", () => `shm:/${n()}`, { wait: "semaphore" }],
  ["sysv-shm", "recv", () => sysv("sysv-shm")],
  ["sysv-mq", "recv", () => sysv("sysv-mq")],
  ["fifo (open waits for a writer)", "recv", () => `fifo:${dir}/${n()}`],
  ["unix (waits for a connection)", "recv", () => `unix:${dir}/${n()}`],
  ["unix (abstract)", "recv", () => `unix:@${n()}`],
  ["unix-dgram", "recv", () => `unix-dgram:${dir}/${n()}`],
  ["tcp", "recv", () => "tcp:127.0.0.1:0"],
  ["sem", "recv", () => `sem:/${n()}`],
  ["file", "recv", () => `file:${dir}/${n()}`],
];
const cases: Case[] = [
  ...recvCases,
  ["mq, recv with a timeout", "recv-timeout", () => noteMq(`mq:/${n()}`)],
  ["shm, recv with a timeout", "recv-timeout", () => `shm:/${n()}`],
  ["mq, send into a full queue", "send", () => noteMq(`mq:/${n()}`)],
  ["shm, send into a full ring", "send", () => `shm:/${n()}`, { capacity: 4096 }],
  ["shm (semaphore), send into a full ring", "send", () => `shm:/${n()}`, { capacity: 4096, wait: "semaphore" }],
  ["sysv-mq, send into a full queue", "send", () => sysv("sysv-mq")],
  ["sysv-shm, send into a full ring", "send", () => sysv("sysv-shm"), { capacity: 4096 }],
  ["unix listener, accept", "accept", () => `unix:${dir}/${n()}`],
  ["POSIX semaphore, wait", "sem-wait", () => `sem:/${n()}`],
  ["System V semaphore, wait", "sem-wait", () => sysv("sysv-sem")],
];
const asyncCases: Case[] = recvCases.map(([label, , address, options]) => [`${label}, for await`, "async", address, options]);

/** Start the program, wait for "ready", send `sig`; the exit status, the delay and its output. */
async function stop(
  cmd: string[],
  sig: Sig,
  extra?: (p: ChildProcess) => Promise<void>,
  where: "call" | "event loop" = "call",
): Promise<{ status: number; ms: number; startMs: number; out: string[]; signalCode: string | null }> {
  const started = performance.now();
  const p = track(spawnProcess(cmd, { stdio: ["ignore", "pipe", "inherit"] }));
  const out = lineReader(p.stdout!);
  const first = await out.line();
  if (first !== "ready") throw new Error(`the program said ${JSON.stringify(first)} instead of ready`);
  await untilBlocked(p.pid, where); // in the blocking call (an async wait: parked, the event loop idle)
  const startMs = performance.now() - started;
  await extra?.(p);
  const t0 = performance.now();
  p.kill(sig);
  const status = await Promise.race([p.exited, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
  const ms = performance.now() - t0;
  if (status === -1) p.kill("SIGKILL");
  const lines = (await out.rest()).split("\n").filter((l) => l !== "");
  return { status, ms, startMs, out: lines, signalCode: p.signalCode };
}

function report(what: string, ms: number): void {
  console.log(`  stop delay ${what} (${runtime}): ${ms.toFixed(0)} ms`);
}

describe(`a blocked program stops when told (${runtime})`, () => {
  for (const [label, how, address, options] of [...cases, ...asyncCases]) {
    test(`${label}: SIGINT and SIGTERM end it with 130/143 and remove its name`, async () => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) {
        const r = await stop(scriptCommand(program, [how, address(), JSON.stringify(options ?? {})]), sig, undefined, how === "async" ? "event loop" : "call");
        report(`${label} ${sig}`, r.ms);
        expect({ status: r.status, signalCode: r.signalCode, out: r.out }).toEqual({ status: 128 + signalNumbers[sig], signalCode: null, out: [] });
        expect(r.ms).toBeLessThan(stopBound(r.startMs));
        expect(await leftovers(prefix)).toEqual([]);
      }
    });
  }

  const ownCases = ["mq", "shm (futex)", "sysv-mq", "shm, send into a full ring", "unix listener, accept"].map((l) => cases.find((c) => c[0] === l)!);
  for (const [label, how, address, options] of ownCases) {
    test(`${label}: with the program's own handler, the call throws EINTR and the handler runs`, async () => {
      for (const sig of ["SIGINT", "SIGHUP"] as const) {
        const r = await stop(scriptCommand(program, [how, address(), JSON.stringify(options ?? {}), "own"]), sig);
        report(`${label} own ${sig}`, r.ms);
        expect({ status: r.status, out: r.out }).toEqual({ status: 0, out: ["caught EINTR", `handler ${sig}`] });
        expect(r.ms).toBeLessThan(stopBound(r.startMs));
        expect(await leftovers(prefix)).toEqual([]);
      }
    });
  }

  test("SIGHUP too, without a handler: 129", async () => {
    const r = await stop(scriptCommand(program, ["recv", `shm:/${n()}`]), "SIGHUP");
    report("shm SIGHUP", r.ms);
    expect({ status: r.status, out: r.out }).toEqual({ status: 129, out: [] });
    expect(await leftovers(prefix)).toEqual([]);
  });

  test("other signals never end a wait (their EINTR is retried)", async () => {
    // SIGWINCH: ignored by default, so it interrupts nothing by itself; SIGCHLD-like noise
    // is what a real program sees. The wait must go on, and a stop signal must still work.
    const r = await stop(scriptCommand(program, ["recv", noteMq(`mq:/${n()}`)]), "SIGINT", async (p) => {
      for (let i = 0; i < 5; i++) {
        p.kill("SIGWINCH");
        p.kill("SIGURG");
        await new Promise((r) => setTimeout(r, 40));
      }
      expect(p.exitCode).toBe(null);
    });
    expect({ status: r.status, out: r.out }).toEqual({ status: 130, out: [] });
    expect(await leftovers(prefix)).toEqual([]);
  });

  for (
    const [label, args] of [
      ["ipc-lab recv", (a: string) => ["recv", a]],
      ["ipc-lab recv --timeout", (a: string) => ["recv", a, "--timeout", "600000"]],
    ] as const
  ) {
    test(`${label} stops on Ctrl-C (SIGINT): 130, queue removed`, async () => {
      const address = noteMq(`mq:/${n()}`);
      // the CLI prints nothing before it blocks: wait until the queue exists
      const t = performance.now();
      const p = track(spawnProcess(scriptCommand(cli, args(address)), { stdio: ["ignore", "pipe", "inherit"] }));
      while (!(await mqExists(address)) && performance.now() - t < 10_000) await new Promise((r) => setTimeout(r, 20));
      await untilBlocked(p.pid);
      const t0 = performance.now();
      const startMs = t0 - t;
      p.kill("SIGINT");
      expect(await p.exited).toBe(130);
      report(label, performance.now() - t0);
      expect(performance.now() - t0).toBeLessThan(stopBound(startMs));
      expect(await leftovers(prefix)).toEqual([]);
    });
  }

  test("ipc-lab send into a full queue stops on SIGTERM: 143", async () => {
    const { open } = await import("../lib/index.ts");
    const address = noteMq(`mq:/${n()}`);
    const q = open(address, { create: true, capacity: 1 });
    try {
      q.send("fills the queue");
      const t = performance.now();
      const p = track(spawnProcess(scriptCommand(cli, ["send", address, "blocked"]), { stdio: ["ignore", "ignore", "inherit"] }));
      await untilBlocked(p.pid); // the CLI starts and blocks in mq_send
      const t0 = performance.now();
      const startMs = t0 - t;
      p.kill("SIGTERM");
      expect(await p.exited).toBe(143);
      report("ipc-lab send", performance.now() - t0);
      expect(performance.now() - t0).toBeLessThan(stopBound(startMs));
      expect(new TextDecoder().decode(q.recv({ timeout: 0 }))).toBe("fills the queue");
      expect(q.tryRecv()).toBe(undefined);
    } finally {
      q.close();
    }
  });
});

async function mqExists(address: string): Promise<boolean> {
  const { open, IpcError } = await import("../lib/index.ts");
  try {
    open(address).close();
    return true;
  } catch (e) {
    if (e instanceof IpcError && e.code === "ENOENT") return false;
    throw e;
  }
}

checkLeaks(prefix, [dir]);
