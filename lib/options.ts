/**
 * Options by name: each scheme lists the options it understands, the compiler checks each
 * list against the scheme's options type (nothing missing, nothing extra), and open()
 * refuses any other option at run time with EINVAL naming it — and the one meant, for a
 * near miss — instead of silently ignoring it.
 */
import { ipcError } from "./errors.ts";

/** Options every scheme accepts: intents that mean nothing where the mechanism has no such thing. */
export interface CommonOptions {
  /** create the named object if missing (this end then owns it and removes the name on close) */
  create?: boolean;
  /** milliseconds to wait for the object (or, for a FIFO with a role, the peer) to appear */
  timeout?: number;
  /** which way this end talks: FIFOs open that direction; elsewhere a hint that changes nothing */
  role?: "reader" | "writer";
}

/** The names of CommonOptions. */
const commonOptionNames: readonly string[] = ["create", "timeout", "role"] satisfies (keyof CommonOptions)[];

/**
 * The option names of T as a run-time list. The type of `names` makes the compiler list any
 * name of T that is missing: `optionNames<MqOptions>()("create", …)`.
 */
export function optionNames<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    ...names: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> })
  ): readonly string[] => names;
}

/** Edit distance between two words: how a mistyped name finds the one meant. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

/** The name among `names` that `word` most likely meant, or undefined when none is close. */
export function nearest(word: string, names: readonly string[]): string | undefined {
  const best = names.map((n) => [n, editDistance(word.toLowerCase(), n.toLowerCase())] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(best[0].length / 3)) ? best[0] : undefined;
}

/** Throw EINVAL for the first option of `options` that `scheme` does not understand. */
export function checkOptionNames(options: unknown, scheme: string, names: readonly string[], address: string): void {
  if (options === null || typeof options !== "object") {
    throw ipcError("EINVAL", "open", address, `options must be an object (got ${options === null ? "null" : typeof options})`);
  }
  for (const key of Object.keys(options)) {
    if (names.includes(key) || commonOptionNames.includes(key)) continue;
    if ((options as Record<string, unknown>)[key] === undefined) continue; // { x: undefined } passes nothing
    const all = [...new Set([...commonOptionNames, ...names])];
    const meant = nearest(key, all);
    throw ipcError(
      "EINVAL",
      "open",
      address,
      `${scheme}: does not understand the option '${key}'${meant ? `; did you mean '${meant}'?` : ""} (its options: ${all.join(", ")})`,
    );
  }
}
