/**
 * A test that hangs the way the runner's own timeout cannot catch: it awaits once, then
 * blocks the JS thread. test/watchdog.test.ts runs this file with the runner and expects the
 * harness's watchdog to end it, naming the test. Not a test file of its own (no .test.ts).
 */
import { expect, test } from "./harness.ts";

const blockMs = Number(process.env.IPCL_HANG_MS ?? 30_000);

test("blocks synchronously after an await", async () => {
  await new Promise((r) => setTimeout(r, 10));
  const end = Date.now() + blockMs; // bounded, so a broken watchdog still ends
  while (Date.now() < end) {
    // busy: the runner's timer cannot fire
  }
  expect(true).toBe(true);
}, 1_000);
