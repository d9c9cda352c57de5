/**
 * Address strings: `scheme:name`. Each scheme's name names the kernel object exactly
 * (`mq:/jobs` is the queue "/jobs"), so any other program can open the same object.
 */
import { ipcError } from "./errors.ts";

/** A parsed address. */
export interface Address {
  /** the full text, as given */
  readonly text: string;
  /** the scheme, e.g. "mq" */
  readonly scheme: string;
  /** everything after the first colon, e.g. "/jobs" */
  readonly name: string;
}

/** Longest POSIX IPC name component (NAME_MAX). */
const NAME_MAX = 255;
/** Longest path (PATH_MAX). */
const PATH_MAX = 4096;

function bad(text: string, why: string): never {
  throw ipcError("EADDRESS", "parseAddress", text, `invalid address '${text}': ${why}`);
}

/**
 * Split `scheme:name`, checking the scheme is a lower-case word.
 *
 * @example
 * ```ts
 * parseAddress("fifo:/tmp/a:b"); // { text: "fifo:/tmp/a:b", scheme: "fifo", name: "/tmp/a:b" }
 * ```
 */
export function parseAddress(text: string): Address {
  if (typeof text !== "string") bad(String(text), "an address must be a string such as 'mq:/jobs'");
  const colon = text.indexOf(":");
  if (colon <= 0) bad(text, "expected 'scheme:name', for example 'mq:/jobs', 'shm:/ring', 'fifo:/tmp/f' or 'fd:3'");
  const scheme = text.slice(0, colon);
  if (!/^[a-z][a-z0-9-]*$/.test(scheme)) bad(text, `'${scheme}' is not a scheme name`);
  return { text, scheme, name: text.slice(colon + 1) };
}

/**
 * Check a POSIX IPC object name (shm_open, mq_open, sem_open): one leading '/', then
 * 1..NAME_MAX-1 characters without '/' or NUL, and not '.' or '..'.
 */
export function checkPosixName(addr: Address): string {
  const n = addr.name;
  if (!n.startsWith("/")) bad(addr.text, `a ${addr.scheme} name starts with '/', as in '${addr.scheme}:/jobs'`);
  const rest = n.slice(1);
  if (rest.length === 0) bad(addr.text, "the name after '/' is empty");
  if (rest.includes("/")) bad(addr.text, "a POSIX IPC name has exactly one '/', at the start");
  if (rest.includes("\0")) bad(addr.text, "the name contains a NUL character");
  if (rest === "." || rest === "..") bad(addr.text, `'${rest}' is not a usable name`);
  if (new TextEncoder().encode(rest).length >= NAME_MAX) bad(addr.text, `the name is longer than ${NAME_MAX - 1} bytes`);
  return n;
}

/** Check a filesystem path (FIFOs, files, unix sockets): non-empty, no NUL, not too long. */
export function checkPath(addr: Address): string {
  const p = addr.name;
  if (p.length === 0) bad(addr.text, `expected a path, as in '${addr.scheme}:/tmp/name'`);
  if (p.includes("\0")) bad(addr.text, "the path contains a NUL character");
  if (new TextEncoder().encode(p).length >= PATH_MAX) bad(addr.text, `the path is longer than ${PATH_MAX - 1} bytes`);
  if (p.endsWith("/")) bad(addr.text, "the path names a directory (it ends with '/')");
  return p;
}

/** Parse `fd:N` or `fd:R,W` into file descriptor numbers. */
export function parseFds(addr: Address): number[] {
  const parts = addr.name.split(",");
  if (parts.length < 1 || parts.length > 2) bad(addr.text, "expected 'fd:N' or 'fd:READ,WRITE'");
  return parts.map((p) => {
    if (!/^\d{1,9}$/.test(p)) bad(addr.text, `'${p}' is not a file descriptor number`);
    return Number(p);
  });
}
