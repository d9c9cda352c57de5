/**
 * A program that uses asynchronous waits and then simply ends (used by
 * test/async-exit.test.ts): `SCRIPT ADDRESS [futex|semaphore]` opens both ends of ADDRESS
 * in this process (a ring waits as told), completes one recvAsync, lets one time out, and
 * leaves one pending until close() ends it; then it closes everything and returns. It
 * prints "done" as its last act: the test checks that the process then exits by itself —
 * no waiter thread, nonblocking FFI call or cancel pipe may keep a finished program alive.
 */
import { open } from "../../lib/index.ts";

const [address, wait] = process.argv.slice(2) as [string, "futex" | "semaphore" | undefined];
const a = open(address, { create: true, wait });
const b = open(a.address, { role: "reader", wait });

// 1. a wait that completes
setTimeout(() => a.send(new Uint8Array(a.caps.maxMessageSize >= 8 ? 8 : 0).fill(1)), 20);
await b.recvAsync({ timeout: 10_000 });
// 2. a wait that times out
await b.recvAsync({ timeout: 50 }).then(
  () => Promise.reject(new Error("expected a timeout")),
  (e: Error) => {
    if (!/timed out/.test(e.message)) throw e;
  },
);
// 3. a wait that close() ends
const pending = b.recvAsync();
setTimeout(() => b.close(), 20);
await pending.then(
  () => Promise.reject(new Error("expected close() to end the wait")),
  (e: Error) => {
    if (!/clos/.test(e.message)) throw e;
  },
);
a.close();
console.log("done");
