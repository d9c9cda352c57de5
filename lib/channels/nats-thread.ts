/**
 * The NATS thread: a Worker that holds the official NATS client (@nats-io/transport-node,
 * loaded here and only here) for every nats channel of its process. A channel on the
 * caller's thread and its connection here share a SharedArrayBuffer ring (lib/ring/): what
 * the caller sends comes out here and is published; what the subscription receives goes
 * into the ring for the caller. So the caller's synchronous calls block on the ring, not on
 * the event loop the client needs, and every Channel call works on a nats address.
 *
 * Per role (nats-bridge.ts): a plain channel publishes and subscribes (noEcho: it never
 * hears itself); "listen" turns each request into a turn frame (lib/link/wire.ts) and each
 * reply frame into a publish to that request's reply subject; "connect" does the reverse.
 * Turn headers never leave this process: on the wire there is only NATS.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { NatsConnection } from "@nats-io/transport-node";
import { Ctl, type NatsOpen, putText, setState, State } from "./nats-bridge.ts";
import { consumeDurable, ensureStream, publishDurable } from "./nats-durable.ts";
import { Outbox } from "./nats-outbox.ts";
import { answerRequests, sendRequests } from "./nats-conversation.ts";

type Client = typeof import("@nats-io/transport-node");
let client: Promise<Client> | undefined;

parentPort?.on("message", (o: NatsOpen) => void run(o));
// tell the starting thread we are up (it waits, so that it knows which descriptors are ours)
const hello = (workerData as { hello?: SharedArrayBuffer } | null)?.hello;
if (hello) {
  Atomics.store(new Int32Array(hello), 0, 1);
  Atomics.notify(new Int32Array(hello), 0);
}

async function run(o: NatsOpen): Promise<void> {
  const control = new Int32Array(o.control);
  let nc: NatsConnection;
  let out: Outbox;
  try {
    out = new Outbox(o);
    const nats = await (client ??= import("@nats-io/transport-node"));
    nc = await nats.connect({
      servers: o.server,
      name: o.name,
      noEcho: o.role === "channel",
      timeout: o.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    putText(o.control, {
      code: "ECONNREFUSED",
      message:
        `no NATS server answers at ${o.server} (${why}): start one with 'nats-server -js' (Debian: apt-get install nats-server), or point NATS_URL or the address at yours`,
    });
    setState(o.control, State.FAILED);
    return;
  }
  void countReconnects(nc, control);
  try {
    await start(o, nc, out);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    putText(o.control, { code: typeof code === "string" && /^E[A-Z]+$/.test(code) ? code : "EPROTO", message: e instanceof Error ? e.message : String(e) });
    setState(o.control, State.FAILED);
    await nc.close().catch(() => {});
    out.ring.close();
  }
}

async function countReconnects(nc: NatsConnection, control: Int32Array): Promise<void> {
  for await (const s of nc.status()) if (s.type === "reconnect") Atomics.add(control, Ctl.reconnects, 1);
}

/** Subscribe as the role says, say OPEN, then publish what the caller sends until it closes; then flush and let go. */
async function start(o: NatsOpen, nc: NatsConnection, out: Outbox): Promise<void> {
  const nats = await client!;
  Atomics.store(new Int32Array(o.control), Ctl.maxPayload, nc.info?.max_payload ?? 1 << 20);
  let pump: (m: Uint8Array) => void | Promise<void>;
  let finish = async () => {};
  if (o.durable !== undefined) {
    const js = await ensureStream(nc, o);
    const consuming = o.subscribes ? consumeDurable(nc, o, out) : undefined;
    const publish = publishDurable(js, o);
    pump = publish.send;
    finish = async () => {
      await publish.settled();
      await consuming?.stop();
    };
  } else if (o.role === "listen") {
    pump = answerRequests(nc, o, out, nats.headers).pump;
  } else if (o.role === "connect") {
    pump = sendRequests(nc, o, out, nats.createInbox()).pump;
  } else {
    if (o.subscribes) nc.subscribe(o.subject, { queue: o.queue, callback: (_e, m) => void out.deliver(m.data) });
    pump = (m) => nc.publish(o.subject, m);
  }
  await nc.flush(); // the server has our subscriptions before the caller is told we are open
  setState(o.control, State.OPEN);
  await out.pump(pump);
  await finish();
  await nc.flush().catch(() => {});
  await nc.close().catch(() => {});
  out.ring.close();
  setState(o.control, State.CLOSED);
}
