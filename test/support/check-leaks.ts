/**
 * The one leak check every test file ends with (kept apart from ./leaks.ts, which scripts
 * outside the test runners use too).
 */
import { expect, test } from "./harness.ts";
import { leftovers } from "./leaks.ts";

/**
 * The leak check of a test file: call it once, at the end of the file. It registers a last
 * test, "leaves nothing behind", that fails (on Bun and on Deno alike) when `leftovers`
 * finds anything. On Deno a failing after() hook is ignored, hence a test, not a hook.
 */
export function checkLeaks(prefix: string, dirs: string[] = [], before?: () => void | Promise<void>): void {
  test("leaves nothing behind", async () => {
    await before?.(); // a file's own clean-up of what it made on purpose outside its prefix
    expect(await leftovers(prefix, dirs, true)).toEqual([]);
  });
}
