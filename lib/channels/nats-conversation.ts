/**
 * Conversations on NATS, for the NATS thread (nats-thread.ts) and for a channel whose client
 * runs on the caller's own event loop (nats-loop.ts): ipc-lab's turn frames (lib/link/wire.ts)
 * on the caller's side, plain NATS request/reply on the wire. "listen" turns each request
 * (a message with a reply subject) into a REQUEST frame and each REPLY or FAILED frame into
 * a publish to that request's reply subject; "connect" sends each REQUEST frame as a NATS
 * request with a reply subject naming its number, and turns the replies — and the server's
 * "no responders" status — back into frames.
 */
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import { readTurn, Turn, turnFrame } from "../link/wire.ts";

/** The header a failed handler's reply carries (the NATS services convention), with its message. */
const SERVICE_ERROR = "Nats-Service-Error";

/** Where frames for the caller go: false once the caller has gone. */
export interface Deliver {
  deliver(data: Uint8Array): boolean;
}

/** A conversation on a connection: what to do with each frame the caller sends, and its subscription. */
export interface Conversation {
  pump(frame: Uint8Array): void;
  readonly subscription: Subscription;
}

/** What a conversation needs to know of its address. */
export interface Where {
  readonly server: string;
  readonly subject: string;
  readonly queue?: string;
}

/** serve: each request (one with a reply subject) becomes a turn frame; each reply frame goes to its request's inbox. */
export function answerRequests(nc: NatsConnection, o: Where, out: Deliver, headers: (code?: number, description?: string) => MsgHdrs): Conversation {
  const inboxes = new Map<number, string>();
  let next = 0;
  const subscription = nc.subscribe(o.subject, {
    queue: o.queue,
    callback: (_e, m: Msg) => {
      if (!m.reply) return; // a plain publish asks nothing
      next = (next % 0xffffffff) + 1;
      inboxes.set(next, m.reply);
      out.deliver(turnFrame(Turn.REQUEST, next, m.data));
    },
  });
  const pump = (frame: Uint8Array) => {
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
  return { pump, subscription };
}

/** request: each turn frame becomes a request to the subject with a reply subject of ours that names its turn. */
export function sendRequests(nc: NatsConnection, o: Where, out: Deliver, inbox: string): Conversation {
  const subscription = nc.subscribe(`${inbox}.*`, {
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
  const pump = (frame: Uint8Array) => {
    const turn = readTurn(frame);
    if (turn?.kind === Turn.REQUEST) nc.publish(o.subject, turn.payload, { reply: `${inbox}.${turn.id}` });
  };
  return { pump, subscription };
}
