/**
 * A program that blocks, for test/stop.test.ts: `SCRIPT HOW ADDRESS [OPTIONS_JSON] [own]`
 * creates ADDRESS (it owns the name), says "ready" and then blocks in one call until a
 * signal comes:
 *   - recv: a sync recv() with no sender;
 *   - recv-timeout: the same with a long timeout;
 *   - send: trySend until the channel is full, then a sync send();
 *   - async: `for await` over the channel;
 *   - accept: listen(ADDRESS).accept();
 *   - sem-wait: a POSIX or System V semaphore's wait().
 * With "own" it has its own handlers for SIGINT, SIGTERM and SIGHUP: it prints what the
 * blocked call threw and that its handler ran, then closes and exits 0. Without, ipc-lab's
 * default applies: names removed, exit 128 + the signal number.
 */
import { type Channel, listen, open, Semaphore, SysvSemaphore } from "../../lib/index.ts";
import { IpcError } from "../../lib/errors.ts";

const [how, address, optionsJson = "{}", own] = process.argv.slice(2) as [string, string, string?, string?];
const options = JSON.parse(optionsJson) as Record<string, unknown>;
let closable: { close(): void } | undefined;

if (own === "own") {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      console.log(`handler ${sig}`);
      closable?.close();
      process.exit(0);
    });
  }
}

function block(): void {
  if (how === "accept") {
    const l = listen(address);
    closable = l;
    console.log("ready");
    l.accept();
    return;
  }
  if (how === "sem-wait") {
    const s = address.startsWith("sysv-sem:") ? new SysvSemaphore(address, { create: true }) : new Semaphore(address, { create: true });
    closable = s;
    console.log("ready");
    s.wait();
    return;
  }
  const ch: Channel = open(address, { create: true, ...options });
  closable = ch;
  if (how === "send") {
    const msg = new Uint8Array(Math.min(1024, ch.caps.maxMessageSize));
    while (ch.trySend(msg)) {
      // fill it up: the next send must wait for room
    }
    console.log("ready");
    ch.send(msg);
  } else {
    console.log("ready");
    ch.recv(how === "recv-timeout" ? { timeout: 600_000 } : undefined);
  }
}

if (how === "async") {
  const ch = open(address, { create: true, ...options });
  closable = ch;
  console.log("ready");
  for await (const _ of ch) console.log("unexpected message");
} else {
  try {
    block();
    console.log("the blocking call returned");
  } catch (e) {
    console.log(`caught ${e instanceof IpcError ? e.code : String(e)}`);
  }
}
// with its own handler the program goes on; the handler ends it
await new Promise((r) => setTimeout(r, 20_000));
console.log("no handler ran");
process.exit(3);
