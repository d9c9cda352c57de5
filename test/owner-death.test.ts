/**
 * One side of a queue or semaphore is SIGKILLed while the other uses it. The kernel says
 * nothing, so each side watches the other through the registry of owned names (an opener
 * its creator's pid, a creator the openers' records): what was queued still arrives, then
 * a waiting recv ends with EOF and a send into a full queue with EPIPE — with no timeout
 * given, yet never hanging (each test is bounded).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { scriptCommand, spawnProcess } from "../ffi/process.ts";
import { type Channel, IpcError, open, remove } from "../lib/index.ts";
import { describe, expect, test } from "./support/harness.ts";
import { noteMq, testKey, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { lineReader } from "./support/lines.ts";
import { processAlive } from "../lib/names/peer-watch.ts";

const prefix = testPrefix("owner");
const script = join(dirname(fileURLToPath(import.meta.url)), "support", "owner.ts");
let serial = 0;

/**
 * `limit`: the timeout a sync wait needs to be watched. System V calls cannot wait in the
 * kernel for a limited time, so a wait without one blocks in msgrcv and is not watched;
 * a long limit makes it poll, and then the creator's death ends it long before the limit.
 */
const kinds: { name: string; address: () => string; queue: boolean; limit?: number }[] = [
  { name: "mq", address: () => noteMq(`mq:/${prefix}${++serial}`), queue: true },
  { name: "sysv-mq", address: () => `sysv-mq:${testKey()}`, queue: true, limit: 60_000 },
  { name: "sem", address: () => `sem:/${prefix}${++serial}`, queue: false },
];

/**
 * Start a peer process that creates `address` ("create": we open it) or opens the one we
 * create ("open"), and queues `n` messages; `kill` SIGKILLs it.
 */
async function withPeer(
  address: string,
  n: number,
  peerDoes: "create" | "open",
  body: (ch: Channel, kill: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const ours = peerDoes === "open" ? open(address, { create: true }) : undefined;
  const peer = track(spawnProcess(scriptCommand(script, [address, String(n), peerDoes]), { stdio: ["ignore", "pipe", "inherit"] }));
  const ch = ours ?? open(address, { timeout: 10_000 });
  try {
    expect(await lineReader(peer.stdout!).line()).toBe("ready");
    await body(ch, async () => {
      peer.kill(9);
      expect(await peer.exited).toBe(128 + 9);
    });
  } finally {
    ch.close();
    peer.kill(9);
    await peer.exited;
    if (peerDoes === "create") remove(address); // what a killed creator leaves, as `ipc-lab gc` would
  }
}

/** The error `op` ends with, and how long it took (ms). */
async function failure(op: () => unknown): Promise<{ err: IpcError; ms: number }> {
  const t0 = performance.now();
  try {
    await op();
  } catch (e) {
    if (!(e instanceof IpcError)) throw e;
    return { err: e, ms: performance.now() - t0 };
  }
  throw new Error("expected an IpcError");
}

/** Who dies: the peer that created the object (we opened it), or the one that opened ours. */
const sides = [
  { peerDoes: "create", title: "a creator that dies", whom: "the creator of" },
  { peerDoes: "open", title: "an opener that dies (the creator watches the openers recorded in the registry)", whom: "every process that opened" },
] as const;

for (const side of sides) {
  describe(side.title, () => {
    for (const k of kinds) {
      const limit = k.limit ? "60 s timeout" : "no timeout";
      test(`${k.name}: what was queued arrives, then recv (${limit}) ends with EOF`, () =>
        withPeer(k.address(), 2, side.peerDoes, async (ch, kill) => {
          await kill();
          for (let i = 0; i < 2; i++) {
            const m = ch.recv({ timeout: k.limit });
            if (k.queue) expect(new TextDecoder().decode(m)).toBe(`message ${i}`);
          }
          const { err, ms } = await failure(() => ch.recv({ timeout: k.limit }));
          expect(err.code).toBe("EOF");
          expect(err.message).toContain(`${side.whom} ${ch.address}`);
          expect(err.message).toContain("has exited");
          expect(ms).toBeLessThan(5_000);
        }));

      test(`${k.name}: a pending recvAsync ends with EOF`, () =>
        withPeer(k.address(), 0, side.peerDoes, async (ch, kill) => {
          const pending = failure(() => ch.recvAsync());
          await kill();
          const { err, ms } = await pending;
          expect(err.code).toBe("EOF");
          expect(ms).toBeLessThan(5_000);
        }));

      test.skipIf(!k.queue)(`${k.name}: send into a full queue (${limit}) ends with EPIPE`, () =>
        withPeer(k.address(), 0, side.peerDoes, async (ch, kill) => {
          while (ch.trySend("x".repeat(64)));
          await kill();
          const { err, ms } = await failure(() => ch.send("one more", { timeout: k.limit }));
          expect(err.code).toBe("EPIPE");
          expect(err.message).toContain("no one will take this message");
          expect(ms).toBeLessThan(5_000);
        }));
    }
  });
}

test("a creator that goes on after its openers died waits again, and hears from a new opener", () =>
  withPeer(noteMq(`mq:/${prefix}${++serial}`), 0, "open", async (ch, kill) => {
    await kill();
    expect((await failure(() => ch.recv())).err.code).toBe("EOF");
    // the dead opener's record is gone with that EOF: the next wait is an ordinary one
    expect((await failure(() => ch.recv({ timeout: 300 }))).err.code).toBe("ETIMEDOUT");
    const next = track(spawnProcess(scriptCommand(script, [ch.address, "1", "open"]), { stdio: ["ignore", "pipe", "inherit"] }));
    expect(new TextDecoder().decode(ch.recv({ timeout: 10_000 }))).toBe("message 0");
    next.kill(9);
    await next.exited;
  }));

test("an opener that exits normally, even without close(), is not taken for dead", async () => {
  const address = noteMq(`mq:/${prefix}${++serial}`);
  const ch = open(address, { create: true });
  try {
    const child = track(spawnProcess(scriptCommand(script, [address, "1", "open", "exit"]), { stdio: ["ignore", "pipe", "inherit"] }));
    expect(await child.exited).toBe(0);
    expect(new TextDecoder().decode(ch.recv({ timeout: 10_000 }))).toBe("message 0");
    expect((await failure(() => ch.recv({ timeout: 300 }))).err.code).toBe("ETIMEDOUT");
  } finally {
    ch.close();
  }
});

test("a creator with no opener recorded just times out on its own empty queue", () => {
  const address = noteMq(`mq:/${prefix}${++serial}`);
  const ch = open(address, { create: true });
  try {
    expect(() => ch.recv({ timeout: 150 })).toThrow(/timed out/);
  } finally {
    ch.close();
  }
});

test("a process that has exited counts as gone even before its parent reaps it (a zombie)", async () => {
  // perl (Debian's perl-base is essential) never waits for its child, which stays a zombie
  // until perl ends (a shell may reap a quick background job before it execs anything)
  const parent = track(spawnProcess(["perl", "-e", '$| = 1; my $p = fork(); exit 0 if $p == 0; print "$p\\n"; sleep 30'], {
    stdio: ["ignore", "pipe", "ignore"],
  }));
  try {
    const zombie = Number(await lineReader(parent.stdout!).line());
    const state = () => {
      const stat = readFileSync(`/proc/${zombie}/stat`, "latin1");
      return stat[stat.lastIndexOf(")") + 2];
    };
    const t0 = performance.now();
    while (state() !== "Z" && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 5));
    expect(state()).toBe("Z");
    expect(processAlive(zombie)).toBe(false); // kill(pid, 0) alone still finds it
    expect(processAlive(parent.pid)).toBe(true);
  } finally {
    parent.kill("SIGKILL");
    await parent.exited;
  }
});

checkLeaks(prefix);
