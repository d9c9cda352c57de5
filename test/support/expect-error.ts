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
