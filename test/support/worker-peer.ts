/**
 * The Worker side of test/worker.test.ts: does what workerData.data.role says over
 * `worker:parent` (send COUNT messages of the sequence, receive and verify COUNT, echo).
 */
import { parentPort } from "node:worker_threads";
import { open } from "../../lib/index.ts";
import { workerChannelData } from "../../lib/public/mechanisms.ts";
import { checkMessage, fillMessage, sizeFor } from "./sequence.ts";

const { role, count } = workerChannelData() as { role: string; count: number };
const ch = open("worker:parent");
const max = ch.caps.maxMessageSize;
const buf = new Uint8Array(max);
if (role === "send") {
  for (let i = 0; i < count; i++) ch.send(fillMessage(i, buf, sizeFor(i, max)));
} else if (role === "recv") {
  let error = "";
  for (let i = 0; i < count && !error; i++) error = checkMessage(i, buf.subarray(0, ch.recvInto(buf)), max);
  parentPort!.postMessage({ error });
} else if (role === "echo") {
  try {
    for (;;) ch.send(buf.subarray(0, ch.recvInto(buf)));
  } catch {
    // EOF: the parent closed
  }
} else if (role === "echo-async") {
  // both ends async: nothing but the awaited wait keeps this Worker's event loop busy
  try {
    for (;;) await ch.sendAsync(await ch.recvAsync());
  } catch {
    // EOF: the parent closed
  }
} else if (role === "late-send") {
  await Bun.sleep(300);
  ch.send(fillMessage(0, buf, sizeFor(0, max)));
}
ch.close();
