/**
 * The Worker side of the conformance suite's `worker:` mechanism (test/support/
 * mechanisms.ts): the roles of ./peer.ts that the suite uses, over `worker:parent`, with
 * reports posted to the parent (they become the peer's stdout lines there).
 */
import { parentPort } from "node:worker_threads";
import { open } from "../../lib/index.ts";
import { workerChannelData } from "../../lib/public/mechanisms.ts";
import { checkMessage, END_MARK, fillMessage, sizeFor } from "./sequence.ts";

const { role, count, max: maxArg } = workerChannelData() as { role: string; count: number; max?: number };
const ch = open("worker:parent");
const max = maxArg ?? ch.caps.maxMessageSize;
const report = (r: object) => parentPort!.postMessage(r);

switch (role) {
  case "send":
  case "late-send":
  case "exit-after": {
    if (role === "late-send") await new Promise((r) => setTimeout(r, 300));
    const buf = new Uint8Array(max);
    for (let i = 0; i < count; i++) ch.send(fillMessage(i, buf, sizeFor(i, max)), { timeout: 30_000 });
    if (role !== "exit-after") ch.close();
    break;
  }
  case "recv": {
    const buf = new Uint8Array(max);
    let error = "";
    let got = 0;
    for (; got < count && !error; got++) error = checkMessage(got, buf.subarray(0, ch.recvInto(buf, { timeout: 30_000 })), max);
    report({ ok: !error, received: got, error });
    ch.close();
    break;
  }
  case "echo": {
    const buf = new Uint8Array(ch.caps.maxMessageSize);
    try {
      for (;;) ch.send(buf.subarray(0, ch.recvInto(buf, { timeout: 30_000 })));
    } catch {
      // EOF: the parent closed
    }
    ch.close();
    break;
  }
  case "late-drain": {
    report({ ready: true });
    await new Promise((r) => parentPort!.once("message", r)); // the test's "drain now" (Session.drainNow)
    const buf = new Uint8Array(ch.caps.maxMessageSize);
    let received = 0;
    try {
      for (;;) {
        const n = ch.recvInto(buf, { timeout: 1000 });
        if (n === END_MARK.length && buf[0] === END_MARK[0]) break;
        received++;
      }
    } catch {
      // ETIMEDOUT (all taken) or EOF
    }
    report({ received });
    ch.close();
    break;
  }
  case "idle":
  case "quiet":
    report({ ready: true });
    // stays until the parent terminates this Worker
    setInterval(() => {}, 1 << 30);
    break;
  default:
    throw new Error(`unknown worker peer role ${role}`);
}
