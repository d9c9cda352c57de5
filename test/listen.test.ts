/**
 * listen() and connect() below serve(): on a ring (each client its own), on queues (one
 * shared object, a link header per frame) and on sockets, the same calls — accept with a
 * timeout, duplex messages both ways, EOF when either side closes, names gone after close —
 * and codecs of your own.
 */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync } from "node:fs";
import { type Channel, Client, connect, listen, open, parseAddress, request, serve } from "../lib/index.ts";
import { nameKindOf } from "../lib/mechanisms.ts";
import { expectIpcError, expectIpcErrorAsync } from "./support/expect-error.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { participant } from "./support/participants.ts";
import { fileURLToPath } from "node:url";
import { noteProbe, privateDir, testKey, testPrefix } from "./support/leaks.ts";

const prefix = testPrefix("lsn");
const dir = privateDir("lsn");
let serial = 0;
const text = new TextDecoder();
const script = fileURLToPath(new URL("./support/serve-peer.ts", import.meta.url));

const addresses: Record<string, () => string> = {
  shm: () => `shm:/${prefix}${++serial}`,
  mq: () => `mq:/${prefix}${++serial}`,
  "sysv-mq": () => `sysv-mq:${testKey()}`,
  fifo: () => `fifo:${dir}/${prefix}${++serial}`,
  "unix-dgram": () => `unix-dgram:${dir}/${prefix}${++serial}.dg`,
  unix: () => `unix:${dir}/${prefix}${++serial}.sock`,
};

const exists = (address: string) => {
  const addr = parseAddress(address);
  return nameKindOf(addr)?.exists(addr) ?? false;
};

/** Receive until a message comes (the listener side pumps as it waits). */
const got = (ch: Channel) => text.decode(ch.recv({ timeout: 2000 }));

describe("listen / accept / connect", () => {
  for (const [scheme, make] of Object.entries(addresses)) {
    test(`${scheme}: two clients, each its own duplex channel, each reply to its own; EOF when either side closes; nothing left after close`, () => {
      const address = make();
      noteProbe(`listener at ${address}`, () => exists(address), () => {});
      const listener = listen(address);
      expect(listener.accept({ timeout: 20 })).toBeUndefined(); // nobody yet
      const [a, b] = [connect(address, { timeout: 1000 }), connect(address, { timeout: 1000 })];
      const [pa, pb] = [listener.accept({ timeout: 2000 })!, listener.accept({ timeout: 2000 })!];
      expect(pa.caps.duplex).toBe(true);
      a.send("from a");
      b.send("from b");
      const [m1, m2] = [got(pa), got(pb)];
      expect([m1, m2].sort()).toEqual(["from a", "from b"]);
      const [peerOfA, peerOfB] = m1 === "from a" ? [pa, pb] : [pb, pa];
      peerOfA.send("to a");
      peerOfB.send("to b");
      expect([got(a), got(b)]).toEqual(["to a", "to b"]); // each reply reaches its own client
      a.close();
      expectIpcError(() => peerOfA.recv({ timeout: 1500 }), "EOF"); // the client went
      peerOfB.close();
      expectIpcError(() => b.recv({ timeout: 1500 }), "EOF"); // the server's end went
      b.close();
      peerOfA.close();
      listener.close();
      expect(exists(address)).toBe(false);
      if (scheme === "shm") expect(existsSync(`/dev/shm/${address.slice(5)}`)).toBe(false);
    });
  }

  for (const scheme of ["fifo", "mq"]) {
    test(`${scheme}: a client killed before the server read its HELLO leaves nothing (its reply ${scheme === "mq" ? "queue" : "FIFO"} is removed), and stalls no one`, async () => {
      const address = addresses[scheme]!();
      noteProbe(`listener at ${address}`, () => exists(address), () => {});
      const listener = listen(address);
      const hung = participant(script, ["hang", address]);
      expect(JSON.parse(await hung.line())).toEqual({ sent: true });
      const replies = `${address}.r${hung.child.pid}-1`;
      expect(exists(replies)).toBe(true);
      hung.child.kill("SIGKILL");
      await hung.child.exited;
      const t0 = performance.now();
      const peer = listener.accept({ timeout: 200 }); // reads the dead client's HELLO now
      expect(performance.now() - t0).toBeLessThan(1000);
      for (let i = 0; i < 100 && exists(replies); i++) {
        if (peer) {
          try {
            peer.recv({ timeout: 50 }); // its request, then EOF once the server has seen it gone
          } catch {
            // EOF
          }
        } else listener.accept({ timeout: 50 });
      }
      expect(exists(replies)).toBe(false);
      peer?.close();
      listener.close();
    });
  }

  test("fifo: a client that dies before its reply is written: the write is EPIPE, and closing its peer removes its reply FIFO", async () => {
    const address = addresses.fifo!();
    noteProbe(`listener at ${address}`, () => exists(address), () => {});
    const listener = listen(address);
    const hung = participant(script, ["hang", address]);
    expect(JSON.parse(await hung.line())).toEqual({ sent: true });
    const replies = `${address}.r${hung.child.pid}-1`;
    const peer = listener.accept({ timeout: 2000 })!;
    expect(peer.recv({ timeout: 2000 }).byteLength).toBeGreaterThan(0); // its request
    hung.child.kill("SIGKILL");
    await hung.child.exited;
    expectIpcError(() => peer.send("too late"), "EPIPE"); // before any look at its pid
    expect(exists(replies)).toBe(true);
    peer.close();
    expect(exists(replies)).toBe(false);
    listener.close();
  });

  test("a reply larger than the mechanism carries fails that request (EREMOTE, saying so), not the conversation", async () => {
    const address = addresses.mq!();
    const server = serve(address, (req: Uint8Array) => (text.decode(req) === "big" ? new Uint8Array(9000) : "small"));
    using client = new Client(address);
    await expectIpcErrorAsync(() => client.request("big", { timeout: 5000 }), "EREMOTE", /the reply is 9000 bytes, more than/);
    expect(text.decode(await client.request("again", { timeout: 5000 }))).toBe("small");
    server.close();
    await server.done;
  });

  test("a codec of your own ({ encode, decode }) works for open() and serve()/request()", async () => {
    const upper = {
      name: "shout",
      encode: (v: string) => new TextEncoder().encode(v.toUpperCase()),
      decode: (b: Uint8Array) => `${text.decode(b)}!`,
    };
    const address = addresses.unix!();
    const server = serve<string, string>(address, (s) => `${s} back`, { codec: upper });
    expect(await request<string, string>(address, "hi", { codec: upper, timeout: 5000 })).toBe("HI! BACK!");
    server.close();
    await server.done;
    const ring = addresses.shm!();
    using x = open<string>(ring, { create: true, codec: upper });
    using y = open<string>(ring, { codec: upper });
    x.send("quiet");
    expect(y.recv({ timeout: 1000 })).toBe("QUIET!");
    expectIpcError(() => open(ring, { codec: "yaml" as "json" }), "EINVAL");
  });
});

checkLeaks(prefix, [dir]);
