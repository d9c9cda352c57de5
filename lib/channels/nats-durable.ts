/**
 * `?durable=NAME` on the NATS thread: a JetStream stream NAME (work-queue retention, file
 * storage) holding the address's subject, and a durable pull consumer NAME shared by every
 * consumer of the queue. Publishes are JetStream publishes (the server has stored the
 * message when it answers). A consumer fetches a few messages ahead into the caller's ring
 * and acknowledges each once the caller has taken it from the ring (recv handed it over);
 * what the caller never took is given back (nak) when it closes, and what a killed consumer
 * held is delivered again by the server after ackWaitMs. What a live consumer holds is kept
 * from that ("in progress" every ackWaitMs / 3), and a second delivery of a message it holds
 * or has acknowledged is not handed over twice. That is "at least once": a consumer killed between taking
 * a message and its acknowledgement sees the message delivered again.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { Ctl, type NatsOpen, putText } from "./nats-bridge.ts";
import type { Outbox } from "./nats-outbox.ts";

/** How many messages a consumer holds ahead of what its caller has taken. */
const PREFETCH = 64;
/** Publishes awaiting the server's acknowledgement before the next waits for one. */
const IN_FLIGHT = 256;
/** Tries of a JetStream publish (each up to 5 s, with back-off between): a server restart is waited out. */
const PUBLISH_RETRIES = 30;
/** ms a fetch waits at the server for messages before it asks again. */
const FETCH_EXPIRES_MS = 1000;
/** How many of the messages it acknowledged a consumer remembers (by stream sequence), to drop their second deliveries. */
const REMEMBERED_ACKS = 65536;

type Js = typeof import("@nats-io/jetstream");
let jetstreamModule: Promise<Js> | undefined;

/** Stream (and, for consumers, durable consumer) in place: created if missing, the same if there. */
export async function ensureStream(nc: NatsConnection, o: NatsOpen): Promise<JetStreamClient> {
  const js = await (jetstreamModule ??= import("@nats-io/jetstream"));
  const { nanos } = await import("@nats-io/transport-node");
  const name = o.durable!;
  let jsm;
  try {
    jsm = await js.jetstreamManager(nc, { timeout: 5000 });
  } catch (e) {
    throw Object.assign(
      new Error(`the NATS server at ${o.server} has no JetStream (${(e as Error).message}): start it with 'nats-server -js' to use ?durable=`),
      { code: "ENOTSUP" },
    );
  }
  const info = await jsm.streams.info(name).catch(() => undefined);
  if (!info) {
    await jsm.streams.add({ name, subjects: [o.subject], retention: js.RetentionPolicy.Workqueue, storage: js.StorageType.File }).catch(async (e: Error) => {
      if (!(await jsm.streams.info(name).catch(() => undefined))) throw e; // another process made it meanwhile: fine
    });
  } else if (!info.config.subjects?.includes(o.subject)) {
    throw Object.assign(
      new Error(
        `JetStream stream '${name}' holds ${JSON.stringify(info.config.subjects)}, not '${o.subject}': pick another ?durable= name, or remove that stream`,
      ),
      {
        code: "EEXIST",
      },
    );
  }
  if (o.subscribes) {
    const config = { durable_name: name, ack_policy: js.AckPolicy.Explicit, ack_wait: nanos(o.ackWaitMs), max_ack_pending: 4096 };
    const have = await jsm.consumers.info(name, name).catch(() => undefined);
    if (!have) {
      await jsm.consumers.add(name, config).catch(async (e: Error) => {
        if (!(await jsm.consumers.info(name, name).catch(() => undefined))) throw e;
      });
    } else if (have.config.ack_wait !== config.ack_wait) await jsm.consumers.update(name, name, { ack_wait: config.ack_wait });
  }
  return js.jetstream(nc);
}

/** Publishing: pipelined JetStream publishes; a refused one is said at the caller's next send (Ctl.lateError). */
export function publishDurable(js: JetStreamClient, o: NatsOpen) {
  const inFlight = new Set<Promise<unknown>>();
  const control = new Int32Array(o.control);
  const me = `${o.name.replaceAll(" ", "-")}-${Date.now().toString(36)}`;
  let seq = 0;
  return {
    async send(m: Uint8Array): Promise<void> {
      // retried while the server restarts (no responders, timeouts); its id lets the server drop a retry's duplicate
      const p: Promise<unknown> = js.publish(o.subject, m, { msgID: `${me}-${++seq}`, retries: PUBLISH_RETRIES, timeout: 5000 }).catch((e: Error) => {
        putText(o.control, { code: "EIO", message: `the server did not store a message published on ${o.subject}: ${e.message}` });
        Atomics.store(control, Ctl.lateError, 1);
      }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    },
    settled: () => Promise.all(inFlight),
  };
}

/** Wait (off the JS thread) until word `i` is no longer `v`, or `ms` pass. */
async function changed(control: Int32Array, i: number, v: number, ms: number): Promise<void> {
  const r = Atomics.waitAsync(control, i, v, ms);
  if (!r.async) return;
  // a pending waitAsync alone keeps no event loop alive (lib/os/wait.ts keptAlive, not
  // imported here: the NATS thread loads no FFI); the timer outlives the wait's own timeout
  const keepAlive = setTimeout(() => {}, ms + 1000);
  await r.value;
  clearTimeout(keepAlive);
}

/** Consuming: fetch ahead into the caller's ring, acknowledge what it took, give back the rest at stop. */
export function consumeDurable(nc: NatsConnection, o: NatsOpen, out: Outbox) {
  const control = new Int32Array(o.control);
  const held: JsMsg[] = []; // delivered to the ring, not yet acknowledged, in order
  const heldSeqs = new Set<number>(); // their stream sequences
  const ackedSeqs = new Set<number>(); // stream sequences acknowledged here, oldest first
  let acked = 0;
  let delivered = 0;
  let stopped = false;
  let batch: { stop(): void } | undefined;

  const ackTaken = () => {
    const taken = Atomics.load(control, Ctl.taken);
    while (acked < taken && held.length > 0) {
      const m = held.shift()!;
      m.ack();
      acked++;
      heldSeqs.delete(m.seq);
      ackedSeqs.add(m.seq);
      if (ackedSeqs.size > REMEMBERED_ACKS) ackedSeqs.delete(ackedSeqs.values().next().value!);
    }
  };
  const acking = (async () => {
    while (!stopped) {
      const taken = Atomics.load(control, Ctl.taken);
      ackTaken();
      await changed(control, Ctl.taken, taken, 1000);
    }
  })();
  // The server's ack wait runs from delivery, while a fetched message may wait in the ring
  // for a slow caller: "in progress" for what we hold, so that only a consumer that died (or
  // lost its connection) has its messages delivered again, never one that is merely behind.
  const keepHeld = setInterval(() => {
    for (const m of held) m.working();
  }, Math.max(50, Math.floor(o.ackWaitMs / 3)));
  /**
   * A second delivery of a message handed over already. The server's ack wait can run out
   * before it reads our "in progress" or acknowledgement (a paused or starved server), and
   * nats-server 2.9 was seen to deliver a message again as a first delivery (count 1) to the
   * consumer that took over from a SIGKILLed one, after that consumer had its redelivery
   * (test/nats.test.ts). Held: keep the newer delivery, hand it over once. Acknowledged: say
   * so again (the first may be lost) and drop it. A work-queue stream never reuses a
   * sequence number, so no other message is mistaken for one.
   */
  const deliveredBefore = (m: JsMsg): boolean => {
    if (ackedSeqs.has(m.seq)) {
      m.ack();
      return true;
    }
    if (!heldSeqs.has(m.seq)) return false;
    held[held.findIndex((h) => h.seq === m.seq)] = m;
    return true;
  };
  const fetching = (async () => {
    const js = (await jetstreamModule!).jetstream(nc);
    const consumer = await js.consumers.get(o.durable!, o.durable!);
    while (!stopped) {
      const taken = Atomics.load(control, Ctl.taken);
      const room = PREFETCH - (delivered - taken);
      if (room <= 0) {
        await changed(control, Ctl.taken, taken, 1000);
        continue;
      }
      try {
        const msgs = await consumer.fetch({ max_messages: room, expires: FETCH_EXPIRES_MS });
        batch = msgs;
        for await (const m of msgs) {
          if (stopped) {
            m.nak();
            continue;
          }
          if (deliveredBefore(m)) continue;
          held.push(m);
          heldSeqs.add(m.seq);
          delivered++;
          if (!out.deliver(m.data)) stopped = true;
        }
      } catch {
        if (!stopped) await new Promise((r) => setTimeout(r, 250)); // reconnecting: ask again soon
      }
    }
  })();
  return {
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(keepHeld);
      batch?.stop();
      Atomics.notify(control, Ctl.taken);
      await Promise.all([acking, fetching]);
      ackTaken();
      heldSeqs.clear();
      for (const m of held.splice(0)) m.nak(); // never taken: the next consumer gets them now, not after ackWaitMs
    },
  };
}
