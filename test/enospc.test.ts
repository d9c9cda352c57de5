/**
 * A full /dev/shm never crashes a process (docs/limits.md): shared memory reserves its pages
 * when it is created, so a ring or region larger than the space left is refused with
 * IpcError ENOSPC — saying how much was asked, how much is left and which option makes it
 * smaller — instead of a SIGBUS in whichever process first writes an unbacked page. Runs
 * the program in a private mount namespace (`unshare -m`, root) with a 1 MiB tmpfs on
 * /dev/shm; skipped with the reason printed where that is not allowed. Both runtimes.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtime, scriptCommand } from "../ffi/process.ts";
import { describe, expect, test } from "./support/harness.ts";
import { testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { runSync } from "./support/run-sync.ts";

const prefix = testPrefix("nospc");
const program = join(dirname(fileURLToPath(import.meta.url)), "support", "enospc-program.ts");

function canUnshare(): string | undefined {
  const r = runSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /dev/shm && df -k /dev/shm"]);
  return r.status === 0 ? undefined : `unshare -m with a tmpfs mount is not allowed here (${(r.stderr || String(r.error)).trim()})`;
}
const why = canUnshare();
if (why) console.log(`  skipping the full-/dev/shm test: ${why}`);

describe(`a full /dev/shm is an error, never a crash (${runtime})`, () => {
  test.skipIf(why !== undefined)("rings and regions larger than the space left are refused with ENOSPC", () => {
    const cmd = scriptCommand(program, [prefix]).map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const r = runSync("unshare", ["-m", "sh", "-c", `mount -t tmpfs -o size=1m tmpfs /dev/shm && exec ${cmd}`]);
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: "" });
    const results = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { what: string; ok?: boolean; code?: string; message?: string });
    const by = (w: string) => results.find((x) => x.what.startsWith(w))!;
    for (const w of ["ring of 2 MiB", "SharedMemory of 4 MiB", "a second ring"]) {
      expect(by(w).code).toBe("ENOSPC");
      expect(by(w).message).toMatch(/cannot reserve [\d.]+ MiB of shared memory: \/dev\/shm has [\d.]+ MiB left \(`df -h \/dev\/shm`\)/);
    }
    expect(by("ring of 2 MiB").message).toContain("smaller capacity");
    expect(by("SharedMemory of 4 MiB").message).toContain("smaller size");
    expect(by("ring of 256 KiB").ok).toBe(true);
  });
});

checkLeaks(prefix);
