/**
 * open(address, options): the one entry point that turns an address string into a
 * Channel. Each scheme maps to its mechanism descriptor (lib/mechanisms.ts).
 */
import { parseAddress } from "./address.ts";
import type { Channel } from "./channel.ts";
import { watchStopSignals } from "./os/stop.ts";
import { ipcError } from "./errors.ts";
import { mechanismOf, mechanisms, type SchemeOptions } from "./mechanisms.ts";
import type { Listener } from "./link/listener.ts";
import { codecOf, type CodecOption } from "./values/codec.ts";
import { ValueChannel } from "./values/value-channel.ts";
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

/**
 * The schemes open() understands, with what each names (from the mechanism descriptors).
 *
 * @example
 * ```ts
 * for (const [scheme, { describe }] of Object.entries(schemes)) console.log(scheme, describe);
 * ```
 */
export const schemes: Readonly<Record<string, { describe: string }>> = Object.fromEntries(mechanisms.map((m) => [m.scheme, { describe: m.describe }]));

/**
 * Open a channel by address, e.g. open("mq:/jobs", { create: true }).
 * With `codec` ("json", "msgpack" or your own), a channel of values:
 * `open<Job>("shm:/jobs", { codec: "json" })` sends and receives Job objects.
 * Throws IpcError EADDRESS for an unknown scheme or a malformed name.
 *
 * @example
 * ```ts
 * open("mq:/jobs", { create: true }).send("hello");   // one process
 * const job = open("mq:/jobs", { timeout: 5000 }).recv(); // another
 * ```
 */
export function open<T>(address: string, options: OpenOptions & { codec: CodecOption<T> }): ValueChannel<T>;
export function open<A extends string>(address: A, options?: OptionsFor<A>): Channel;
export function open(address: string, options: OpenOptions & { codec?: CodecOption } = {}): Channel | ValueChannel {
  watchStopSignals(); // opening may wait (timeout, a FIFO's peer): a stop signal must end that too
  const { codec, ...rest } = options;
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
  checkOptionNames(rest, addr.scheme, mechanism.options, address);
  if (codec === undefined) return mechanism.open(addr, rest);
  const check = codecOf(codec); // a bad codec fails before anything is created
  return new ValueChannel(mechanism.open(addr, rest), check);
}

/** The mechanism of `address` if it can carry conversations (listen/connect), else an EADDRESS error naming those that can. */
function conversing(address: string, op: string, options: object) {
  watchStopSignals();
  const addr = parseAddress(address);
  const mechanism = mechanismOf(addr.scheme);
  if (!mechanism?.converse) {
    const able = mechanisms.filter((m) => m.converse).map((m) => `${m.scheme}:`).join(", ");
    throw ipcError("EADDRESS", op, address, `${op}() needs an address whose mechanism can serve many clients (${able}), not '${addr.scheme}:'`);
  }
  checkOptionNames(options, addr.scheme, mechanism.options, address);
  return { addr, converse: mechanism.converse };
}

/**
 * Listen at an address for any number of clients: `accept()` / `acceptAsync()` /
 * `for await (const peer of listener)` give one duplex Channel per client. Sockets accept(2);
 * `shm:` gives each client its own ring; queues (`mq:`, `sysv-mq:`, `fifo:`, `unix-dgram:`)
 * share one object and tell clients apart (docs/channel.md, "Conversations").
 *
 * @example
 * ```ts
 * for await (const peer of listen("unix:/tmp/feed.sock")) peer.send("tick");
 * ```
 */
export function listen<A extends string>(address: A, options: OptionsFor<A> = {} as OptionsFor<A>): Listener {
  const { addr, converse } = conversing(address, "listen", options);
  return converse.listen(addr, options);
}

/**
 * Connect to the listener at `address`: a duplex Channel to the server (the client's side of listen()).
 *
 * @example
 * ```ts
 * using feed = connect("unix:/tmp/feed.sock", { timeout: 5000 });
 * console.log(new TextDecoder().decode(feed.recv()));
 * ```
 */
export function connect<A extends string>(address: A, options: OptionsFor<A> = {} as OptionsFor<A>): Channel {
  const { addr, converse } = conversing(address, "connect", options);
  return converse.connect(addr, options);
}
