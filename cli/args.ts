/**
 * Shared pieces of the command line: argument parsing, message encodings, and turning
 * errors into one clear line and an exit code.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { IpcError } from "../lib/errors.ts";

/** Exit codes: 0 done, 1 IPC failure, 2 usage error, 124 timed out (as timeout(1)). */
export const EXIT = { ok: 0, failure: 1, usage: 2, timeout: 124 } as const;

/** A usage mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** parseArgs with strict checking, turning its errors into UsageError. */
export function parse<T extends ParseArgsConfig["options"]>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A non-negative number option (milliseconds, counts), or undefined when absent. */
export function numberOption(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== "string" || value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} needs a number >= 0 (got '${value}')`);
  }
  return n;
}

/** Decode a hex string (whitespace allowed) into bytes. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new UsageError(`'${text}' is not hex (pairs of 0-9a-f)`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Encode bytes as lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Run a command body; print errors as one line on stderr and return the exit code. */
export async function runCommand(name: string, usage: string, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`ipc-lab ${name}: ${e.message}\n${usage}`);
      return EXIT.usage;
    }
    if (e instanceof IpcError) {
      process.stderr.write(`ipc-lab ${name}: ${e.message}\n`);
      return e.code === "ETIMEDOUT" ? EXIT.timeout : EXIT.failure;
    }
    throw e;
  }
}
