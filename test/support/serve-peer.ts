/**
 * A participant of test/conversation.test.ts. One role per run:
 *   serve ADDRESS [CODEC]  serve until stopped (SIGINT/SIGTERM): bytes → upper case after a
 *                      short random delay ("fail" makes the handler throw, "late MS" answers
 *                      after MS ms, "slow" after 3 s); with CODEC,
 *                      values → { echo, n: n + 1, by: runtime }. Prints {"address"} once serving.
 *   stdio              the same, over its stdin and stdout (the server of a spawn: client)
 *   ask ADDRESS N TAG  N requests "TAG i" with one Client (sync); prints {"ok", "bad"}
 *   hang ADDRESS       connect, send a request, print {"sent"}, never read the reply (to be SIGKILLed)
 *   wait ADDRESS       ask once and wait (the server is SIGKILLed meanwhile); prints {"code"} of the error
 *   send-each MS GO ADDRESS…  open each address as a writer; then for each K in turn, once the
 *                      file GO+K exists, wait MS ms and send "to K" to the K-th; stays (its
 *                      channels open) until killed (select.test.ts)
 */
import { Client, type Handler, IpcError, open, serve } from "../../lib/index.ts";
import { runtime } from "../../ffi/process.ts";
import type { Channel } from "../../lib/channel.ts";
import { existsSync } from "node:fs";

const [role, address, a, b] = process.argv.slice(2) as [string, string, string?, string?];
const out = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");
const text = new TextDecoder();

const upper: Handler<Uint8Array, string> = async (req) => {
  const s = text.decode(req);
  if (s === "fail") throw new Error("asked to fail");
  if (s === "slow") {
    out({ handling: s }); // the test kills this server now, with a request in its handler
    await new Promise((r) => setTimeout(r, 3000));
  }
  const late = /^late (\d+)$/.exec(s); // answered after that many ms: a reply to a request that timed out
  if (late) await new Promise((r) => setTimeout(r, Number(late[1])));
  await new Promise((r) => setTimeout(r, Math.random() * 2));
  return s.toUpperCase();
};
const values: Handler<{ n: number }, object> = (req) => ({ echo: req, n: req.n + 1, by: runtime });

if (role === "serve") {
  const server = a ? serve(address, values, { codec: a as "json" | "msgpack" }) : serve(address, upper);
  await server.ready;
  out({ address: server.address });
  await server.done;
} else if (role === "stdio") {
  await serve("fd:0,1", upper).done;
} else if (role === "ask") {
  using client = new Client(address);
  let ok = 0, bad = 0;
  for (let i = 0; i < Number(a); i++) {
    const reply = text.decode(client.requestSync(`${b} ${i}`, { timeout: 10_000 }));
    if (reply === `${b} ${i}`.toUpperCase()) ok++;
    else bad++;
  }
  out({ ok, bad });
} else if (role === "hang") {
  const client = new Client(address);
  (client.channel as Channel).send(new Uint8Array([1, 0, 0, 0, 7, 0, 0, 0, 0x68, 0x69])); // request 7: "hi" (wire.ts)
  out({ sent: true });
  setInterval(() => {}, 1000);
} else if (role === "wait") {
  using client = new Client(address);
  out({ ready: true });
  try {
    await client.request("slow", { timeout: 20_000 });
    out({ code: "none" });
  } catch (e) {
    out({ code: e instanceof IpcError ? e.code : String(e) });
  }
} else if (role === "send-each") {
  const go = a!;
  const addresses = process.argv.slice(5);
  const chans = addresses.map((x) => open(x, { role: "writer", timeout: 10_000 }));
  out({ ready: true });
  for (let k = 0; k < chans.length; k++) {
    // the test's go-ahead for this one: it has taken the one before, so one channel at a time has a message
    while (!existsSync(`${go}${k}`)) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, Number(address)));
    chans[k]!.send(`to ${k}`);
  }
  setInterval(() => {}, 1000);
}
