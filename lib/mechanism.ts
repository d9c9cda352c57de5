/**
 * The mechanism descriptor: everything the rest of ipc-lab needs to know about one
 * mechanism, in one value exported by its file in lib/channels/. open(), remove(), the
 * registry and `gc`, `ipc-lab info`, the conformance and leak helpers and the benchmark's
 * cases all derive from the list of descriptors in lib/mechanisms.ts, so a new mechanism is
 * one file plus one line there (docs/architecture.md walks through it).
 */
import type { ChildProcess } from "../ffi/process.ts";
import type { Address } from "./address.ts";
import type { Channel, ChannelCaps } from "./channel.ts";
import type { CommonOptions } from "./options.ts";
import type { SpawnOptions } from "./os/inherit.ts";
import type { Listener } from "./link/listener.ts";
import type { NameKind } from "./names/kinds.ts";

export type { NameKind };

/** What a fresh, unique address is made from (tests, `ipc-lab info`, the benchmark). */
export interface Unique {
  /** a name prefix unique to the caller (letters, digits, '-') */
  tag: string;
  /** a private directory for path names (FIFOs, socket files, files) */
  dir: string;
  /** a System V key unique to the caller */
  key: number;
}

/** A child process started with an inherited channel, and our end of it. */
export interface Inherited {
  channel: Channel;
  child: ChildProcess;
}

/**
 * What sets a mechanism apart, in the words of a channel's `caps` (ChannelCaps): the same
 * names mean the same things, stated here for the mechanism with its default options. The
 * conformance suite checks each open channel's caps against these; the benchmark reads them.
 */
export interface Traits extends Pick<ChannelCaps, "duplex" | "boundaries" | "detectsPeerExit" | "maxMessageSize"> {
  /** false when messages may be lost (UDP); omitted means true, as in caps */
  reliable?: boolean;
  /** with reliable false: what is lost and when, in one line */
  unreliableWhy?: string;
  /** a sender can fill it (trySend reaches false); UDP and files are unbounded */
  bounded: boolean;
  /** datagram sockets: no connection, a reply goes where the last datagram came from */
  connectionless?: boolean;
  /** the async path waits on a descriptor the event loop can poll */
  pollable: boolean;
  /** a service that must run for it to work, in words for `ipc-lab info` ("a NATS server at NATS_URL") */
  needs?: string;
}

/**
 * How a mechanism carries conversations: listen() on the server's side gives one duplex
 * Channel per client, connect() is the client's. serve() and request() (lib/conversation/)
 * are built on these two, so they work alike on every mechanism that has them.
 */
export interface Conversing<O extends object = object> {
  /** the mechanism's classic pattern for many clients, in one line (docs, `ipc-lab info`) */
  readonly pattern: string;
  /** listen at `addr` (creating what the address names) */
  listen(addr: Address, options: O & CommonOptions): Listener;
  /** connect to the listener at `addr`: a duplex channel to the server */
  connect(addr: Address, options: O & CommonOptions): Channel;
}

/** One mechanism: the scheme it answers to, its options, how it opens, names and inherits. */
export interface Mechanism<S extends string = string, O extends object = object> {
  /** the address scheme, e.g. "mq" for mq:/name */
  readonly scheme: S;
  /** what tables call it, when not its scheme ("pipe" for fd:) */
  readonly title?: string;
  /** the address form and one line saying what it is, e.g. "mq:/name — a POSIX message queue" */
  readonly describe: string;
  /** the names of O's options, as a run-time list (built with optionNames<O>()) */
  readonly options: readonly string[];
  /** open the channel an address names */
  open(addr: Address, options: O & CommonOptions): Channel;
  readonly traits: Traits;
  /** for named objects: how names are seen and removed */
  readonly names?: Omit<NameKind, "scheme" | "describe">;
  /** a fresh address to create (absent when the mechanism is reached only by inheritance or a pid) */
  sample?(u: Unique): string;
  /** options for a small object of this kind, where the default one is large (`ipc-lab info`'s probe) */
  readonly small?: Partial<O>;
  /** for anonymous mechanisms: start a child that inherits the channel (IPC_LAB_CHANNEL tells it the address) */
  inherit?(cmd: string[], opts: SpawnOptions): Inherited;
  /** for mechanisms that can carry a conversation with many clients (listen/connect, serve/request) */
  readonly converse?: Conversing<O>;
}

/** The options type of a descriptor. */
export type OptionsOf<M> = M extends Mechanism<string, infer O> ? O : never;

/**
 * Declare a descriptor with its options type: `mechanism<MqOptions>()({ scheme: "mq", … })`.
 * The two steps let the compiler keep the literal scheme while O is given explicitly.
 */
export function mechanism<O extends object>() {
  return <const S extends string>(m: Mechanism<S, O>): Mechanism<S, O> => m;
}

/** The traits most mechanisms share; a descriptor spreads these and states what differs. */
export const usualTraits: Pick<Traits, "detectsPeerExit" | "bounded"> = { detectsPeerExit: true, bounded: true };
