/**
 * The test API of every suite: bun:test on Bun; on Deno, node:test (which Deno implements)
 * with the small expect() of ./deno-expect.ts. Files that import from here run under
 * `bun test` and `deno test` alike.
 *
 * Every test body runs under a hang watchdog (ffi/shim/watchdog.c): a runner's own timeout
 * is a timer on the JS thread and cannot fire while a body blocks synchronously (a lost
 * wake-up inside a sync recv, a busy loop), so such a test used to pass slowly or hang for
 * good. The watchdog is a native thread: past the test's timeout (+ WATCHDOG_GRACE_MS, so
 * the runner reports an async hang first) it prints the test's name and ends the process,
 * which fails the run.
 */
import type * as BunTest from "bun:test";
import { runtime } from "../../ffi/process.ts";
import { cstr, shim } from "../../ffi/runtime.ts";

type Api = Pick<typeof BunTest, "describe" | "test" | "expect" | "afterAll">;
type Body = (...args: never[]) => unknown;

/** A test's limit when it names none: what `npm test` passes to `bun test --timeout`. */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** How long past its timeout a test may still run before the watchdog ends the process. */
export const WATCHDOG_GRACE_MS = 5_000;

/** `fn`, armed with the watchdog for `timeout` (+ grace) while it runs. */
function guarded<F extends Body>(name: string, fn: F, timeout = DEFAULT_TIMEOUT_MS): F {
  const limit = timeout + WATCHDOG_GRACE_MS;
  const message = cstr(
    `\nipc-lab test watchdog: "${name}" still running ${limit / 1000} s after it started ` +
      `(its timeout is ${timeout / 1000} s): it hangs, most likely blocked in a synchronous call. Ending the run.`,
  );
  const body = (...args: never[]) => {
    shim.ipcl_watchdog_arm(limit, message);
    let result: unknown;
    try {
      result = fn(...args);
    } catch (e) {
      shim.ipcl_watchdog_disarm();
      throw e;
    }
    if (result instanceof Promise) return result.finally(() => shim.ipcl_watchdog_disarm());
    shim.ipcl_watchdog_disarm();
    return result;
  };
  return body as F;
}

async function bunApi(): Promise<Api> {
  const bun = await import("bun:test");
  type Plain = () => void | Promise<unknown>;
  const test = (name: string, fn: Body, timeout?: number) => bun.test(name, guarded(name, fn, timeout) as Plain, timeout);
  test.skipIf = (skip: unknown) => (name: string, fn: Body, timeout?: number) =>
    bun.test.skipIf(Boolean(skip))(name, guarded(name, fn, timeout) as Plain, timeout);
  test.each = (rows: readonly unknown[]) => (name: string, fn: Body, timeout?: number) =>
    bun.test.each(rows as unknown[][])(name, guarded(name, fn, timeout) as (...a: unknown[]) => void, timeout);
  // the cast: the members the suites call, with bun:test's meaning
  return { describe: bun.describe, test, expect: bun.expect, afterAll: bun.afterAll } as unknown as Api;
}

/**
 * node:test on Deno gets a test's timeout only when the test names one, as before the
 * watchdog: given to every test, Deno 2.9's node:test stalled the suite (a test's event loop
 * waited with no timer left). A test without one is bounded by the watchdog alone.
 */
async function denoApi(): Promise<Api> {
  const nodeTest = await import("node:test");
  const { expect } = await import("./deno-expect.ts");
  const test = (name: string, fn: Body, timeout?: number) => nodeTest.test(name, { timeout }, guarded(name, fn, timeout) as () => Promise<void>);
  test.skipIf = (skip: unknown) => (name: string, fn: Body, timeout?: number) =>
    nodeTest.test(name, { skip: Boolean(skip), timeout }, guarded(name, fn, timeout) as () => Promise<void>);
  test.each = (rows: readonly unknown[]) => (name: string, fn: Body, timeout?: number) =>
    rows.forEach((row, i) => test(`${name} #${i + 1} ${JSON.stringify(row)}`, () => (fn as (...a: unknown[]) => unknown)(...(row as unknown[])), timeout));
  const describe = (name: string, fn: () => void) => nodeTest.describe(name, fn);
  describe.skipIf = (skip: unknown) => (name: string, fn: () => void) => nodeTest.describe(name, { skip: Boolean(skip) }, fn);
  // the cast: only the members these suites call are provided, with bun:test's meaning
  return { describe, test, expect, afterAll: (fn: Body) => nodeTest.after(fn as () => Promise<void>) } as unknown as Api;
}

const api: Api = runtime === "bun" ? await bunApi() : await denoApi();

/** bun:test's describe (node:test's on Deno). */
export const describe = api.describe;
/** bun:test's test, with test.skipIf and test.each, every body under the hang watchdog (node:test's on Deno). */
export const test = api.test;
/** bun:test's expect (./deno-expect.ts on Deno: the matchers the suites use). */
export const expect = api.expect;
/** bun:test's afterAll (node:test's after on Deno). */
export const afterAll = api.afterAll;
