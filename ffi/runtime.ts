/**
 * Loads the symbol table of ffi/libc.ts through the runtime's FFI and hides the runtime's
 * differences (pointer representation, 64-bit results, errno) from lib/. lib/ imports
 * `libc`, `shim` and the helpers below and never learns which runtime it runs on.
 */
import { libcSymbols, shimSymbols, type NativeFn, type NativeType, type SymbolTable } from "./libc.ts";
import { shimLibraryPath } from "./build.ts";

/** An opaque native address. Obtain one from a native call; do arithmetic with ptrAdd(). */
export type Pointer = { readonly __nativePointer: unique symbol };

type ArgOf<T extends NativeType> = T extends "buf" ? ArrayBufferView | null : T extends "ptr" ? Pointer | null : number;
type RetOf<T extends NativeType> = T extends "ptr" ? Pointer | null : T extends "void" ? void : number;
type ArgsOf<A extends readonly NativeType[]> = { [I in keyof A]: ArgOf<A[I]> };
/** The callable form of a symbol table. */
export type Bound<T extends SymbolTable> = {
  readonly [K in keyof T]: (...args: ArgsOf<T[K]["args"]>) => RetOf<T[K]["returns"]>;
};

/** The adapter each runtime provides. */
interface RuntimeFfi {
  readonly name: "bun" | "deno";
  open<T extends SymbolTable>(path: string, table: T): Bound<T>;
  /** An ArrayBuffer aliasing `length` bytes of native memory at p + offset. */
  view(p: Pointer, offset: number, length: number): ArrayBuffer;
  /** Read a NUL-terminated string at p. */
  cstring(p: Pointer): string;
  /** p + n bytes. */
  add(p: Pointer, n: number): Pointer;
  /** The address as a number (for messages to a Worker, and for logging). */
  address(p: Pointer): number;
  /** A Pointer from a number made by address(). */
  fromAddress(n: number): Pointer;
}

async function loadBun(): Promise<RuntimeFfi> {
  const ffi = await import("bun:ffi");
  const word: Record<NativeType, string> = {
    i32: "i32", u32: "u32", f64: "f64", usize: "u64", isize: "i64_fast", ptr: "ptr", buf: "ptr", void: "void",
  };
  const toNum = (p: Pointer) => p as unknown as number;
  return {
    name: "bun",
    open<T extends SymbolTable>(path: string, table: T): Bound<T> {
      const decl: Record<string, { args: string[]; returns: string }> = {};
      for (const [k, fn] of Object.entries(table) as [string, NativeFn][]) {
        decl[k] = { args: fn.args.map((a) => word[a]), returns: word[fn.returns] };
      }
      // bun:ffi's declaration types are keyed to literal FFIType names; ours are checked above.
      return ffi.dlopen(path, decl as never).symbols as unknown as Bound<T>;
    },
    view: (p, offset, length) => ffi.toArrayBuffer(toNum(p) as never, offset, length),
    cstring: (p) => new ffi.CString(toNum(p) as never).toString(),
    add: (p, n) => (toNum(p) + n) as unknown as Pointer,
    address: toNum,
    fromAddress: (n) => n as unknown as Pointer,
  };
}

async function loadRuntime(): Promise<RuntimeFfi> {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return loadBun();
  throw new Error("ipc-lab runs on Bun (and, per its roadmap, Deno); this runtime has no supported FFI.");
}

const rt = await loadRuntime();

/** Which runtime's FFI is in use. */
export const runtimeName = rt.name;
/** libc functions, typed from the table. */
export const libc: Bound<typeof libcSymbols> = rt.open("libc.so.6", libcSymbols);
/** Shim functions, typed from the table. */
export const shim: Bound<typeof shimSymbols> = rt.open(shimLibraryPath(), shimSymbols);

/** An ArrayBuffer aliasing native memory (mmap'd regions): Atomics work on views of it. */
export const nativeView = rt.view;
/** p + n bytes. */
export const ptrAdd = rt.add;
/** A pointer as a plain number (to hand to a Worker). */
export const ptrToNumber = rt.address;
/** The inverse of ptrToNumber. */
export const ptrFromNumber = rt.fromAddress;
/** Read a NUL-terminated C string. */
export const readCString = rt.cstring;

const errnoLocation = libc.__errno_location();
if (!errnoLocation) throw new Error("ipc-lab: __errno_location() returned NULL");
const errnoCell = new Int32Array(rt.view(errnoLocation, 0, 4));

/** The calling thread's errno, to be read right after a failing libc call. */
export function errno(): number {
  return errnoCell[0]!;
}

const encoder = new TextEncoder();
/** A NUL-terminated UTF-8 copy of s, for `buf` arguments that are C strings. */
export function cstr(s: string): Uint8Array {
  const b = new Uint8Array(s.length * 3 + 1);
  const { written } = encoder.encodeInto(s, b);
  return b.subarray(0, written + 1);
}

shim.ipcl_init();
