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
import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { readTurn, Turn, turnFrame } from "../link/wire.ts";
import { Ctl, type NatsOpen, putText, setState, State } from "./nats-bridge.ts";
import { consumeDurable, ensureStream, publishDurable } from "./nats-durable.ts";
import { Outbox } from "./nats-outbox.ts";

/** The header a failed handler's reply carries (the NATS services convention), with its message. */
export const SERVICE_ERROR = "Nats-Service-Error";

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
    pump = listen(nc, o, out, nats.headers);
  } else if (o.role === "connect") {
    pump = connectTo(nc, o, out, nats.createInbox());
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

/** serve: each request (one with a reply subject) becomes a turn frame; each reply frame goes to its request's inbox. */
function listen(nc: NatsConnection, o: NatsOpen, out: Outbox, headers: (code?: number, description?: string) => MsgHdrs) {
  const inboxes = new Map<number, string>();
  let next = 0;
  nc.subscribe(o.subject, {
    queue: o.queue,
    callback: (_e, m: Msg) => {
      if (!m.reply) return; // a plain publish asks nothing
      next = (next % 0xffffffff) + 1;
      inboxes.set(next, m.reply);
      out.deliver(turnFrame(Turn.REQUEST, next, m.data));
    },
  });
  return (frame: Uint8Array) => {
    const turn = readTurn(frame);
    if (!turn) return;
    const inbox = inboxes.get(turn.id);
    if (inbox === undefined) return;
    inboxes.delete(turn.id);
    if (turn.kind === Turn.FAILED) {
      const h = headers();
      h.set(SERVICE_ERROR, new TextDecoder().decode(turn.payload).replace(/[\r\n]+/g, " "));
      nc.publish(inbox, turn.payload, { headers: h });
    } else nc.publish(inbox, turn.payload);
  };
}

/** request: each turn frame becomes a request to the subject with a reply subject of ours that names its turn. */
function connectTo(nc: NatsConnection, o: NatsOpen, out: Outbox, inbox: string) {
  nc.subscribe(`${inbox}.*`, {
    callback: (_e, m: Msg) => {
      const id = Number(m.subject.slice(inbox.length + 1));
      if (!(id > 0)) return;
      const h = m.headers;
      if (h?.code === 503) {
        const why = `nothing serves '${o.subject}' on ${o.server} (NATS: no responders): start a server there, e.g. ipc-lab serve nats://…/${o.subject} -- CMD`;
        out.deliver(turnFrame(Turn.UNANSWERED, id, new TextEncoder().encode(why)));
      } else if (h?.has(SERVICE_ERROR)) {
        out.deliver(turnFrame(Turn.FAILED, id, new TextEncoder().encode(h.get(SERVICE_ERROR) || "the responder failed")));
      } else out.deliver(turnFrame(Turn.REPLY, id, m.data));
    },
  });
  return (frame: Uint8Array) => {
    const turn = readTurn(frame);
    if (turn?.kind === Turn.REQUEST) nc.publish(o.subject, turn.payload, { reply: `${inbox}.${turn.id}` });
  };
}
