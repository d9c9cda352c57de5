/**
 * Codecs: values instead of bytes. `open(address, { codec: "json" })`, serve() and
 * request() encode each value into one message and decode it on the other side. Built in:
 * "json" (UTF-8 JSON text) and "msgpack" (standard MessagePack through msgpackr, without its
 * record extension, so Python's msgpack or any other decoder reads it); or any
 * `{ encode, decode }`. Nothing runtime-specific goes on the wire, so Bun and Deno (and C,
 * Python) read each other's values.
 *
 * Why msgpackr: the most used and the fastest MessagePack library for JavaScript, pure
 * JavaScript (its optional native part only speeds up decoding long strings under Node), and
 * it runs unchanged on Bun and Deno; `useRecords: false` keeps it to standard MessagePack.
 */
import { createRequire } from "node:module";
import type { Packr } from "msgpackr";
import { IpcError, ipcError } from "../errors.ts";

/** Turns values into messages and back. */
export interface Codec<T = unknown> {
  /** a name for messages ("json", "msgpack", or your own) */
  readonly name: string;
  /** one value → one message */
  encode(value: T): Uint8Array;
  /** one message → one value */
  decode(bytes: Uint8Array): T;
}

/** A codec option: a built-in codec's name, or a codec. */
export type CodecOption<T = unknown> = "json" | "msgpack" | Codec<T>;

/**
 * Where in `value` is something `codec` cannot carry faithfully, and why; undefined when all of
 * it can be. JSON carries null, booleans, finite numbers, strings, arrays and plain objects;
 * MessagePack also bytes (Uint8Array), Dates and bigints in 64 bits. Neither carries
 * functions, symbols, class instances or cycles. Object properties whose value is undefined
 * are left out, as JSON.stringify does.
 */
function whyUnencodable(value: unknown, codec: "json" | "msgpack"): string | undefined {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): string | undefined => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return undefined;
      case "number":
        return codec === "json" && !Number.isFinite(v) ? `${path} is ${v}: JSON has no ${v} (use null, or the msgpack codec)` : undefined;
      case "bigint":
        if (codec === "json") return `${path} is a bigint: JSON has no bigint (send a string, or use the msgpack codec)`;
        return v >= -(2n ** 63n) && v < 2n ** 64n ? undefined : `${path} is a bigint beyond 64 bits: MessagePack integers have at most 64`;
      case "undefined":
        return `${path} is undefined: ${codec} has no undefined (use null)`;
      case "function":
        return `${path} is a function: functions cannot be sent`;
      case "symbol":
        return `${path} is a symbol: symbols cannot be sent`;
    }
    if (v === null) return undefined;
    const o = v as object;
    if (seen.has(o)) return `${path} refers back to itself (a cycle): ${codec} carries trees, not graphs`;
    if (o instanceof Uint8Array) return codec === "json" ? `${path} is a Uint8Array: JSON has no bytes (use the msgpack codec, or base64)` : undefined;
    if (o instanceof Date) {
      return codec === "json" ? `${path} is a Date: JSON would turn it into a string (send date.toISOString(), or use msgpack)` : undefined;
    }
    seen.add(o);
    try {
      if (Array.isArray(o)) {
        for (let i = 0; i < o.length; i++) {
          const why = walk(o[i], `${path}[${i}]`);
          if (why) return why;
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null) {
        return `${path} is a ${o.constructor?.name ?? "class"} instance: only plain objects, arrays${
          codec === "msgpack" ? ", Uint8Array and Date" : ""
        } can be sent (convert it first)`;
      }
      for (const [k, x] of Object.entries(o)) {
        if (x === undefined) continue;
        const why = walk(x, /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);
        if (why) return why;
      }
      return undefined;
    } finally {
      seen.delete(o);
    }
  };
  return walk(value, "the value");
}

function cannotEncode(codec: string, why: string): IpcError {
  return ipcError("ECODEC", "encode", undefined, `the ${codec} codec cannot encode this value: ${why}`);
}

function cannotDecode(codec: string, e: unknown): IpcError {
  return ipcError(
    "ECODEC",
    "decode",
    undefined,
    `a message is not ${codec}: ${e instanceof Error ? e.message : String(e)} (do both sides use the same codec?)`,
  );
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * JSON as UTF-8 text.
 *
 * @example
 * ```ts
 * const ch = open<{ id: number }>("shm:/jobs", { create: true, codec: jsonCodec });
 * ```
 */
export const jsonCodec: Codec = {
  name: "json",
  encode(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined;
    }
    const why = text === undefined || typeof value === "object" ? whyUnencodable(value, "json") : undefined;
    if (why || text === undefined) throw cannotEncode("json", why ?? "JSON.stringify gave nothing");
    return utf8.encode(text);
  },
  decode(bytes) {
    try {
      return JSON.parse(fromUtf8.decode(bytes));
    } catch (e) {
      throw cannotDecode("json", e);
    }
  },
};

let packr: Packr | undefined;
/**
 * msgpackr, loaded on the first MessagePack value rather than by every program that imports
 * ipc-lab (its import alone measured 20–36 ms on Bun, Deno and Node), for a codec most
 * programs never use. createRequire: the codec's calls are synchronous.
 */
function msgpackr(): Packr {
  if (!packr) {
    const { Packr } = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");
    packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: "bigint" });
  }
  return packr;
}

/**
 * Standard MessagePack (msgpackr, no record extension).
 *
 * @example
 * ```ts
 * const ch = open<{ at: Date }>("shm:/jobs", { create: true, codec: msgpackCodec });
 * ```
 */
export const msgpackCodec: Codec = {
  name: "msgpack",
  encode(value) {
    const why = whyUnencodable(value, "msgpack");
    if (why) throw cannotEncode("msgpack", why);
    const b = msgpackr().pack(value);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  decode(bytes) {
    try {
      return msgpackr().unpack(bytes);
    } catch (e) {
      throw cannotDecode("msgpack", e);
    }
  },
};

/** The codec an option names. */
export function codecOf<T>(c: CodecOption<T>): Codec<T> {
  if (c === "json") return jsonCodec as Codec<T>;
  if (c === "msgpack") return msgpackCodec as Codec<T>;
  if (c && typeof c === "object" && typeof c.encode === "function" && typeof c.decode === "function") return c;
  throw ipcError("EINVAL", "open", undefined, `codec must be "json", "msgpack" or an object with encode(value) and decode(bytes) (got ${String(c)})`);
}
