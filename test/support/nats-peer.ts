/**
 * A peer process of the NATS tests. Usage:
 *   bun test/support/nats-peer.ts ROLE ADDRESS [N]
 * collect: open (subscribe), print {"ready":true}, then {"m":TEXT} for each message as recv
 *          hands it over, until the file $NATS_PEER_STOP exists; then {"done":true}. With N:
 *          after N messages print {"held":true} and take no more (the test kills it).
 * publish: publish N messages "0".."N-1" (text), close, exit.
 * serve:   serve ADDRESS (replies: the request upper-cased), print {"ready":true}, until $NATS_PEER_STOP exists.
 * ask:     N requests "r<i>" with a Client; print {"ok":COUNT} when every reply was "R<i>".
 */
import { existsSync } from "node:fs";
import { Client, open, serve } from "../../lib/index.ts";

const [role, address, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 0);
const text = new TextDecoder();
const say = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");

const stopFile = process.env.NATS_PEER_STOP ?? "";
const going = () => !stopFile || !existsSync(stopFile);

switch (role) {
  case "collect": {
    const ch = open(address!, { role: "reader", ackWaitMs: 1000 });
    say({ ready: true });
    let taken = 0;
    while (going()) {
      if (count > 0 && taken === count) {
        say({ held: true });
        await new Promise(() => {}); // hold what the thread fetched ahead, untaken, until killed
      }
      const m = await ch.recvAsync({ timeout: 100 }).catch(() => undefined);
      if (m) say({ m: text.decode(m), n: ++taken });
    }
    ch.close();
    say({ done: true });
    break;
  }
  case "publish": {
    const ch = open(address!, { role: "writer" });
    for (let i = 0; i < count; i++) ch.send(String(i));
    ch.close();
    break;
  }
  case "serve": {
    const server = serve(address!, (r: Uint8Array) => text.decode(r).toUpperCase());
    await server.ready;
    say({ ready: true });
    while (going()) await new Promise((r) => setTimeout(r, 50));
    server.close();
    await server.done;
    break;
  }
  case "ask": {
    using client = new Client(address!, { timeout: 10_000 });
    let ok = 0;
    for (let i = 0; i < count; i++) if (text.decode(await client.request(`r${i}`, { timeout: 10_000 })) === `R${i}`) ok++;
    say({ ok });
    break;
  }
  default:
    throw new Error(`nats-peer: unknown role ${role}`);
}
process.exit(0);
