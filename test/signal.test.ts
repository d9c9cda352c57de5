/** Signals: merging of standard signals, queueing of realtime ones, safety rules. */
import { describe, expect, test } from "./support/harness.ts";
import { readdirSync, readFileSync } from "node:fs";
import { open } from "../lib/index.ts";
import { SignalChannel } from "../lib/public/mechanisms.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { lineReader } from "./support/lines.ts";
import { testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("sig");
const lib = JSON.stringify(import.meta.dirname + "/../lib/index.ts");

/**
 * Stop process pid and wait until every one of its threads is stopped: SIGSTOP is
 * asynchronous per thread, and the main thread can show "T" while the signal listener
 * thread still runs and takes a signal.
 */
async function stop(p: Bun.Subprocess): Promise<void> {
  p.kill("SIGSTOP");
  const state = (tid: string) => readFileSync(`/proc/${p.pid}/task/${tid}/stat`, "utf8").split(") ")[1]?.[0];
  for (let i = 0; i < 500; i++) {
    if (readdirSync(`/proc/${p.pid}/task`).every((t) => state(t) === "T")) return;
    await Bun.sleep(2);
  }
  throw new Error(`process ${p.pid} did not stop`);
}

/** A receiver process for `sig` that waits for "go" on stdin, then counts what it received. */
function receiver(sig: string) {
  const p = track(Bun.spawn([
    process.execPath,
    "-e",
    `
    const { open } = await import(${lib});
    const ch = open("signal:self:${sig}");
    console.log("ready");
    for await (const _ of console) break; // wait for a line on stdin
    let n = 0;
    while (ch.tryRecv() !== undefined) n++;
    console.log(n);`,
  ], { stdin: "pipe", stdout: "pipe" }));
  return Object.assign(p, { lines: lineReader(p.stdout) });
}

describe("signals", () => {
  test("standard signals merge: 1000 SIGUSR2 sent while the receiver is stopped arrive as 1", async () => {
    const r = receiver("SIGUSR2");
    expect(await r.lines.line()).toBe("ready");
    await stop(r);
    using tx = open(`signal:${r.pid}:SIGUSR2`);
    expect(tx.caps).toMatchObject({ boundaries: "token", reliable: false, maxMessageSize: 0 });
    for (let i = 0; i < 1000; i++) tx.send(new Uint8Array(0));
    r.kill("SIGCONT");
    await Bun.sleep(100);
    r.stdin.write("go\n");
    r.stdin.end();
    expect(await r.lines.line()).toBe("1");
  });

  test("realtime signals queue: 1000 sent while the receiver is stopped all arrive", async () => {
    const r = receiver("SIGRTMIN+4");
    expect(await r.lines.line()).toBe("ready");
    await stop(r);
    using tx = open(`signal:${r.pid}:SIGRTMIN+4`);
    for (let i = 0; i < 1000; i++) tx.send(new Uint8Array([i & 0xff]));
    r.kill("SIGCONT");
    await Bun.sleep(200);
    r.stdin.write("go\n");
    r.stdin.end();
    expect(await r.lines.line()).toBe("1000");
  });

  test("payloads of 0..7 bytes come through with the sender's pid", () => {
    using rx = open("signal:self:SIGRTMIN+5") as SignalChannel;
    using tx = open(`signal:${process.pid}:SIGRTMIN+5`);
    for (let n = 0; n <= 7; n++) tx.send(new Uint8Array(n).fill(n));
    for (let n = 0; n <= 7; n++) expect(rx.recv({ timeout: 1000 })).toEqual(new Uint8Array(n).fill(n));
    expect(rx.lastSender).toBe(process.pid);
    expectIpcError(() => tx.send(new Uint8Array(8)), "EMSGSIZE");
  });

  test("signals the runtime uses are refused, and one signal has one receiver per process", () => {
    expect(expectIpcError(() => open("signal:self:11"), "EINVAL").message).toContain("used by the JavaScript runtime");
    expectIpcError(() => open("signal:self:SIGRTMIN+99"), "EADDRESS");
    expectIpcError(() => open("signal:self:SIGTERM"), "EADDRESS");
    expectIpcError(() => open("signal:abc"), "EADDRESS");
    using rx = open("signal:self:SIGRTMIN+6");
    void rx; // holds the signal while the second open is refused
    expectIpcError(() => open("signal:self:SIGRTMIN+6"), "EBUSY");
  });

  test("sending to a process that does not exist is ESRCH; a sender cannot receive", async () => {
    const gone = track(Bun.spawn(["true"]));
    await gone.exited;
    using tx = open(`signal:${gone.pid}:SIGRTMIN+1`);
    expect(expectIpcError(() => tx.send(new Uint8Array(1)), "ESRCH").message).toContain("does not exist");
    expect(expectIpcError(() => tx.recv({ timeout: 10 }), "EBADF").message).toContain("receive with signal:self");
  });

  test("after close the signal is ignored: a late sender cannot kill the receiver", async () => {
    const p = track(Bun.spawn([
      process.execPath,
      "-e",
      `
      const { open } = await import(${lib});
      open("signal:self:SIGRTMIN+7").close();
      console.log("closed");
      await Bun.sleep(300);
      console.log("alive");`,
    ], { stdout: "pipe" }));
    const lines = lineReader(p.stdout);
    expect(await lines.line()).toBe("closed");
    process.kill(p.pid, 41); // SIGRTMIN+7 on Linux/glibc (SIGRTMIN is 34)
    expect(await lines.line()).toBe("alive");
    expect(await p.exited).toBe(0);
  });
});

checkLeaks(prefix);
