/**
 * A server survives bad input: every mechanism that can serve (derived from lib/mechanisms.ts:
 * each descriptor with `converse`) gets a server in another process, then random bytes,
 * truncated frames, frames claiming gigabytes, frames of a client that never said HELLO and
 * link frames of unknown kinds, each the way that mechanism's wire carries them. A
 * malformed frame may cost the connection or the frame it came in, never the server: it
 * must then answer a proper request, and stop on Ctrl-C with its names removed.
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { createConnection } from "node:net";
import { fileURLToPath } from "node:url";
import { C } from "../ffi/facts.ts";
import { sleepSync } from "../ffi/process.ts";
import { libc, shim } from "../ffi/runtime.ts";
import { parseAddress } from "../lib/address.ts";
import { open, remove, request } from "../lib/index.ts";
import type { Mechanism } from "../lib/mechanism.ts";
import { mechanisms, nameKindOf } from "../lib/mechanisms.ts";
import { connectStream } from "../lib/channels/socket.ts";
import { rendezvousOf } from "../lib/channels/shm-rendezvous.ts";
import { Link, linkFrame } from "../lib/link/wire.ts";
import { describe, expect, test } from "./support/harness.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { noteMq, noteProbe, privateDir, testKey, testPrefix } from "./support/leaks.ts";
import { participant } from "./support/participants.ts";
import { natsForTests } from "./support/mechanisms.ts";
import { natsSkip, sayIfNatsSkips } from "./support/nats-server.ts";
import { parseNatsAddress } from "../lib/channels/nats-address.ts";

const prefix = testPrefix("fuzz");
const dir = privateDir("fuzz");
const script = fileURLToPath(new URL("./support/serve-peer.ts", import.meta.url));
const ROUNDS = 120;

/** A small deterministic generator (xorshift), so a failure can be replayed. */
function rng(seed: number) {
  let x = seed | 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Bad input number `i`: random bytes, a truncated frame, a frame claiming far more than anyone carries, or a well-formed frame of a stranger. */
function garbage(i: number, rand: (n: number) => number, framed: boolean): Uint8Array {
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rand(256));
  const frame = (len: number, body: Uint8Array) => {
    const f = new Uint8Array(4 + body.byteLength);
    new DataView(f.buffer).setUint32(0, len, true);
    f.set(body, 4);
    return f;
  };
  const stranger = () => {
    const kinds = [Link.DATA, Link.BYE, Link.WELCOME, Link.CLOSE, 0, 9, 255];
    return linkFrame(kinds[rand(kinds.length)]!, 1 + rand(4_000_000), 1 + rand(511), bytes(rand(40)));
  };
  switch (i % 4) {
    case 0:
      return bytes(1 + rand(300));
    case 1: // truncated (as a message: shorter than a link header)
      return framed ? frame(100 + rand(1000), bytes(rand(60))) : bytes(rand(11));
    case 2:
      return framed ? frame(0x80000000 + rand(0x7fffffff), bytes(rand(40))) : stranger();
    default: {
      const body = stranger();
      return framed ? frame(body.byteLength, body) : body;
    }
  }
}

/** Raw bytes into a stream socket: a connection of its own, the bytes, then closed. */
function intoStream(address: string, data: Uint8Array): void {
  const ch = connectStream(parseAddress(address), { timeout: 5000 });
  const fd = ch.detachFd();
  try {
    libc.write(fd, data, data.byteLength); // a full socket buffer: the rest is not needed
  } finally {
    libc.close(fd);
  }
}

/** A way to throw bytes at one server, and to let go of it. */
interface Injector {
  send(data: Uint8Array): void;
  close(): void;
}

/** How bad input reaches each mechanism's server: its wire, bypassing the client code. */
const injectors: Record<string, { framed: boolean; open(address: string): Injector }> = {
  unix: { framed: true, open: (a) => ({ send: (d) => intoStream(a, d), close: () => {} }) },
  tcp: { framed: true, open: (a) => ({ send: (d) => intoStream(a, d), close: () => {} }) },
  // the rendezvous where clients hand over their ring's name
  shm: { framed: true, open: (a) => ({ send: (d) => intoStream(rendezvousOf(parseAddress(a)).text, d), close: () => {} }) },
  fifo: {
    framed: true,
    open: (a) => {
      const path = a.slice("fifo:".length);
      const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      return {
        send: (d) => void writeSync(fd, d),
        // One byte stream is shared: a frame that lands right behind a broken writer's half
        // frame is taken as the rest of it and lost. So the proper request waits until the
        // server has read the garbage (poll on a read end of our own: it reads nothing).
        close: () => {
          closeSync(fd);
          const look = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
          try {
            const end = performance.now() + 10_000;
            while (shim.ipcl_poll1(look, C.POLLIN, 0, -1) > 0 && performance.now() < end) sleepSync(1);
          } finally {
            closeSync(look);
          }
        },
      };
    },
  },
  nats: { framed: false, open: (a) => natsWire(a) },
  mq: { framed: false, open: (a) => message(a) },
  "sysv-mq": { framed: false, open: (a) => message(a, { sendType: 1 }) },
  "unix-dgram": { framed: false, open: (a) => message(a) },
};

/** Whole messages into a message mechanism's shared object (the kernel keeps their bounds). */
function message(address: string, options: object = {}): Injector {
  const ch = open(address, { timeout: 5000, ...options });
  // a full queue drops it: the server is behind, not broken
  return { send: (d) => void ch.trySend(d), close: () => ch.close() };
}

/**
 * NATS: the server's wire is the NATS protocol, so bad input is what any NATS client may
 * publish to the subject: requests with random payloads and reply subjects, publishes with
 * no reply subject, headers of random bytes (HPUB), and a frame claiming more bytes than
 * come (the NATS server drops that connection, never ours).
 */
function natsWire(address: string): Injector {
  const { subject, server } = parseNatsAddress(parseAddress(address));
  const url = new URL(server.replace(/^nats:/, "http:"));
  const sock = createConnection({ host: url.hostname, port: Number(url.port) });
  sock.on("error", () => {}); // the server may close it on the last frame: that is the point
  sock.write('CONNECT {"verbose":false,"headers":true}\r\n');
  let n = 0;
  const enc = new TextEncoder();
  return {
    send: (d) => {
      const reply = `_INBOX.fuzz.${++n}`;
      const head = n % 3 === 0
        ? `PUB ${subject} ${d.byteLength}`
        : n % 3 === 1
        ? `PUB ${subject} ${reply} ${d.byteLength}`
        : `HPUB ${subject} ${reply} ${d.byteLength} ${d.byteLength}`;
      sock.write(enc.encode(`${head}\r\n`));
      sock.write(d);
      sock.write("\r\n");
    },
    // the last frame promises more than comes: once it is written, the socket goes (the server would wait on)
    close: () => void sock.end(`PUB ${subject} _INBOX.fuzz.last 999999\r\nshort\r\n`, () => sock.destroy()),
  };
}

const serving = (mechanisms as readonly Mechanism[]).filter((m) => m.converse && m.sample && m.scheme !== "fd" && !(m.scheme === "nats" && natsSkip));

describe("servers survive bad input", () => {
  test("every mechanism that serves has a way to throw bad input at it here", () => {
    expect(serving.map((m) => m.scheme).filter((s) => !injectors[s])).toEqual([]);
  });

  for (const m of serving) {
    test(`${m.scheme}: ${ROUNDS} malformed frames, then a proper request is answered`, async () => {
      if (m.scheme === "nats") await natsForTests();
      const asked = m.sample!({ tag: `${prefix}${m.scheme}`, dir, key: testKey() });
      if (m.scheme === "mq") noteMq(asked);
      const addr = parseAddress(asked);
      if (nameKindOf(addr)) noteProbe(`server names at ${asked}`, () => nameKindOf(addr)!.exists(addr), () => void remove(asked));
      const server = participant(script, ["serve", asked]);
      const { address } = JSON.parse(await server.line()) as { address: string };
      const rand = rng(0x5eed + m.scheme.length);
      const how = injectors[m.scheme]!;
      const injector = how.open(address);
      try {
        for (let i = 0; i < ROUNDS; i++) injector.send(garbage(i, rand, how.framed));
      } finally {
        injector.close();
      }
      try {
        expect(new TextDecoder().decode(await request(address, "after the fuzz", { timeout: 10_000 }))).toBe("AFTER THE FUZZ");
        expect(server.child.exitCode).toBe(null);
      } finally {
        server.child.kill("SIGINT"); // also when no answer came: a server left running would fail the leak check as well
      }
      expect(await server.child.exited).toBe(130);
    }, 60_000);
  }
});

describe("shm: the handover", () => {
  test("a client that names a ring it never made costs the server nothing: the next request is answered at once", async () => {
    const asked = `shm:/${prefix}handover`;
    noteProbe(`server names at ${asked}`, () => nameKindOf(parseAddress(asked))!.exists(parseAddress(asked)), () => void remove(asked));
    const server = participant(script, ["serve", asked]);
    const { address } = JSON.parse(await server.line()) as { address: string };
    // names of the server's own form (NAME.cPID-N) for rings nobody made: each once cost the
    // server's thread — every conversation — a 5 s wait for the ring to appear
    const name = new TextEncoder().encode(`/${prefix}handover.c999999-1`);
    const frame = new Uint8Array(4 + name.byteLength);
    new DataView(frame.buffer).setUint32(0, name.byteLength, true);
    frame.set(name, 4);
    for (let i = 0; i < 3; i++) intoStream(rendezvousOf(parseAddress(address)).text, frame);
    // 3 such waits took 15 s; a request, well under one (the limit leaves a loaded machine room)
    expect(new TextDecoder().decode(await request(address, "next", { timeout: 4000 }))).toBe("NEXT");
    server.child.kill("SIGINT");
    expect(await server.child.exited).toBe(130);
  }, 60_000);
});

sayIfNatsSkips();
checkLeaks(prefix, [dir]);
