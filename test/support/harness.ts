/**
 * The test API of the suites that run on both runtimes (the conformance suites): bun:test
 * on Bun; on Deno, node:test (which Deno implements) with the small expect() of
 * ./deno-expect.ts. Files that import from here run under `bun test` and `deno test` alike.
 */
import type * as BunTest from "bun:test";
import { runtime } from "../../ffi/process.ts";

type Api = Pick<typeof BunTest, "describe" | "test" | "expect" | "afterAll">;

async function denoApi(): Promise<Api> {
  const nodeTest = await import("node:test");
  const { expect } = await import("./deno-expect.ts");
  type Body = () => unknown;
  const test = (name: string, fn: Body, timeout?: number) => nodeTest.test(name, { timeout }, fn as () => Promise<void>);
  test.skipIf = (skip: unknown) => (name: string, fn: Body, timeout?: number) =>
    nodeTest.test(name, { skip: Boolean(skip), timeout }, fn as () => Promise<void>);
  const describe = (name: string, fn: () => void) => nodeTest.describe(name, fn);
  // the cast: only the members these suites call are provided, with bun:test's meaning
  return { describe, test, expect, afterAll: (fn: Body) => nodeTest.after(fn as () => Promise<void>) } as unknown as Api;
}

const api: Api = runtime === "bun" ? await import("bun:test") : await denoApi();

/** bun:test's describe (node:test's on Deno). */
export const describe = api.describe;
/** bun:test's test, with test.skipIf (node:test's on Deno). */
export const test = api.test;
/** bun:test's expect (./deno-expect.ts on Deno: the matchers the suites use). */
export const expect = api.expect;
/** bun:test's afterAll (node:test's after on Deno). */
export const afterAll = api.afterAll;
