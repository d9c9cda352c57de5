/** `ipc-lab ls` and `ipc-lab gc`: what a SIGKILLed owner left is listed, then removed. */
import { describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { lineReader } from "./support/lines.ts";
import { shim } from "../ffi/runtime.ts";
import { noteMq, noteProbe, privateDir, testKey, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("names");
const dir = privateDir("names");
const registry = join(dir, "registry");
const cli = join(import.meta.dir, "..", "bin", "ipc-lab.ts");
const lib = JSON.stringify(join(import.meta.dir, "..", "lib", "index.ts"));
const sockets = join(dir, "sockets");
const env = { ...process.env, IPC_LAB_REGISTRY: registry, IPC_LAB_SOCKETS: sockets };

/** A System V key whose object must be gone at the end (reported and removed if not). */
function sysvKey(kind: "shm" | "msg"): number {
  const key = testKey();
  const get = () => (kind === "shm" ? shim.ipcl_shmget(key, 0, 0) : shim.ipcl_msgget(key, 0));
  noteProbe(`sysv ${kind} ${key}`, () => get() >= 0, () => (kind === "shm" ? shim.ipcl_shm_remove : shim.ipcl_msg_remove)(get()));
  return key;
}

async function cliRun(...args: string[]) {
  const p = track(Bun.spawn([process.execPath, cli, ...args], { env, stdout: "pipe", stderr: "pipe" }));
  const out = await new Response(p.stdout).text();
  return { code: await p.exited, out };
}

describe("ls and gc", () => {
  test("a killed owner's names are listed as DEAD and removed by gc; a live owner's are kept", async () => {
    const shmKey = sysvKey("shm");
    const msgKey = sysvKey("msg");
    const dead = [
      `shm:/${prefix}dead`,
      noteMq(`mq:/${prefix}dead`),
      `sem:/${prefix}dead`,
      `fifo:${dir}/${prefix}dead`,
      `unix:${dir}/${prefix}dead.sock`,
      `unix-dgram:${dir}/${prefix}dead.dgram`,
      `unix:${prefix}private`,
      `sysv-shm:${shmKey}`,
      `sysv-mq:${msgKey}`,
    ];
    const killed = track(Bun.spawn([
      process.execPath,
      "-e",
      `
      const { open, Semaphore } = await import(${lib});
      for (const a of ${JSON.stringify(dead)}) a.startsWith("sem:") ? new Semaphore(a, { create: true }) : open(a, { create: true });
      console.log("ready");
      await Bun.sleep(60000);`,
    ], { env, stdout: "pipe" }));
    const live = track(Bun.spawn([
      process.execPath,
      "-e",
      `
      const { open } = await import(${lib});
      open("shm:/${prefix}live", { create: true });
      console.log("ready");
      await Bun.sleep(60000);`,
    ], { env, stdout: "pipe" }));
    expect(await lineReader(killed.stdout).line()).toBe("ready");
    expect(await lineReader(live.stdout).line()).toBe("ready");
    killed.kill(9);
    await killed.exited;

    const listed = JSON.parse((await cliRun("ls", "--json")).out) as { objects: { address: string; alive: boolean }[] };
    const state = Object.fromEntries(listed.objects.map((o) => [o.address, o.alive]));
    for (const a of dead) expect(state[a]).toBeFalse();
    expect(state[`shm:/${prefix}live`]).toBeTrue();
    expect(existsSync(`/dev/shm/${prefix}dead`)).toBeTrue();

    const gc = await cliRun("gc");
    expect(gc.code).toBe(0);
    for (const a of dead) expect(gc.out).toContain(`removed ${a}`);
    expect(existsSync(`/dev/shm/${prefix}dead`)).toBeFalse();
    expect(existsSync(`/dev/shm/sem.${prefix}dead`)).toBeFalse();
    expect(existsSync(`${dir}/${prefix}dead`)).toBeFalse();
    expect(existsSync(`${dir}/${prefix}dead.sock`)).toBeFalse();
    expect(existsSync(`${dir}/${prefix}dead.dgram`)).toBeFalse();
    expect(existsSync(`${sockets}/${prefix}private`)).toBeFalse();
    expect(shim.ipcl_shmget(shmKey, 0, 0)).toBeLessThan(0);
    expect(shim.ipcl_msgget(msgKey, 0)).toBeLessThan(0);
    expect(existsSync(`/dev/shm/${prefix}live`)).toBeTrue(); // its owner lives
    expect((await cliRun("gc")).out).toContain("nothing to collect");

    live.kill("SIGTERM"); // a catchable signal: the owner cleans up itself
    await live.exited;
    expect(existsSync(`/dev/shm/${prefix}live`)).toBeFalse();
    expect(JSON.parse((await cliRun("ls", "--json")).out).objects).toEqual([]);
  });
});

checkLeaks(prefix, [dir], () => {
  rmSync(registry, { recursive: true, force: true });
  rmSync(sockets, { recursive: true, force: true });
});
