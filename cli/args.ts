/**
 * Shared pieces of the command line: argument parsing, message encodings, and turning
 * errors into one clear line and an exit code.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { IpcError } from "../lib/errors.ts";
import { nearest } from "../lib/options.ts";

/** Exit codes: 0 done, 1 IPC failure, 2 usage error, 124 timed out (as timeout(1)). */
export const EXIT = { ok: 0, failure: 1, usage: 2, timeout: 124 } as const;

/** A usage mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** `--help` or `-h` was given: runCommand prints the usage on stdout and exits 0. */
class HelpRequested extends Error {}

/**
 * parseArgs with strict checking, for every command alike: `--help`/`-h` is always
 * understood; a negative number after an option that takes a value is that value (so
 * `--timeout -5` reaches the real check instead of "ambiguous argument"); an unknown option
 * names the nearest real one; other mistakes become a UsageError.
 */
export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T) {
  const all = { ...options, help: { type: "boolean", short: "h" } } as const;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const takesValue = a.startsWith("--") && !a.includes("=") && (all as Record<string, { type: string }>)[a.slice(2)]?.type === "string";
    if (takesValue && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec((e as Error).message)?.[1];
    if (unknown) {
      const names = Object.keys(options);
      const near = nearest(unknown.replace(/^-+/, ""), names);
      const hint = near
        ? `; did you mean --${near}?`
        : names.length
        ? ` (options: ${names.map((n) => `--${n}`).join(", ")})`
        : " (this command takes no options)";
      throw new UsageError(`unknown option '${unknown}'${hint}`);
    }
    throw new UsageError((e as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) throw new HelpRequested();
  return parsed;
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

/**
 * Library advice speaks of open() options; on the command line they mean nothing. Each
 * pair: a phrase of the library's advice, and what to say instead in the CLI's terms.
 */
const cliWords: [RegExp, string][] = [
  [
    /create it \(create: true\), or start the side that listens first, or wait (longer|for it) \(timeout\)/,
    "start the side that listens first (`ipc-lab recv ADDRESS` listens), or give a longer --timeout MS",
  ],
  [
    /create it \(create: true\), or start the side that creates it first, or wait (longer|for it) \(timeout\)/,
    "start the side that creates it first (`ipc-lab recv ADDRESS` creates it), or give a longer --timeout MS",
  ],
  [/create it \(create: true\), or start the side that creates it first/, "start the side that creates it first (`ipc-lab recv ADDRESS` creates it)"],
  [
    /split it, or open with a larger maxMessageSize where the mechanism allows/,
    "split it: `ipc-lab info` shows each mechanism's limits and the sysctls that raise them",
  ],
  [/\(pass allowForeignOwner: true to trust it\)/, "(the command line does not open another user's ring)"],
  [
    /open with a smaller capacity \(bytes per direction\)/,
    "remove what you no longer need (`ipc-lab ls`, `ipc-lab gc`) or make /dev/shm larger (mount -o remount,size=… /dev/shm)",
  ],
];

/**
 * An IpcError's message in the command line's terms (flags, sysctls), not the library's
 * options; for `request`, the side to start first is a server (`serve`), not `recv`.
 */
function inCliTerms(message: string, command: string): string {
  const said = cliWords.reduce((m, [library, cli]) => m.replace(library, cli), message)
    .replace(/\b(listen|connect|serve|request)\(\) needs an address/, `\`ipc-lab ${command}\` needs an address`);
  return command === "request" ? said.replace(/`ipc-lab recv ADDRESS` (creates it|listens)/, "`ipc-lab serve ADDRESS -- COMMAND` serves there") : said;
}

/** Run a command body; print errors as one line on stderr and return the exit code. */
export async function runCommand(name: string, usage: string, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(usage);
      return EXIT.ok;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`ipc-lab ${name}: ${e.message}\n${usage}`);
      return EXIT.usage;
    }
    if (e instanceof IpcError) {
      // a malformed or unusable address is the caller's mistake: a usage error (2), like a bad flag
      if (e.code === "EADDRESS") {
        process.stderr.write(
          `ipc-lab ${name}: ${inCliTerms(e.message, name)}\n(ipc-lab ${name} --help shows the usage; ipc-lab --help lists the address schemes)\n`,
        );
        return EXIT.usage;
      }
      process.stderr.write(`ipc-lab ${name}: ${inCliTerms(e.message, name)}\n`);
      return e.code === "ETIMEDOUT" ? EXIT.timeout : EXIT.failure;
    }
    throw e;
  }
}
