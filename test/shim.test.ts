/**
 * The symbol table agrees with the C: every entry of ffi/libc.ts's shimSymbols matches the
 * prototype in ffi/shim/internal.h — the same number of arguments, each of a type FFI
 * passes the same way, and the same result — so a mismatch fails here instead of
 * corrupting memory at run time. Every function the shim exports is in the table or on a
 * short list of ones only C uses. Both runtimes.
 */
import { readFileSync } from "node:fs";
import { type NativeFn, type NativeType, shimSymbols } from "../ffi/libc.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { describe, expect, test } from "./support/harness.ts";
import { testPrefix } from "./support/leaks.ts";
import { sourceFile } from "../ffi/paths.ts";

const header = readFileSync(sourceFile("ffi/shim/internal.h"), "utf8");

/** The native type word(s) a C type may be declared as in the table. */
function wordsFor(cType: string): NativeType[] {
  const t = cType.replace(/\b(const|volatile)\b/g, "").replace(/\s+/g, " ").trim();
  if (t.includes("*")) return ["ptr", "buf"];
  const scalar: Record<string, NativeType[]> = {
    void: ["void"],
    int: ["i32"],
    int32_t: ["i32"],
    unsigned: ["u32"],
    "unsigned int": ["u32"],
    uint32_t: ["u32"],
    double: ["f64"],
    size_t: ["usize"],
    ssize_t: ["isize"],
    long: ["isize"],
  };
  return scalar[t] ?? [];
}

/** Prototypes of the exported functions: name → [result type, argument types]. */
function prototypes(): Map<string, [string, string[]]> {
  const out = new Map<string, [string, string[]]>();
  for (const m of header.matchAll(/^([A-Za-z_][\w\s]*?[\s*]+)(ipcl_\w+)\(([^)]*)\);$/gm)) {
    // each parameter without its name: "const char *path" -> "const char *"
    const args = m[3]!.trim() === "void" ? [] : m[3]!.split(",").map((a) => a.trim().replace(/\s*\w+$/, "").trim());
    out.set(m[2]!, [m[1]!.trim(), args]);
  }
  return out;
}

/** What differs between a symbol table and the C prototypes, one line per problem. */
function mismatches(table: Record<string, NativeFn>, protos: Map<string, [string, string[]]>): string[] {
  const problems: string[] = [];
  for (const [name, fn] of Object.entries(table)) {
    const p = protos.get(name);
    if (!p) {
      problems.push(`${name}: no prototype in ffi/shim/internal.h`);
      continue;
    }
    const [ret, args] = p;
    if (args.length !== fn.args.length) problems.push(`${name}: ${args.length} arguments in C, ${fn.args.length} in the table`);
    args.forEach((a, i) => {
      const word = fn.args[i];
      if (word !== undefined && !wordsFor(a).includes(word)) problems.push(`${name}: argument ${i + 1} is '${a}' in C but '${word}' in the table`);
    });
    if (!wordsFor(ret).includes(fn.returns)) problems.push(`${name}: returns '${ret}' in C but '${fn.returns}' in the table`);
  }
  return problems;
}

// exported for C callers only (the benchmark's C baseline links the shim): not in the table
const cOnly = new Set<string>(["ipcl_ring_may_relax"]);

describe("the shim's prototypes and ffi/libc.ts", () => {
  const protos = prototypes();

  test("the header declares every exported function", () => {
    expect(protos.size).toBeGreaterThan(60);
  });

  test("every table entry has a prototype with the same arguments and result", () => {
    expect(mismatches(shimSymbols, protos)).toEqual([]);
  });

  test("every exported function is in the table (or used from C only)", () => {
    expect([...protos.keys()].filter((n) => !(n in shimSymbols) && !cOnly.has(n))).toEqual([]);
  });

  test("the check itself fails on a planted mismatch (an argument too many, a wrong type, a wrong result)", () => {
    const planted = {
      ...shimSymbols,
      ipcl_reserve: { args: ["i32", "f64", "i32"], returns: "i32" },
      ipcl_futex_wake: { args: ["ptr", "f64"], returns: "i32" },
      ipcl_fs_free: { args: ["buf"], returns: "i32" },
    } as Record<string, NativeFn>;
    expect(mismatches(planted, protos).sort()).toEqual([
      "ipcl_fs_free: returns 'double' in C but 'i32' in the table",
      "ipcl_futex_wake: argument 2 is 'int' in C but 'f64' in the table",
      "ipcl_reserve: 2 arguments in C, 3 in the table",
    ]);
  });
});

checkLeaks(testPrefix("shim"));
