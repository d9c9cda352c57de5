/**
 * Conversations: one request/response suite, the same library code on every mechanism that
 * can carry one (only the address differs), with the server in another process on the peer
 * runtime and clients here and on the other runtime. Then values with each codec between Bun
 * and Deno, spawn: (one client per child), and a server's names gone after Ctrl-C.
 */
import { describe, expect, test } from "./support/harness.ts";
import { fileURLToPath } from "node:url";
import { Client, open, parseAddress, remove, request } from "../lib/index.ts";
import { type CommandChannel } from "../lib/public/mechanisms.ts";
import { nameKindOf } from "../lib/mechanisms.ts";
import { scriptCommand } from "../ffi/process.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { noteProbe, privateDir, testKey, testPrefix } from "./support/leaks.ts";
import { otherRuntime, type Participant, participant } from "./support/participants.ts";
import { peerRuntime } from "./support/runtimes.ts";
import { expectIpcError, expectIpcErrorAsync } from "./support/expect-error.ts";

const prefix = testPrefix("conv");
const dir = privateDir("conv");
const script = fileURLToPath(new URL("./support/serve-peer.ts", import.meta.url));
let serial = 0;
const text = new TextDecoder();

/** A fresh address of each conversing mechanism; named ones are checked for leaks at the end. */
const fresh: Record<string, () => string> = {
  mq: () => `mq:/${prefix}${++serial}`,
  "sysv-mq": () => `sysv-mq:${testKey()}`,
  shm: () => `shm:/${prefix}${++serial}`,
  unix: () => `unix:${dir}/${prefix}${++serial}.sock`,
  tcp: () => "tcp:127.0.0.1:0",
  "unix-dgram": () => `unix-dgram:${dir}/${prefix}${++serial}.dg`,
  fifo: () => `fifo:${dir}/${prefix}${++serial}.fifo`,
};

/** Whether the named object at `address` exists (false for names that vanish with their socket). */
function exists(address: string): boolean {
  const addr = parseAddress(address);
  return nameKindOf(addr)?.exists(addr) ?? false;
}

/** Whether `done()` comes true within `ms`, looking every 20 ms. */
async function within(ms: number, done: () => boolean): Promise<boolean> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Start a server process; resolves once it serves, with its real address. */
async function startServer(address: string, codec?: string, on = peerRuntime()): Promise<{ p: Participant; address: string }> {
  noteProbe(`server names at ${address}`, () => exists(address), () => void remove(address));
  const p = participant(script, ["serve", address, ...(codec ? [codec] : [])], on);
  const first = JSON.parse(await p.line()) as { address: string };
  return { p, address: first.address };
}

/** Stop a server with SIGINT (Ctrl-C) and wait for it. */
async function stop(p: Participant): Promise<number> {
  p.child.kill("SIGINT");
  return await p.child.exited;
}

for (const [scheme, make] of Object.entries(fresh)) {
  describe(`serve/request over ${scheme}:`, () => {
    test("5 clients at once (4 here, one on the other runtime) × 25 requests: every reply is its own request's", async () => {
      const server = await startServer(make());
      const other = participant(script, ["ask", server.address, "25", `far-${scheme}`], otherRuntime);
      const clients = [0, 1, 2, 3].map(() => new Client(server.address));
      const results = await Promise.all(clients.map(async (c, k) => {
        const got: string[] = [];
        for (let i = 0; i < 25; i++) got.push(text.decode(await c.request(`client ${k} asks ${i}`, { timeout: 10_000 })));
        return got;
      }));
      results.forEach((got, k) => expect(got).toEqual(Array.from({ length: 25 }, (_, i) => `CLIENT ${k} ASKS ${i}`)));
      expect(await other.report()).toEqual({ ok: 25, bad: 0 });
      for (const c of clients) c.close();
      expect(await stop(server.p)).toBe(130);
      if (scheme !== "tcp") expect(exists(server.address)).toBe(false); // Ctrl-C removed the names
    }, 60_000);

    test("a handler that throws is EREMOTE for that request only; a dead client disturbs no one; a dead server ends waits with EOF", async () => {
      const server = await startServer(make());
      using client = new Client(server.address);
      await expectIpcErrorAsync(() => client.request("fail", { timeout: 5000 }), "EREMOTE", /asked to fail/);
      expect(text.decode(await client.request("still here", { timeout: 5000 }))).toBe("STILL HERE");
      // a reply that comes after its request timed out is dropped, never taken as the next one's
      await expectIpcErrorAsync(() => client.request("late 600", { timeout: 150 }), "ETIMEDOUT");
      expect(text.decode(await client.request("next", { timeout: 5000 }))).toBe("NEXT");
      expect(() => client.requestSync("late 600", { timeout: 150 })).toThrow(/no reply within/);
      expect(text.decode(client.requestSync("next, sync", { timeout: 5000 }))).toBe("NEXT, SYNC");
      // a client killed while its reply is on the way
      const hung = participant(script, ["hang", server.address]);
      expect(JSON.parse(await hung.line())).toEqual({ sent: true });
      // its reply queue or FIFO (NAME.rPID-1) is the server's to remove once it sees the client has gone
      const replies = scheme === "mq" || scheme === "fifo" ? `${server.address}.r${hung.child.pid}-1` : undefined;
      if (replies) expect(exists(replies)).toBe(true);
      hung.child.kill("SIGKILL");
      await hung.child.exited;
      if (replies) expect(await within(5000, () => !exists(replies))).toBe(true);
      expect(text.decode(await client.request("after the kill", { timeout: 5000 }))).toBe("AFTER THE KILL");
      expect(text.decode(await request(server.address, "one-shot", { timeout: 5000 }))).toBe("ONE-SHOT");
      // the server killed while a client waits for its reply
      const waiter = participant(script, ["wait", server.address], otherRuntime);
      expect(JSON.parse(await waiter.line())).toEqual({ ready: true });
      expect(JSON.parse(await server.p.line())).toEqual({ handling: "slow" }); // its request is in the server's handler
      const killedAt = performance.now();
      server.p.child.kill("SIGKILL");
      await server.p.child.exited;
      expect(await waiter.report()).toEqual({ code: "EOF" });
      expect(performance.now() - killedAt).toBeLessThan(5000);
      await expectIpcErrorAsync(() => client.request("anyone?", { timeout: 5000 }), ["EOF", "EPIPE", "ECONNRESET"]);
      if (nameKindOf(parseAddress(server.address))) remove(server.address); // what SIGKILL left (a socket file, a queue), as `ipc-lab gc` would
    }, 60_000);
  });
}

describe("serve/request over spawn:", () => {
  test("each Client starts the command, which serves its stdin and stdout; closing ends it", async () => {
    const command = scriptCommand(script, ["stdio"], peerRuntime()).join(" ");
    const clients = [new Client(`spawn:${command}`), new Client(`spawn:${command}`)];
    const replies = await Promise.all(clients.map((c, k) => c.request(`child ${k}`, { timeout: 20_000 })));
    expect(replies.map((r) => text.decode(r))).toEqual(["CHILD 0", "CHILD 1"]);
    await expectIpcErrorAsync(() => clients[0]!.request("fail", { timeout: 5000 }), "EREMOTE");
    for (const c of clients) {
      c.close();
      expect(await (c.channel as CommandChannel).exitStatus).toBe(0);
    }
  }, 60_000);
});

describe("values between Bun and Deno", () => {
  const job = { id: 7, name: "résumé ✓", tags: ["a", "b"], nested: { ok: true, none: null, ratio: 0.25 }, n: 41 };
  for (const codec of ["json", "msgpack"] as const) {
    test(`${codec}: a server on each runtime answers a client on the other`, async () => {
      for (const on of [peerRuntime(), otherRuntime]) {
        const server = await startServer(fresh.shm!(), codec, on);
        const reply = await request<typeof job, { echo: typeof job; n: number; by: string }>(server.address, job, { codec, timeout: 20_000 });
        expect(reply).toEqual({ echo: job, n: 42, by: on });
        expect(await stop(server.p)).toBe(130);
      }
    }, 60_000);
  }

  test("open<T>(…, { codec }) is a typed channel of values; what a codec cannot decode is ECODEC", async () => {
    interface Job {
      id: number;
      tags: string[];
      at?: Date;
    }
    const address = fresh.shm!();
    using server = open<Job>(address, { create: true, codec: "msgpack" });
    using client = open<Job>(address, { codec: "msgpack" });
    const when = new Date("2026-11-27T12:00:00Z");
    client.send({ id: 1, tags: ["a"], at: when });
    await client.sendAsync({ id: 2, tags: [] });
    const first: Job = server.recv({ timeout: 1000 });
    expect(first).toEqual({ id: 1, tags: ["a"], at: when });
    expect(await server.recvAsync({ timeout: 1000 })).toEqual({ id: 2, tags: [] });
    expectIpcError(() => client.send({ id: 3, tags: [Symbol("x") as unknown as string] }), "ECODEC");
    expect(server.tryRecv()).toBeUndefined(); // nothing was sent
    client.channel.send(new Uint8Array([0x92, 0x01])); // an array of two that holds one: cut short
    expect(expectIpcError(() => server.recv({ timeout: 1000 }), "ECODEC").message).toMatch(/same codec/);
    const json = open<Job>(fresh.unix!(), { create: true, codec: "json" });
    expectIpcError(() => json.trySend({ id: 4, tags: [], at: when }), "ECODEC"); // JSON would turn the Date into a string
    json.close();
  });

  test("a value the codec cannot carry is ECODEC naming where and why, before anything is sent", async () => {
    const server = await startServer(fresh.unix!(), "json");
    using client = new Client<unknown, unknown>(server.address, { codec: "json" });
    await expectIpcErrorAsync(() => client.request({ a: [1, { f: () => 1 }] }), "ECODEC", /the value\.a\[1\]\.f is a function/);
    await expectIpcErrorAsync(() => client.request({ big: 1n }), "ECODEC", /bigint/);
    expect(await client.request({ n: 1 }, { timeout: 10_000 })).toEqual({ echo: { n: 1 }, n: 2, by: peerRuntime() });
    expect(await stop(server.p)).toBe(130);
  }, 60_000);
});

test("request() refuses an address that cannot carry a conversation, naming those that can", async () => {
  await expectIpcErrorAsync(() => request("eventfd:", "x"), "EADDRESS", /needs an address whose mechanism can serve many clients \(fd:, fifo:, mq:, shm:/);
});

checkLeaks(prefix, [dir]);
