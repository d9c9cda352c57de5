/**
 * A participant of test/topic.test.ts. One role per run:
 *   sub TOPIC N [slow|patient]  subscribe, print "ready", receive N messages (slow: 1 ms
 *                       apart, for drop-oldest; patient: sleeping in 60 s slices, so that a
 *                       wake-up lost is a receive that times out, and pausing now and then,
 *                       so that publishers wait for room), check each is whole and each
 *                       publisher's in order
 *   stall TOPIC         subscribe, print "ready", never read (until killed)
 *   pub TOPIC N ID [bursts|batches]  publish N messages as publisher ID, print a report
 *                       (bursts: a few messages at a time, up to 1 ms apart, so that
 *                       subscribers sleep often; waiting for room in 60 s slices, as patient
 *                       subscribers. batches: sendMany, 1 to 100 messages a call)
 *   pub-forever TOPIC ID  publish until killed (to be SIGKILLed mid-message)
 *   consume QUEUE [print|batch]  take messages from an shm-queue: until a stop message
 *                       (id 0xffff), then report every [id, index] taken (print: also one
 *                       line per message as it comes, for a consumer about to be killed;
 *                       batch: with tryRecvManyInto, waiting for one with recv when none is there)
 * Messages: u32 publisher id, u32 index, then bytes that depend on both (topicMessage).
 */
import { open } from "../../lib/index.ts";
import { sleepSync } from "../../ffi/process.ts";
import type { TopicChannel } from "../../lib/channels/topic.ts";
import { checkTopicMessage, topicMessage } from "./topic-messages.ts";

const [role, address, a, b] = process.argv.slice(2) as [string, string, string?, string?];
const out = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");

if (role === "sub" || role === "stall") {
  const ch = open(address, { role: "reader", ...(b === "patient" ? { peerCheckMs: 60_000 } : {}) }) as TopicChannel;
  out({ ready: true });
  if (role === "stall") setInterval(() => {}, 1000);
  else {
    const n = Number(a);
    const last = new Map<number, number>();
    let bad = 0, received = 0, outOfOrder = 0;
    while (received < n) {
      const m = ch.recv({ timeout: 30_000 });
      received++;
      const who = checkTopicMessage(m);
      if (!who) bad++;
      else {
        if ((last.get(who.id) ?? -1) >= who.i) outOfOrder++;
        last.set(who.id, who.i);
      }
      if (b === "slow") await new Promise((r) => setTimeout(r, 1));
      if (b === "patient" && Math.random() < 0.02) sleepSync(Math.random() * 2);
      if (b === "slow" && ch.missed + received >= n) break; // what was lost will not come
    }
    out({ received, bad, outOfOrder, missed: ch.missed });
    ch.close();
  }
} else if (role === "consume") {
  const q = open(address, { role: "reader" });
  out({ ready: true });
  const got: [number, number][] = [];
  const batch = new Uint8Array(1 << 16), lengths = new Uint32Array(16);
  const taken: Uint8Array[] = [];
  for (;;) {
    if (a === "batch" && taken.length === 0) {
      for (let k = 0, n = q.tryRecvManyInto(batch, lengths), at = 0; k < n; at += lengths[k++]!) taken.push(batch.slice(at, at + lengths[k]!));
    }
    const who = checkTopicMessage(taken.shift() ?? q.recv({ timeout: 30_000 }));
    if (!who) throw new Error("a torn message");
    if (who.id === 0xffff) break;
    got.push([who.id, who.i]);
    if (a === "print") out({ took: [who.id, who.i] });
  }
  out({ got });
  q.close();
} else if (role === "pub" || role === "pub-forever") {
  const bursts = process.argv[6] === "bursts";
  const ch = open(address, { role: "writer", ...(bursts ? { peerCheckMs: 60_000 } : {}) });
  const id = Number(role === "pub" ? b : a);
  const n = role === "pub" ? Number(a) : Infinity;
  for (let i = 0; i < n;) {
    if (process.argv[6] === "batches") {
      const k = Math.min(n - i, 1 + Math.floor(Math.random() * 100));
      ch.sendMany(Array.from({ length: k }, (_, j) => topicMessage(id, i + j)), { timeout: 30_000 });
      i += k;
      continue;
    }
    ch.send(topicMessage(id, i++), { timeout: 30_000 });
    if (bursts && Math.random() < 0.5) sleepSync(Math.random());
  }
  out({ sent: n });
  ch.close();
} else throw new Error(`unknown role ${role}`);
