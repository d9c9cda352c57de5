/**
 * shm-queue: beyond the conformance suite — producers and consumers in separate processes
 * (both runtimes, mixed): every message taken exactly once, each producer's in order; a
 * consumer SIGKILLed meanwhile costs at most the message it held; the name's lifetime.
 */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RuntimeName } from "../ffi/process.ts";
import { open, remove } from "../lib/index.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { noteProbe, testPrefix } from "./support/leaks.ts";
import { otherRuntime, participant } from "./support/participants.ts";
import { peerRuntime } from "./support/runtimes.ts";
import { topicMessage } from "./support/topic-messages.ts";

const prefix = testPrefix("wq");
let serial = 0;
const file = (address: string) => `/dev/shm/shm-queue.${address.slice("shm-queue:/".length)}`;
function fresh(): string {
  const address = `shm-queue:/${prefix}${++serial}`;
  noteProbe(address, () => existsSync(file(address)), () => void remove(address));
  return address;
}
const peerScript = fileURLToPath(new URL("./support/topic-peer.ts", import.meta.url));
const peer = (args: string[], on: RuntimeName) => participant(peerScript, args, on);
const other = otherRuntime;

/** Every [id, i] taken by the consumers: each exactly once, each consumer's in per-producer order. */
function checkTaken(takes: [number, number][][], producers: number[], perProducer: number, missingAtMost = 0): void {
  const seen = new Set<string>();
  for (const got of takes) {
    const last = new Map<number, number>();
    for (const [id, i] of got) {
      expect(seen.has(`${id}:${i}`)).toBe(false); // exactly once
      seen.add(`${id}:${i}`);
      expect(i).toBeGreaterThan(last.get(id) ?? -1); // in that producer's order
      last.set(id, i);
    }
  }
  const all = producers.length * perProducer;
  expect(seen.size).toBeGreaterThanOrEqual(all - missingAtMost);
  expect(seen.size).toBeLessThanOrEqual(all);
}

describe("shm-queue", () => {
  test("2 producers × 5000 reach 3 consumers (Bun and Deno, one taking batches): each message exactly once, each producer's in order", async () => {
    const address = fresh();
    using q = open(address, { role: "writer", capacity: 65536 });
    const consumers = [peer(["consume", address], peerRuntime()), peer(["consume", address], other), peer(["consume", address, "batch"], peerRuntime())];
    for (const c of consumers) expect(JSON.parse(await c.line())).toEqual({ ready: true });
    const producers = [peer(["pub", address, "5000", "1"], peerRuntime()), peer(["pub", address, "5000", "2"], other)];
    for (const p of producers) expect((await p.lines()).pop()).toEqual({ sent: 5000 });
    for (let k = 0; k < consumers.length; k++) q.send(topicMessage(0xffff, k)); // one stop each
    const takes = await Promise.all(consumers.map(async (c) => (await c.lines()).pop()!.got as [number, number][]));
    checkTaken(takes, [1, 2], 5000);
    expect(takes.filter((t) => t.length > 0).length).toBeGreaterThan(1); // the work was shared
  }, 60_000);

  test("a consumer SIGKILLed while taking costs at most the one message it held; the queue goes on", async () => {
    const address = fresh();
    using q = open(address, { capacity: 16384 });
    const victim = peer(["consume", address, "print"], peerRuntime());
    const survivor = peer(["consume", address], other);
    for (const c of [victim, survivor]) expect(JSON.parse(await c.line())).toEqual({ ready: true });
    for (let i = 0; i < 3000; i++) {
      await q.sendAsync(topicMessage(5, i), { timeout: 20_000 });
      if (i === 1000) victim.child.kill("SIGKILL");
    }
    q.send(topicMessage(0xffff, 0));
    const victimTook = (await victim.lines()).filter((l) => l.took).map((l) => l.took as [number, number]);
    const survivorTook = (await survivor.lines()).pop()!.got as [number, number][];
    checkTaken([victimTook, survivorTook], [5], 3000, 1);
    expect(q.tryRecv()).toBeUndefined(); // nothing stuck in it
  }, 60_000);

  test("either side first; producers wait while it is full; the last one out removes the name", () => {
    const address = fresh();
    const consumer = open(address, { role: "reader", capacity: 4096 });
    const producer = open(address, { role: "writer" });
    let n = 0;
    while (producer.trySend(new Uint8Array(100))) n++;
    expect(n).toBe(Math.floor(4096 / 112));
    expectIpcError(() => producer.send(new Uint8Array(100), { timeout: 20 }), "ETIMEDOUT");
    for (let i = 0; i < n; i++) expect(consumer.recv({ timeout: 100 }).byteLength).toBe(100);
    expectIpcError(() => open(address, { capacity: 8192 }), "EINVAL"); // created with 4096
    consumer.close();
    expect(existsSync(file(address))).toBe(true);
    producer.close();
    expect(existsSync(file(address))).toBe(false);
  });
});

checkLeaks(prefix);
