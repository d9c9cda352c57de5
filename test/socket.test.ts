/** Sockets: listeners with many peers, addresses, ports, permissions, datagram limits. */
import { describe, expect, test } from "./support/harness.ts";
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { listen, open, remove } from "../lib/index.ts";
import { socketPair } from "../lib/public/mechanisms.ts";
import { expectIpcError } from "./support/expect-error.ts";
import { privateDir, testPrefix } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("sock");
const dir = privateDir("sock");
let serial = 0;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("stream sockets", () => {
  for (const address of [() => `unix:${dir}/${prefix}${++serial}`, () => `unix:@${prefix}${++serial}`, () => "tcp:127.0.0.1:0"]) {
    test(`a listener accepts many peers, each its own channel (${address().split(":")[0]}${address().includes("@") ? " abstract" : ""})`, () => {
      using server = listen(address());
      const clients = [0, 1, 2].map(() => open(server.address, { timeout: 5000 }));
      const accepted = clients.map(() => server.accept({ timeout: 5000 })!);
      clients.forEach((c, i) => c.send(`client ${i}`));
      expect(accepted.map((a) => text(a.recv({ timeout: 5000 })))).toEqual(["client 0", "client 1", "client 2"]);
      accepted.forEach((a, i) => a.send(`reply ${i}`));
      expect(clients.map((c) => text(c.recv({ timeout: 5000 })))).toEqual(["reply 0", "reply 1", "reply 2"]);
      expect(server.accept({ timeout: 0 })).toBeUndefined();
      for (const c of [...clients, ...accepted]) c.close();
    });
  }

  test("tcp port 0 is replaced by the port the kernel chose, and TCP crosses hosts", () => {
    using server = open("tcp:127.0.0.1:0", { create: true });
    expect(server.address).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    expect(server.address).not.toBe("tcp:127.0.0.1:0");
    expect(server.caps.crossesHosts).toBeTrue();
  });

  test("ipv6 loopback works", () => {
    using server = listen("tcp:[::1]:0");
    using client = open(server.address, { timeout: 2000 });
    using peer = server.accept({ timeout: 2000 })!;
    client.send("v6");
    expect(text(peer.recv({ timeout: 2000 }))).toBe("v6");
  });

  test("a unix socket file is mode 0600 and removed on close; a second listener gets EADDRINUSE", () => {
    const path = `${dir}/${prefix}${++serial}`;
    const server = listen(`unix:${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(expectIpcError(() => listen(`unix:${path}`), "EADDRINUSE").message).toContain("in use");
    server.close();
    server.close();
    expect(existsSync(path)).toBeFalse();
  });

  test("connecting where nobody listens fails with advice, or waits up to timeout", () => {
    expect(expectIpcError(() => open(`unix:${dir}/${prefix}nobody`), "ENOENT").message).toContain("nobody listens");
    const t0 = performance.now();
    expectIpcError(() => open(`unix:@${prefix}nobody`, { timeout: 200 }), "ECONNREFUSED");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  });

  test("bad socket addresses are refused", () => {
    expectIpcError(() => open("tcp:127.0.0.1"), "EADDRESS");
    expectIpcError(() => open("tcp:127.0.0.1:70000"), "EADDRESS");
    expectIpcError(() => open("tcp:example.com:80"), "EADDRESS");
    expectIpcError(() => open("unix:@"), "EADDRESS");
    expect(expectIpcError(() => open(`unix:/${"x".repeat(200)}`), "ENAMETOOLONG").message).toContain("107 bytes");
    expectIpcError(() => listen("sem:/x"), "EADDRESS"); // a semaphore carries no conversation
  });

  test("socketPair is a duplex framed channel in one process", () => {
    const [a, b] = socketPair();
    a.send("over a socketpair");
    expect(text(b.recv())).toBe("over a socketpair");
    expect(a.caps.mechanism).toBe("socketpair");
    a.close();
    expectIpcError(() => b.recv({ timeout: 1000 }), "EOF");
    b.close();
  });
});

describe("datagram sockets", () => {
  test("a datagram server cannot send before it has heard from a peer", () => {
    using server = open(`unix-dgram:${dir}/${prefix}${++serial}`, { create: true });
    expect(expectIpcError(() => server.send("hi"), "ENOTCONN").message).toContain("replies to the last sender");
  });

  test("udp: datagrams up to 65507 bytes; caps say it is unreliable and unbounded", () => {
    using server = open("udp:127.0.0.1:0", { create: true });
    using client = open(server.address);
    expect(client.caps).toMatchObject({ maxMessageSize: 65507, reliable: false, capacity: Infinity, boundaries: "kernel" });
    const big = Uint8Array.from({ length: 65507 }, (_, i) => (i * 31 + 7) & 0xff);
    client.send(big);
    const got = server.recv({ timeout: 2000 });
    expect(got.byteLength).toBe(65507);
    expect(Buffer.compare(got, big)).toBe(0); // every byte, not only the length
    expectIpcError(() => client.send(new Uint8Array(65508)), "EMSGSIZE");
    expectIpcError(() => open("udp:127.0.0.1:0", { create: true, maxMessageSize: 70000 }), "EINVAL");
  });

  test("a client whose server has gone gets ECONNREFUSED", () => {
    const server = open(`unix-dgram:@${prefix}${++serial}`, { create: true });
    using client = open(server.address);
    server.close();
    expectIpcError(() => client.send("anyone?"), "ECONNREFUSED");
  });
});

describe("unix socket names without a '/' live in a private directory", () => {
  /** Run body with IPC_LAB_SOCKETS pointing at `at` (restored afterwards: files share the process). */
  function withSocketDir(at: string, body: () => void | Promise<void>) {
    const saved = process.env.IPC_LAB_SOCKETS;
    process.env.IPC_LAB_SOCKETS = at;
    return Promise.resolve()
      .then(body)
      .finally(() => {
        if (saved === undefined) delete process.env.IPC_LAB_SOCKETS;
        else process.env.IPC_LAB_SOCKETS = saved;
      });
  }

  test("unix:NAME is made in a fresh 0700 directory, reached by a peer process, removed on close", () =>
    withSocketDir(`${dir}/sockets`, async () => {
      const name = `${prefix}private`;
      const server = listen(`unix:${name}`);
      expect(statSync(`${dir}/sockets`).mode & 0o777).toBe(0o700);
      expect(statSync(`${dir}/sockets/${name}`).isSocket()).toBeTrue();
      const peer = Bun.spawn([
        process.execPath,
        "-e",
        `
        const { open } = await import(${JSON.stringify(new URL("../lib/index.ts", import.meta.url).href)});
        const c = open("unix:${name}", { timeout: 5000 });
        c.send("from a peer");
        c.close();`,
      ], { env: { ...process.env }, stdout: "inherit", stderr: "inherit" });
      const conn = server.accept({ timeout: 5000 })!;
      expect(text(conn.recv({ timeout: 5000 }))).toBe("from a peer");
      expect(await peer.exited).toBe(0);
      conn.close();
      server.close();
      expect(existsSync(`${dir}/sockets/${name}`)).toBeFalse();
    }));

  test("a socket directory others can enter, or another user owns, is refused with EACCES and what to do", () =>
    withSocketDir(`${dir}/open-to-all`, () => {
      mkdirSync(`${dir}/open-to-all`);
      chmodSync(`${dir}/open-to-all`, 0o777);
      const err = expectIpcError(() => listen(`unix:${prefix}refused`), "EACCES");
      expect(err.message).toContain("is not a private directory of this user");
      expect(err.message).toContain("IPC_LAB_SOCKETS");
      rmSync(`${dir}/open-to-all`, { recursive: true });
    }));

  test("remove('unix:NAME') unlinks the socket in the private directory (what gc does for a killed owner)", () =>
    withSocketDir(`${dir}/sockets`, () => {
      const path = `${dir}/sockets/${prefix}stale`;
      const server = listen(`unix:${prefix}stale`);
      expect(existsSync(path)).toBeTrue();
      expect(remove(`unix:${prefix}stale`)).toBeTrue();
      expect(existsSync(path)).toBeFalse();
      server.close();
    }));
});

checkLeaks(prefix, [dir], () => {
  rmSync(`${dir}/sockets`, { recursive: true, force: true });
});
