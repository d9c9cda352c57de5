/** The FFI layer: the shim's facts, errno naming, and the compile-on-first-use cache. */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileCached, contentKey, shimLibraryPath, shimSources } from "../ffi/build.ts";
import { C, fact, layout } from "../ffi/facts.ts";
import { cstr, errno, libc, sys } from "../ffi/runtime.ts";
import { type NativeFn, shimSymbols } from "../ffi/libc.ts";
import { checkNeg, errnoName, IpcError } from "../lib/errors.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

describe("ffi", () => {
  test("constants and layouts come from the shim", () => {
    expect(C.O_CREAT).toBe(0o100); // Linux x86-64 value, as a cross-check of the reporting
    expect(C.EAGAIN).toBe(11);
    const st = layout("stat", ["st_mode", "st_size"]);
    expect(st.size).toBeGreaterThan(st.st_size);
    expect(() => fact("NO_SUCH_FACT")).toThrow(/does not report/);
  });

  test("the shim's functions take 64-bit integers only where a channel opens (Deno's fast calls would not take them)", () => {
    // a JS number for a usize/isize argument sends a Deno call down its slow path: +270-400 ns
    // a call around a system call here (docs/benchmark.md, "Deno's 64-bit arguments")
    const wide = (t: string) => t === "usize" || t === "isize";
    const taking = Object.entries(shimSymbols as Record<string, NativeFn>)
      .filter(([, fn]) => fn.args.some(wide) || wide(fn.returns))
      .map(([name]) => name);
    expect(taking.sort()).toEqual(["ipcl_mmap_shared", "ipcl_mq_open", "ipcl_reader_new", "ipcl_shmget"]); // each called once, at open
  });

  test("errno is read after a failing call and named by the C library", () => {
    expect(libc.unlink(cstr("/nonexistent-ipcl/x"))).toBe(-1);
    expect(errno()).toBe(C.ENOENT);
    expect(errnoName(C.ENOENT)).toBe("ENOENT");
    expect(errnoName(C.EMSGSIZE)).toBe("EMSGSIZE");
  });

  test("sys: the same call returns -errno, so lib/ never reads errno", () => {
    expect(sys.unlink(cstr("/nonexistent-ipcl/x"))).toBe(-C.ENOENT);
    expect(sys.kill(process.pid, 0)).toBe(0);
  });

  test("a failing call surfaces as IpcError with code, errno, syscall and advice", () => {
    let err: unknown;
    try {
      checkNeg(sys.unlink(cstr("/nonexistent-ipcl/x")), "unlink", "fifo:/nonexistent-ipcl/x");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpcError);
    expect(err).toMatchObject({ code: "ENOENT", errno: C.ENOENT, syscall: "unlink", address: "fifo:/nonexistent-ipcl/x" });
    expect((err as IpcError).message).toContain("create it");
  });

  test("the shim is built once per source hash into the cache", () => {
    const path = shimLibraryPath();
    expect(existsSync(path)).toBeTrue();
    expect(shimLibraryPath()).toBe(path);
  });

  test("the cache key changes with any byte of the sources, and with where one ends", () => {
    const e = (t: string) => new TextEncoder().encode(t);
    const key = contentKey([e("int x;"), e("-shared")]);
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(contentKey([e("int x;"), e("-shared")])).toBe(key);
    expect(contentKey([e("int y;"), e("-shared")])).not.toBe(key);
    expect(contentKey([e("int x"), e(";-shared")])).not.toBe(key);
    // every one-byte change of the real sources gives a key of its own
    const sources = shimSources().map((f) => readFileSync(f));
    const keys = new Set([contentKey(sources)]);
    let made = 1;
    for (let i = 0; i < 2000; i++) {
      const f = sources[i % sources.length]!;
      const at = Math.floor(i / sources.length); // each (file, byte) once
      if (at >= f.length) continue;
      const copy = Uint8Array.from(f);
      copy[at]! ^= 1 << (i % 8);
      keys.add(contentKey(sources.map((s) => (s === f ? copy : s))));
      made++;
    }
    expect(made).toBeGreaterThan(1000);
    expect(keys.size).toBe(made);
  });

  test("a missing C compiler gives one clear error saying what to install", () => {
    const cache = mkdtempSync(join(tmpdir(), "ipcl-t-cache-"));
    const saved = { cc: process.env.CC, cache: process.env.IPC_LAB_CACHE };
    process.env.CC = "/nonexistent/cc";
    process.env.IPC_LAB_CACHE = cache;
    try {
      expect(() => compileCached({ name: "shim", sources: shimSources(), flags: ["-shared"], ext: ".so" })).toThrow(/apt-get install gcc/);
    } finally {
      if (saved.cc === undefined) delete process.env.CC;
      else process.env.CC = saved.cc;
      if (saved.cache === undefined) delete process.env.IPC_LAB_CACHE;
      else process.env.IPC_LAB_CACHE = saved.cache;
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

checkLeaks(testPrefix("ffi"));
