/**
 * `ipc-lab ls` lists the named objects ipc-lab created (from the registry, with the owner's
 * pid and whether it is alive) and stray /dev/shm entries; `ipc-lab gc` removes the ones
 * whose owner is dead.
 */
import { readdirSync } from "node:fs";
import { entries, forgetDeadOpeners, registryDir } from "../lib/names/registry.ts";
import { remove } from "../lib/remove.ts";
import { EXIT, parse, runCommand } from "./args.ts";

/** Usage text of ls and gc. */
const namesUsage = `usage: ipc-lab ls [--json]     named objects ipc-lab created, their owners, and stray /dev/shm entries
       ipc-lab gc [--dry-run] remove the objects whose owner process is dead
`;

/** /dev/shm entries no live registry record accounts for. */
function strays(known: Set<string>): string[] {
  try {
    return readdirSync("/dev/shm")
      .map((f) => (f.startsWith("sem.") ? `sem:/${f.slice(4)}` : `shm:/${f}`))
      .filter((a) => !known.has(a));
  } catch {
    return [];
  }
}

/** `ipc-lab ls`. */
export function ls(argv: string[]): Promise<number> {
  return runCommand("ls", namesUsage, () => {
    const { values } = parse(argv, { json: { type: "boolean" } });
    const list = entries();
    const stray = strays(new Set(list.map((e) => e.address)));
    if (values.json) {
      process.stdout.write(JSON.stringify({ registry: registryDir(), objects: list, strays: stray }, null, 2) + "\n");
      return EXIT.ok;
    }
    if (list.length === 0) process.stdout.write(`no objects registered (${registryDir()})\n`);
    for (const e of list) {
      process.stdout.write(`${e.address.padEnd(48)} pid ${String(e.pid).padEnd(8)} ${e.alive ? "alive" : "DEAD (ipc-lab gc removes it)"}\n`);
    }
    if (stray.length) process.stdout.write(`\nin /dev/shm, not created by a registered ipc-lab owner:\n${stray.map((s) => `  ${s}`).join("\n")}\n`);
    return EXIT.ok;
  });
}

/** `ipc-lab gc`. */
export function gc(argv: string[]): Promise<number> {
  return runCommand("gc", namesUsage, () => {
    const { values } = parse(argv, { "dry-run": { type: "boolean" } });
    let removed = 0;
    for (const e of entries().filter((x) => !x.alive)) {
      const what = values["dry-run"] ? "would remove" : remove(e.address) ? "removed" : "already gone:";
      process.stdout.write(`${what} ${e.address} (owner pid ${e.pid} is dead)\n`);
      removed++;
    }
    if (removed === 0) process.stdout.write("nothing to collect: every registered owner is alive\n");
    // the records of openers that died (they tell creators who is still there) go too
    if (!values["dry-run"]) forgetDeadOpeners();
    return EXIT.ok;
  });
}
