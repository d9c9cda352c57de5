/**
 * NATS addresses: `nats://HOST[:PORT]/SUBJECT[?queue=GROUP|?durable=NAME]`, or
 * `nats:SUBJECT[?…]` on the server in NATS_URL (default nats://127.0.0.1:4222). What
 * each form means is in docs/nats.md; this file only takes the text apart and says, in the
 * address's own terms, what is wrong with it.
 */
import type { Address } from "../address.ts";
import { ipcError } from "../errors.ts";

/** The server NATS_URL names when it is not set. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";
const DEFAULT_PORT = 4222;

/** A parsed nats address. */
export interface NatsAddress {
  /** the server, as nats://host:port */
  readonly server: string;
  /** the subject (may hold wildcards `*` and `>` for subscribers) */
  readonly subject: string;
  /** ?queue=GROUP: a queue group, each message to one member */
  readonly queue?: string;
  /** ?durable=NAME: a JetStream work queue (stream and durable consumer NAME) */
  readonly durable?: string;
  /** whether the subject holds a wildcard (subscribe only) */
  readonly wildcard: boolean;
}

function bad(addr: Address, why: string): never {
  throw ipcError("EADDRESS", "open", addr.text, `invalid address '${addr.text}': ${why}`);
}

/** A subject: dot-separated tokens, none empty, no whitespace; `*` a whole token, `>` the last. */
function checkSubject(addr: Address, subject: string): boolean {
  if (subject.length === 0) bad(addr, "the subject is empty: write 'nats://HOST:PORT/orders.new' or 'nats:orders.new'");
  if (/[\s\0]/.test(subject)) bad(addr, `the subject '${subject}' contains whitespace; NATS subjects are tokens separated by '.'`);
  const tokens = subject.split(".");
  let wildcard = false;
  tokens.forEach((t, i) => {
    if (t.length === 0) bad(addr, `the subject '${subject}' has an empty token (two dots, or a dot at an end)`);
    if (t === "*" || t === ">") wildcard = true;
    else if (t.includes("*") || t.includes(">")) bad(addr, `'${t}': '*' and '>' are wildcards only as a whole token ('orders.*', 'orders.>')`);
    if (t === ">" && i !== tokens.length - 1) bad(addr, "'>' matches the rest of a subject: it must be the last token");
  });
  return wildcard;
}

/** A stream or consumer name: what JetStream accepts (no '.', '*', '>', whitespace or path characters). */
function checkName(addr: Address, what: string, name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) bad(addr, `${what} '${name}' must be 1..64 letters, digits, '_' or '-'`);
  return name;
}

/** The server of `nats:SUBJECT` addresses: NATS_URL, else DEFAULT_NATS_URL. */
export function natsUrlFromEnv(): string {
  return process.env.NATS_URL || DEFAULT_NATS_URL;
}

/** Split host[:port] into nats://host:port (IPv6 in brackets). */
function serverOf(addr: Address, hostPort: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(hostPort);
  if (!m) bad(addr, `'${hostPort}' is not HOST or HOST:PORT`);
  const port = m[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (port < 1 || port > 65535) bad(addr, `port ${m[2]} is not 1..65535`);
  return `nats://${m[1]}:${port}`;
}

/** Parse a nats address (EADDRESS saying what is wrong). */
export function parseNatsAddress(addr: Address): NatsAddress {
  let rest = addr.name;
  let server: string;
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    if (slash < 0) bad(addr, "no subject: write 'nats://HOST:PORT/SUBJECT'");
    server = serverOf(addr, rest.slice(2, slash));
    rest = rest.slice(slash + 1);
  } else {
    const env = natsUrlFromEnv();
    const m = /^nats:\/\/([^/]+)\/?$/.exec(env);
    if (!m) throw ipcError("EADDRESS", "open", addr.text, `NATS_URL '${env}' is not nats://HOST[:PORT]: set it to your server, e.g. ${DEFAULT_NATS_URL}`);
    server = serverOf(addr, m[1]!);
  }
  const q = rest.indexOf("?");
  const subject = q < 0 ? rest : rest.slice(0, q);
  const wildcard = checkSubject(addr, subject);
  let queue: string | undefined;
  let durable: string | undefined;
  if (q >= 0) {
    for (const part of rest.slice(q + 1).split("&")) {
      const [key, value = ""] = part.split("=", 2) as [string, string?];
      if (key === "queue") queue = checkName(addr, "the queue group", decodeURIComponent(value));
      else if (key === "durable") durable = checkName(addr, "the durable name", decodeURIComponent(value));
      else bad(addr, `unknown parameter '${key}': a nats address takes ?queue=GROUP or ?durable=NAME`);
    }
  }
  if (queue !== undefined && durable !== undefined) {
    bad(addr, "?queue= and ?durable= do not go together: a durable queue already gives each message to one consumer");
  }
  if (durable !== undefined && wildcard) bad(addr, "a durable queue's subject has no wildcards: it is where messages are published");
  return { server, subject, queue, durable, wildcard };
}
