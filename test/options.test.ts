/**
 * Options by scheme: open() refuses an option its scheme does not understand — at compile
 * time for a literal address (the `@ts-expect-error` lines below fail `tsc` in `npm test`
 * if they ever compile), and at run time with EINVAL naming the option and the one meant.
 * Both runtimes.
 */
import { open } from "../lib/index.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { describe, expect, test } from "./support/harness.ts";
import { noteMq, testPrefix } from "./support/leaks.ts";

const prefix = testPrefix("opts");

/** Calls that must not compile: each is checked by tsc, never run. */
export function mustNotCompile(): void {
  // @ts-expect-error a ring's wait strategy means nothing to a queue
  open("mq:/x", { wait: "semaphore" });
  // @ts-expect-error popen's direction is not a queue's
  open("mq:/x", { type: "r" });
  // @ts-expect-error a misspelt option
  open("shm:/x", { capacty: 4096 });
}

describe("options by scheme", () => {
  test("an option of another mechanism is EINVAL, naming it and the scheme's own", () => {
    const address: string = `mq:/${prefix}1`; // a plain string: only the run-time check can see
    const e = expectIpcError(() => open(address, { create: true, wait: "semaphore" }), "EINVAL");
    expect(e.message).toContain("mq: does not understand the option 'wait'");
    expect(e.message).toContain("its options: create, timeout, role, exclusive, mode, capacity, maxMessageSize");
  });

  test("a near miss names the option meant", () => {
    const address: string = `shm:/${prefix}2`;
    const e = expectIpcError(() => open(address, { create: true, capacty: 4096 } as never), "EINVAL");
    expect(e.message).toContain("does not understand the option 'capacty'; did you mean 'capacity'?");
  });

  test("the common options (create, timeout, role) and undefined values pass everywhere", () => {
    const address = noteMq(`mq:/${prefix}3`);
    using q = open(address, { create: true, role: "reader", timeout: 0, capacity: undefined });
    expect(q.caps.mechanism).toBe("mq");
  });

  test("options that are not an object are refused", () => {
    expectIpcError(() => open(`mq:/${prefix}4`, "fast" as never), "EINVAL");
  });
});

checkLeaks(prefix);
