/**
 * Loads the symbol table of ffi/libc.ts through the runtime's FFI (bun:ffi, Deno.dlopen,
 * koffi on Node) and hides the runtime's differences (pointer representation, 64-bit
 * results, errno) from lib/. lib/ imports `libc`, `shim` and the helpers below and never
 * learns which runtime it runs on.
 */
import "./permissions.ts"; // first: on Deno, missing permissions fail here with every flag named
import { libcSymbols, type NativeFn, type NativeType, shimSymbols, type SymbolTable } from "./libc.ts";
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

/** The async (off-thread) form of a table's `blocking` symbols: each call returns a Promise. */
export type BoundAsync<T extends SymbolTable> = {
  readonly [K in keyof T as T[K]["blocking"] extends true ? K : never]: (...args: ArgsOf<T[K]["args"]>) => Promise<RetOf<T[K]["returns"]>>;
};

/** The adapter each runtime provides. */
interface RuntimeFfi {
  open<T extends SymbolTable>(path: string, table: T): Bound<T>;
  /**
   * The table's `blocking` symbols as calls that run on a runtime thread and return a
   * Promise (Deno `nonblocking`), or undefined where the runtime has none (Bun: waits go
   * to a waiter Worker instead, ffi/waiter.ts).
   */
  openAsync<T extends SymbolTable>(path: string, table: T): BoundAsync<T> | undefined;
  /** An ArrayBuffer aliasing `length` bytes of native memory at p + offset. */
  view(p: Pointer, offset: number, length: number): ArrayBuffer;
  /** Whether such a view can be detached (transfer): false on Node, whose external buffers stay attached. */
  viewsDetach: boolean;
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
    i32: "i32",
    u32: "u32",
    f64: "f64",
    usize: "u64",
    isize: "i64_fast",
    ptr: "ptr",
    buf: "ptr",
    void: "void",
  };
  const toNum = (p: Pointer) => p as unknown as number;
  return {
    open<T extends SymbolTable>(path: string, table: T): Bound<T> {
      const decl: Record<string, { args: string[]; returns: string }> = {};
      for (const [k, fn] of Object.entries(table) as [string, NativeFn][]) {
        decl[k] = { args: fn.args.map((a) => word[a]), returns: word[fn.returns] };
      }
      // bun:ffi's declaration types are keyed to literal FFIType names; ours are checked above.
      return ffi.dlopen(path, decl as never).symbols as unknown as Bound<T>;
    },
    openAsync: () => undefined,
    view: (p, offset, length) => ffi.toArrayBuffer(toNum(p) as never, offset, length),
    viewsDetach: true,
    cstring: (p) => new ffi.CString(toNum(p) as never).toString(),
    add: (p, n) => (toNum(p) + n) as unknown as Pointer,
    address: toNum,
    fromAddress: (n) => n as unknown as Pointer,
  };
}

/** The part of Deno's FFI API used here (declared locally: the project type-checks against bun-types). */
interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string; nonblocking?: boolean }>,
  ): { symbols: Record<string, (...a: unknown[]) => unknown> };
  UnsafePointer: { create(v: bigint): unknown; value(p: unknown): bigint; offset(p: unknown, n: number): unknown };
  UnsafePointerView: { getArrayBuffer(p: unknown, length: number, offset?: number): ArrayBuffer; getCString(p: unknown): string };
}

function loadDeno(D: DenoFfi): RuntimeFfi {
  const word: Record<NativeType, string> = {
    i32: "i32",
    u32: "u32",
    f64: "f64",
    usize: "usize",
    isize: "isize",
    ptr: "pointer",
    buf: "buffer",
    void: "void",
  };
  const declare = (table: SymbolTable, nonblocking: boolean) => {
    const decl: Record<string, { parameters: string[]; result: string; nonblocking?: boolean }> = {};
    for (const [k, fn] of Object.entries(table)) {
      if (nonblocking && !fn.blocking) continue;
      decl[k] = { parameters: fn.args.map((a) => word[a]), result: word[fn.returns], nonblocking };
    }
    return decl;
  };
  // Deno returns 64-bit integers as BigInt; lib/ works in numbers (sizes here stay far below 2^53)
  const wide = (t: NativeType) => t === "usize" || t === "isize";
  return {
    open<T extends SymbolTable>(path: string, table: T): Bound<T> {
      const { symbols } = D.dlopen(path, declare(table, false));
      const out: Record<string, unknown> = {};
      for (const [k, fn] of Object.entries(table)) {
        const f = symbols[k]!;
        out[k] = wide(fn.returns) ? (...a: unknown[]) => Number(f(...a)) : f;
      }
      return out as Bound<T>;
    },
    openAsync<T extends SymbolTable>(path: string, table: T): BoundAsync<T> {
      const { symbols } = D.dlopen(path, declare(table, true));
      const out: Record<string, unknown> = {};
      for (const [k, fn] of Object.entries(table)) {
        const f = symbols[k];
        if (f) out[k] = wide(fn.returns) ? async (...a: unknown[]) => Number(await f(...a)) : f;
      }
      return out as BoundAsync<T>;
    },
    view: (p, offset, length) => D.UnsafePointerView.getArrayBuffer(p, length, offset),
    viewsDetach: true,
    cstring: (p) => D.UnsafePointerView.getCString(p),
    add: (p, n) => D.UnsafePointer.offset(p, n) as Pointer,
    address: (p) => Number(D.UnsafePointer.value(p)),
    fromAddress: (n) => D.UnsafePointer.create(BigInt(n)) as Pointer,
  };
}

/** The part of koffi's API used here (Node has no FFI of its own before 26, behind a flag). */
interface Koffi {
  load(path: string): { func(name: string, result: string, args: string[]): (...a: unknown[]) => unknown };
  view(p: bigint, length: number): ArrayBuffer;
  decode: { string(p: bigint): string };
}

/**
 * Node: koffi, pinned in package.json. Pointers are plain numbers, as on Bun (declared
 * uintptr_t: no BigInt per call); only views and strings turn them into koffi's BigInt.
 */
async function loadNode(): Promise<RuntimeFfi> {
  let koffi: Koffi;
  try {
    koffi = ((await import("koffi")) as { default: Koffi }).default;
  } catch (e) {
    throw new Error(`ipc-lab on Node calls libc through koffi, which could not be loaded (${(e as Error).message}): npm install koffi`);
  }
  const word: Record<NativeType, string> = {
    i32: "int32_t",
    u32: "uint32_t",
    f64: "double",
    usize: "size_t",
    isize: "intptr_t",
    ptr: "uintptr_t",
    buf: "void *",
    void: "void",
  };
  const wide = (t: NativeType) => t === "usize" || t === "isize";
  return {
    open<T extends SymbolTable>(path: string, table: T): Bound<T> {
      const lib = koffi.load(path);
      const out: Record<string, unknown> = {};
      for (const [k, fn] of Object.entries(table) as [string, NativeFn][]) {
        const f = lib.func(k, word[fn.returns], fn.args.map((a) => word[a]));
        const ptrs = fn.args.flatMap((a, i) => (a === "ptr" ? [i] : []));
        // a null Pointer is address 0 to C; koffi's uintptr_t wants a number
        const call = ptrs.length === 0 ? f : (...a: unknown[]) => {
          for (const i of ptrs) a[i] ??= 0;
          return f(...a);
        };
        // a NULL result is null, as on Bun and Deno (koffi's uintptr_t gives 0)
        out[k] = wide(fn.returns) ? (...a: unknown[]) => Number(call(...a)) : fn.returns === "ptr" ? (...a: unknown[]) => call(...a) || null : call;
      }
      return out as Bound<T>;
    },
    openAsync: () => undefined,
    view: (p, offset, length) => koffi.view(BigInt((p as unknown as number) + offset), length),
    viewsDetach: false,
    cstring: (p) => koffi.decode.string(BigInt(p as unknown as number)),
    add: (p, n) => ((p as unknown as number) + n) as unknown as Pointer,
    address: (p) => p as unknown as number,
    fromAddress: (n) => n as unknown as Pointer,
  };
}

async function loadRuntime(): Promise<RuntimeFfi> {
  const g = globalThis as { Bun?: unknown; Deno?: DenoFfi };
  if (g.Bun !== undefined) return loadBun();
  if (g.Deno !== undefined) return loadDeno(g.Deno);
  return loadNode();
}

const rt = await loadRuntime();
const shimPath = shimLibraryPath();

/** libc functions, typed from the table. */
export const libc: Bound<typeof libcSymbols> = rt.open("libc.so.6", libcSymbols);
/** Shim functions, typed from the table. */
export const shim: Bound<typeof shimSymbols> = rt.open(shimPath, shimSymbols);
/**
 * The shim's blocking functions as Promise-returning calls on a runtime thread (Deno), or
 * undefined (Bun, where ffi/waiter.ts uses a waiter Worker). They return -errno.
 */
export const shimAsync: BoundAsync<typeof shimSymbols> | undefined = rt.openAsync(shimPath, shimSymbols);

/** An ArrayBuffer aliasing native memory (mmap'd regions): Atomics work on views of it. */
export const nativeView = rt.view;
/**
 * Whether views of native memory can be detached: where not (Node), a loan or view of
 * shared memory cannot be taken back at commit()/release(), so channels hand out copies.
 */
export const nativeViewsDetach: boolean = rt.viewsDetach;
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

/** The libc calls lib/ makes that report failure by returning -1 and setting errno. */
const errnoCalls = ["pipe2", "kill", "mkfifo", "eventfd", "fcntl", "fstat", "shm_open", "shm_unlink", "mq_unlink", "sem_unlink", "unlink"] as const;
type ErrnoCall = (typeof errnoCalls)[number];

/**
 * Those calls as -errno returning ones, like the shim's: the result, or -errno on failure.
 * errno is read here, right after the call on the same thread, so lib/ never reads it.
 */
export const sys: { [K in ErrnoCall]: Bound<typeof libcSymbols>[K] } = Object.fromEntries(
  errnoCalls.map((name) => {
    const call = libc[name] as (...args: unknown[]) => number;
    return [name, (...args: unknown[]) => {
      const r = call(...args);
      return r < 0 ? -errnoCell[0]! : r;
    }];
  }),
) as { [K in ErrnoCall]: Bound<typeof libcSymbols>[K] };
