/** Semaphore primitives: POSIX named and System V (with SEM_UNDO). */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync, statSync } from "node:fs";
import { Semaphore, SysvSemaphore } from "../lib/index.ts";
import { shim } from "../ffi/runtime.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { lineReader } from "./support/lines.ts";
import { noteProbe, testKey, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("sem");
let serial = 0;
const lib = JSON.stringify(import.meta.dirname + "/../lib/index.ts");

describe("POSIX named semaphores", () => {
  test("wait / tryWait / post / value, with timeouts; mode 0600; removed on close", () => {
    const address = `sem:/${prefix}${++serial}`;
    const s = new Semaphore(address, { create: true, value: 2 });
    expect(statSync(`/dev/shm/sem.${address.slice(5)}`).mode & 0o777).toBe(0o600);
    expect(s.value).toBe(2);
    expect(s.tryWait()).toBeTrue();
    expect(s.wait({ timeout: 100 })).toBeTrue();
    expect(s.tryWait()).toBeFalse();
    const t0 = performance.now();
    expect(s.wait({ timeout: 120 })).toBeFalse();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    s.post();
    expect(s.value).toBe(1);
    s.close();
    s.close();
    expect(existsSync(`/dev/shm/sem.${address.slice(5)}`)).toBeFalse();
    expectIpcError(() => s.post(), "ECLOSED");
  });

  test("waitAsync keeps timers running and takes a unit posted by another process", async () => {
    const address = `sem:/${prefix}${++serial}`;
    using s = new Semaphore(address, { create: true });
    const child = track(Bun.spawn([
      process.execPath,
      "-e",
      `
      const { Semaphore } = await import(${lib});
      await Bun.sleep(300);
      new Semaphore(${JSON.stringify(address)}).post();`,
    ]));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    expect(await s.waitAsync({ timeout: 10_000 }).finally(() => clearInterval(timer))).toBeTrue();
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(await s.waitAsync({ timeout: 100 })).toBeFalse();
    await child.exited;
  });

  test("close during waitAsync rejects with ECLOSED and loses no unit", async () => {
    const address = `sem:/${prefix}${++serial}`;
    const owner = new Semaphore(address, { create: true });
    const other = new Semaphore(address);
    const pending = other.waitAsync();
    await Bun.sleep(50);
    other.close();
    await expect(pending).rejects.toThrow(/closed while waiting/);
    owner.post();
    expect(owner.tryWait()).toBeTrue();
    owner.close();
  });

  test("bad names and values are refused", () => {
    expectIpcError(() => new Semaphore("sem:noslash"), "EADDRESS");
    expectIpcError(() => new Semaphore("mq:/x"), "EADDRESS");
    expectIpcError(() => new Semaphore(`sem:/${prefix}v`, { create: true, value: -1 }), "EINVAL");
    expect(expectIpcError(() => new Semaphore(`sem:/${prefix}missing`), "ENOENT").message).toContain("create it");
  });
});

describe("System V semaphores", () => {
  function fresh(): string {
    const key = testKey();
    noteProbe(`sysv-sem:${key}`, () => shim.ipcl_semget(key, 1, 0) >= 0, () => shim.ipcl_sem_remove(shim.ipcl_semget(key, 1, 0)));
    return `sysv-sem:${key}`;
  }

  test("wait / post / value with timeouts; removed by the creator", () => {
    const address = fresh();
    const s = new SysvSemaphore(address, { create: true, value: 1 });
    expect(s.value).toBe(1);
    expect(s.wait({ timeout: 100 })).toBeTrue();
    expect(s.tryWait()).toBeFalse();
    expect(s.wait({ timeout: 80 })).toBeFalse();
    s.post(3);
    expect(s.value).toBe(3);
    expect(s.wait({ n: 2 })).toBeTrue();
    expect(s.value).toBe(1);
    s.close();
    expect(shim.ipcl_semget(Number(address.slice(9)), 1, 0)).toBeLessThan(0);
  });

  test("SEM_UNDO: units taken by a process that is killed come back", async () => {
    const address = fresh();
    using s = new SysvSemaphore(address, { create: true, value: 3 });
    const child = track(Bun.spawn([
      process.execPath,
      "-e",
      `
      const { SysvSemaphore } = await import(${lib});
      const s = new SysvSemaphore(${JSON.stringify(address)});
      s.wait({ n: 2 });
      console.log("took 2");
      await Bun.sleep(30000);`,
    ], { stdout: "pipe" }));
    expect(await lineReader(child.stdout).line()).toBe("took 2");
    expect(s.value).toBe(1);
    child.kill(9);
    await child.exited;
    expect(s.value).toBe(3);
  });
});

checkLeaks(prefix);
