/**
 * The short form of `npm run soak` inside `npm test`: 50 000 messages of random sizes over
 * every mechanism with both processes pinned to one CPU, every byte checked (the
 * conformance suite already carries 100 000 per mechanism unpinned). The soak script
 * itself checks that nothing is left behind.
 */
import { describe, expect, test } from "./support/harness.ts";
import { join } from "node:path";
import { testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

describe("soak, short form", () => {
  test("50 000 messages per mechanism on one CPU: nothing lost, duplicated, reordered, corrupted or extra", async () => {
    const p = track(
      Bun.spawn([process.execPath, join(import.meta.dirname, "soak.ts"), "--count", "50000", "--placement", "same-cpu"], { stdout: "pipe", stderr: "pipe" }),
    );
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect({
      code: await p.exited,
      err,
      failures: out.split("\n").filter((l) =>
        !l.includes(" 0 lost, 0 duplicated, 0 reordered, 0 corrupted, 0 extra") && !l.startsWith("soak passed") && l !== ""
      ),
    }).toEqual({ code: 0, err: "", failures: [] });
    const rows = out.split("\n").filter((l) => l.includes(" msgs "));
    const runs = Number(/soak passed: (\d+) runs/.exec(out)?.[1]);
    expect(runs).toBeGreaterThanOrEqual(18); // every mechanism of test/support/mechanisms.ts
    expect(rows.length).toBe(runs);
    for (const row of rows) expect(row).toContain("0 lost, 0 duplicated, 0 reordered, 0 corrupted, 0 extra");
  }, 120_000);
});

checkLeaks(testPrefix("soak"));
