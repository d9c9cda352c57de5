/**
 * expect() for the suites that also run under Deno: the bun:test matchers they use, with
 * the same meaning, over node:assert's AssertionError and node:util's deep equality.
 */
import { AssertionError } from "node:assert";
import { inspect, isDeepStrictEqual } from "node:util";

type Check = (actual: unknown) => [ok: boolean, what: string];

function matchesSubset(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== "object" || expected === null) return isDeepStrictEqual(actual, expected);
  if (typeof actual !== "object" || actual === null) return false;
  return Object.entries(expected).every(([k, v]) => matchesSubset((actual as Record<string, unknown>)[k], v));
}

function thrownMatches(e: unknown, expected: unknown): boolean {
  if (expected === undefined) return true;
  const message = e instanceof Error ? e.message : String(e);
  if (typeof expected === "string") return message.includes(expected);
  if (expected instanceof RegExp) return expected.test(message);
  if (typeof expected === "function") return e instanceof expected;
  return false;
}

const show = (v: unknown) => inspect(v, { depth: 4, maxStringLength: 200 });

function matchers(actual: unknown, negate: boolean) {
  const run = (check: Check) => {
    const [ok, what] = check(actual);
    if (ok === negate) throw new AssertionError({ message: `expected ${show(actual)} ${negate ? "not " : ""}${what}` });
  };
  return {
    toBe: (v: unknown) => run((a) => [Object.is(a, v), `to be ${show(v)}`]),
    toEqual: (v: unknown) => run((a) => [isDeepStrictEqual(a, v), `to equal ${show(v)}`]),
    toMatchObject: (v: unknown) => run((a) => [matchesSubset(a, v), `to match ${show(v)}`]),
    toBeTrue: () => run((a) => [a === true, "to be true"]),
    toBeFalse: () => run((a) => [a === false, "to be false"]),
    toBeUndefined: () => run((a) => [a === undefined, "to be undefined"]),
    toBeDefined: () => run((a) => [a !== undefined, "to be defined"]),
    toBeInstanceOf: (c: new (...a: never[]) => unknown) => run((a) => [a instanceof c, `to be an instance of ${c.name}`]),
    toBeGreaterThan: (n: number | bigint) => run((a) => [(a as number) > n, `to be > ${n}`]),
    toBeGreaterThanOrEqual: (n: number | bigint) => run((a) => [(a as number) >= n, `to be >= ${n}`]),
    toBeLessThan: (n: number | bigint) => run((a) => [(a as number) < n, `to be < ${n}`]),
    toBeLessThanOrEqual: (n: number | bigint) => run((a) => [(a as number) <= n, `to be <= ${n}`]),
    toContain: (v: unknown) =>
      run((a) => [typeof a === "string" ? a.includes(String(v)) : Array.isArray(a) && a.some((x) => Object.is(x, v)), `to contain ${show(v)}`]),
    toStartWith: (prefix: string) => run((a) => [typeof a === "string" && a.startsWith(prefix), `to start with ${show(prefix)}`]),
    toMatch: (re: RegExp | string) => run((a) => [typeof a === "string" && (typeof re === "string" ? a.includes(re) : re.test(a)), `to match ${re}`]),
    toThrow: (expected?: unknown) =>
      run((fn) => {
        try {
          (fn as () => unknown)();
        } catch (e) {
          return [thrownMatches(e, expected), `to throw ${expected === undefined ? "" : show(expected)} (threw ${show(e)})`];
        }
        return [false, "to throw"];
      }),
  };
}

/** expect(actual).matcher(...), .not.matcher(...), and await expect(promise).rejects.toThrow(...). */
export function expect(actual: unknown) {
  return {
    ...matchers(actual, false),
    not: matchers(actual, true),
    rejects: {
      async toThrow(expected?: unknown): Promise<void> {
        try {
          await actual;
        } catch (e) {
          if (!thrownMatches(e, expected)) throw new AssertionError({ message: `expected a rejection matching ${show(expected)}, got ${show(e)}` });
          return;
        }
        throw new AssertionError({ message: "expected the promise to reject" });
      },
    },
  };
}
