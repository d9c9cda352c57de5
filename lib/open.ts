/**
 * open(address, options): the one entry point that turns an address string into a
 * Channel. Each scheme maps to its mechanism descriptor (lib/mechanisms.ts).
 */
import { parseAddress } from "./address.ts";
import type { Channel } from "./channel.ts";
import { watchStopSignals } from "./names/cleanup.ts";
import { ipcError } from "./errors.ts";
import { mechanismOf, mechanisms, type SchemeOptions } from "./mechanisms.ts";
import { Listener, type SocketOptions } from "./channels/socket.ts";
import { checkOptionNames, type CommonOptions } from "./options.ts";

export type { SchemeOptions } from "./mechanisms.ts";

type Union<T> = T[keyof T];
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** Options understood by open() for an address whose scheme is not known until run time: every scheme's, merged. */
export type OpenOptions = CommonOptions & Partial<UnionToIntersection<Union<SchemeOptions>>>;

/**
 * The options open(address) accepts: for an address whose scheme the compiler can see
 * (a string literal such as "mq:/jobs"), that scheme's own and the common ones, so that
 * `open("mq:/jobs", { wait: "semaphore" })` does not compile; for any other string, all of
 * them (open() then refuses the ones the scheme does not understand, at run time).
 */
export type OptionsFor<A extends string> = string extends A ? OpenOptions
  : A extends `${infer S}:${string}` ? S extends keyof SchemeOptions ? SchemeOptions[S] & CommonOptions
    : OpenOptions
  : OpenOptions;

/** The schemes open() understands, with what each names (from the mechanism descriptors). */
export const schemes: Readonly<Record<string, { describe: string }>> = Object.fromEntries(mechanisms.map((m) => [m.scheme, { describe: m.describe }]));

/**
 * Open a channel by address, e.g. open("mq:/jobs", { create: true }).
 * Throws IpcError EADDRESS for an unknown scheme or a malformed name.
 */
export function open<A extends string>(address: A, options: OptionsFor<A> = {} as OptionsFor<A>): Channel {
  watchStopSignals(); // opening may wait (timeout, a FIFO's peer): a stop signal must end that too
  const addr = parseAddress(address);
  const mechanism = mechanismOf(addr.scheme);
  if (!mechanism) {
    throw ipcError(
      "EADDRESS",
      "open",
      address,
      `unknown scheme '${addr.scheme}' in '${address}'; known schemes: ${mechanisms.map((m) => m.scheme).map((s) => `${s}:`).join(", ")}`,
    );
  }
  checkOptionNames(options, addr.scheme, mechanism.options, address);
  return mechanism.open(addr, options);
}

/**
 * Listen on a stream-socket address (`unix:/path`, `unix:@name`, `tcp:HOST:PORT`) for any
 * number of peers: `listener.accept()` returns one Channel per connection.
 */
export function listen(address: string, options: SocketOptions = {}): Listener {
  const addr = parseAddress(address);
  if (addr.scheme !== "unix" && addr.scheme !== "tcp") {
    throw ipcError("EADDRESS", "listen", address, `listen() takes a stream socket address (unix:/path, unix:@name, tcp:HOST:PORT), not '${addr.scheme}:'`);
  }
  return new Listener(addr, options);
}
