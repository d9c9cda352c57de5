/**
 * expectIpcError: assert that fn throws an IpcError with the given code, and return it.
 */
import { expect } from "./harness.ts";
import { IpcError } from "../../lib/errors.ts";

/** Run fn, expect an IpcError with `code`, return it for further checks. */
export function expectIpcError(fn: () => unknown, code: string): IpcError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    expect((e as IpcError).code).toBe(code);
    return e as IpcError;
  }
  throw new Error(`expected IpcError ${code}, but nothing was thrown`);
}

/** Await fn's promise, expect it to reject with an IpcError whose code is `code` (or one of them) and whose message matches `message`. */
export async function expectIpcErrorAsync(fn: () => Promise<unknown>, code: string | string[], message?: RegExp): Promise<IpcError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) throw new Error(`expected IpcError ${code}, but the promise resolved`);
  expect(caught).toBeInstanceOf(IpcError);
  const e = caught as IpcError;
  if (Array.isArray(code)) expect(code).toContain(e.code);
  else expect(e.code).toBe(code);
  if (message) expect(e.message).toMatch(message);
  return e;
}
