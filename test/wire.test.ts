/**
 * Wire formats, checked against programs that know nothing of ipc-lab but docs/wire-formats.md: a C
 * program and a Python program exchange messages with `ipc-lab send` / `ipc-lab recv` over
 * a FIFO (u32 LE length + payload) and a POSIX queue (one message per kernel message).
 */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { compileCached } from "../ffi/build.ts";
import { lineReader } from "./support/lines.ts";
import { noteMq, noteProbe, privateDir, testKey, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { shim } from "../ffi/runtime.ts";
import { schemes } from "../lib/index.ts";
import { C } from "../ffi/facts.ts";

const prefix = testPrefix("wire");
const dir = privateDir("wire");
const cli = join(import.meta.dirname, "..", "bin", "ipc-lab.ts");
const peerC = join(import.meta.dirname, "peers", "wire_peer.c");
const peerPy = join(import.meta.dirname, "peers", "wire_peer.py");
const messages = ["hello", "", "ünïcödé ✓", "x".repeat(5000)];
let serial = 0;

const peers: Record<string, () => string[]> = {
  c: () => [compileCached({ name: "wire_peer", sources: [peerC], flags: ["-O2", "-Wall", "-lrt"], ext: "" })],
  python: () => ["python3", peerPy],
};

/** A started process with its stdout readable line by line. */
function run(cmd: string[]) {
  const p = track(Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  return Object.assign(p, { lines: lineReader(p.stdout) });
}

async function output(p: ReturnType<typeof run>): Promise<{ code: number; out: string; err: string }> {
  const [out, err] = await Promise.all([p.lines.rest(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

function sysvMq(): string {
  const key = testKey();
  noteProbe(`sysv-mq:${key}`, () => shim.ipcl_msgget(key, 0) >= 0, () => shim.ipcl_msg_remove(shim.ipcl_msgget(key, 0)));
  return `sysv-mq:${key}`;
}

describe("the CLI on every runtime", () => {
  for (const other of ["deno", "node"] as const) {
    for (const kind of ["mq", "shm", "unix"] as const) {
      test(`ipc-lab send on Bun, ipc-lab --runtime ${other} recv, over ${kind}`, async () => {
        const addr = kind === "mq" ? noteMq(`mq:/${prefix}${++serial}`) : kind === "shm" ? `shm:/${prefix}${++serial}` : `unix:${dir}/${prefix}${++serial}`;
        const recv = run([process.execPath, cli, "--runtime", other, "recv", addr, "--count", String(messages.length), "--timeout", "20000"]);
        const send = run([process.execPath, cli, "send", addr, ...messages, "--timeout", "20000"]);
        const [s, r] = await Promise.all([output(send), output(recv)]);
        expect(s).toMatchObject({ code: 0, err: "" });
        expect(r).toMatchObject({ code: 0, err: "" });
        expect(r.out).toBe(messages.map((m) => m + "\n").join(""));
      });
    }
  }

  test("ipc-lab --runtime deno|node info reports that runtime; an unknown runtime is refused", async () => {
    expect((await output(run([process.execPath, cli, "--runtime", "deno", "info"]))).out).toMatch(/^runtime:\s+deno \d/m);
    expect((await output(run([process.execPath, cli, "--runtime", "node", "info"]))).out).toMatch(/^runtime:\s+node \d/m);
    const bad = await output(run([process.execPath, cli, "--runtime", "perl", "info"]));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--runtime must be bun, deno or node");
  });
});

for (const [lang, peer] of Object.entries(peers)) {
  describe(`wire format with a ${lang} peer`, () => {
    const address = {
      fifo: () => `fifo:${dir}/${prefix}${++serial}`,
      mq: () => noteMq(`mq:/${prefix}${++serial}`),
      sysv: () => sysvMq(),
      unix: () => `unix:${dir}/${prefix}${++serial}`,
    };
    for (const kind of ["fifo", "mq", "sysv", "unix"] as const) {
      test(`${lang} sends over ${kind}, ipc-lab recv prints every message`, async () => {
        const addr = address[kind]();
        const recv = run([process.execPath, cli, "recv", addr, "--count", String(messages.length), "--timeout", "20000"]);
        const send = run([...peer(), `${kind}-send`, addr.slice(addr.indexOf(":") + 1), ...messages]);
        const [r, s] = await Promise.all([output(recv), output(send)]);
        expect(s).toMatchObject({ code: 0, err: "" });
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toBe(messages.map((m) => m + "\n").join(""));
      });

      test(`ipc-lab send over ${kind}, ${lang} receives every message`, async () => {
        const addr = address[kind]();
        const recv = run([...peer(), `${kind}-recv`, addr.slice(addr.indexOf(":") + 1), String(messages.length)]);
        if (kind !== "fifo") expect(await recv.lines.line()).toBe("ready"); // the queue or socket exists
        const send = run([process.execPath, cli, "send", addr, ...messages, "--timeout", "20000"]);
        const [s, r] = await Promise.all([output(send), output(recv)]);
        expect(s).toMatchObject({ code: 0, err: "" });
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toBe(messages.map((m) => m + "\n").join(""));
      });
    }

    test(`${lang} sends realtime signals with payloads, ipc-lab recv prints them in order`, async () => {
      const short = ["hi", "", "abc1234", "ü"];
      const recv = run([process.execPath, cli, "recv", "signal:self:SIGRTMIN+2", "--count", String(short.length), "--timeout", "20000"]);
      const announce = lineReader(recv.stderr);
      expect(await announce.line()).toBe(`ipc-lab recv: listening on signal:${recv.pid}:SIGRTMIN+2`);
      const send = run([...peer(), "signal-send", String(recv.pid), String(C.SIGRTMIN + 2), ...short]);
      const [s, r] = await Promise.all([output(send), recv.lines.rest()]);
      expect(s).toMatchObject({ code: 0, err: "" });
      expect(await recv.exited).toBe(0);
      expect(r).toBe(short.map((m) => m + "\n").join(""));
    });
  });
}

describe("ipc-lab send / recv", () => {
  test("--hex carries arbitrary bytes both ways", async () => {
    const addr = noteMq(`mq:/${prefix}${++serial}`);
    const recv = run([process.execPath, cli, "recv", addr, "--count", "2", "--hex", "--timeout", "20000"]);
    const send = run([process.execPath, cli, "send", addr, "--hex", "00ff0a0d", "", "--timeout", "20000"]);
    const [r, s] = await Promise.all([output(recv), output(send)]);
    expect(s.code).toBe(0);
    expect(r).toMatchObject({ code: 0, out: "00ff0a0d\n\n" });
  });

  test("recv exits 124 with a clear message when nothing comes in time, and removes its queue", async () => {
    const addr = noteMq(`mq:/${prefix}${++serial}`);
    const r = await output(run([process.execPath, cli, "recv", addr, "--timeout", "100"]));
    expect(r.code).toBe(124);
    expect(r.err).toContain(`no message on ${addr} within 100 ms`);
  });

  test("usage errors exit 2: a missing argument, a bad flag value, an unknown scheme (the known ones listed), a malformed address", async () => {
    expect((await output(run([process.execPath, cli, "recv"]))).code).toBe(2);
    expect((await output(run([process.execPath, cli, "recv", "mq:/x", "--count", "many"]))).code).toBe(2);
    const bad = await output(run([process.execPath, cli, "send", "carrier-pigeon:/x", "hi"]));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("known schemes: fd:, fifo:, mq:, shm:");
    const malformed = await output(run([process.execPath, cli, "recv", "mq:jobs"]));
    expect(malformed.code).toBe(2);
    expect(malformed.err).toContain("a mq name starts with '/', as in 'mq:/jobs'");
  });

  test("serve on an address that cannot serve is a usage error in the command line's words", async () => {
    const r = await output(run([process.execPath, cli, "serve", "udp:127.0.0.1:9", "--echo"]));
    expect(r.code).toBe(2);
    expect(r.err).toContain("`ipc-lab serve` needs an address whose mechanism can serve many clients (");
    expect(r.err).not.toContain("listen()");
  });

  test("a killed server's socket file: request and send name it and `ipc-lab gc`, not a server yet to start", async () => {
    const path = join(dir, "stale.sock");
    const server = track(Bun.spawn([process.execPath, cli, "serve", `unix:${path}`, "--echo"], { stdout: "pipe", stderr: "pipe" }));
    expect(await lineReader(server.stdout).line()).toBe(`unix:${path}`); // printed once it listens
    server.kill("SIGKILL");
    await server.exited;
    for (const command of [["request", `unix:${path}`, "hi"], ["send", `unix:${path}`, "hi"]]) {
      const r = await output(run([process.execPath, cli, ...command, "--timeout", "100"]));
      expect(r.code).toBe(1);
      expect(r.err).toContain(`the socket file ${path} is there but nobody listens on it (waited 100 ms)`);
      expect(r.err).toContain("`ipc-lab gc` removes such files");
    }
    const gc = await output(run([process.execPath, cli, "gc"])); // as the advice says
    expect(gc.out).toContain(`removed unix:${path} (owner pid ${server.pid} is dead)`);
    expect(existsSync(path)).toBe(false);
  });

  test("recv on a directory says it is one, not that a dead process left a socket there", async () => {
    const r = await output(run([process.execPath, cli, "recv", `unix:${dir}`, "--timeout", "100"]));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${dir} is a directory: name a socket file inside it (unix:${dir}/NAME.sock)`);
    expect(r.err).not.toContain("gc");
  });

  test("--version names the package and runtime; --help lists the commands and every address scheme", async () => {
    const v = await output(run([process.execPath, cli, "--version"]));
    expect({ code: v.code, err: v.err }).toEqual({ code: 0, err: "" });
    expect(v.out).toMatch(/^ipc-lab \d+\.\d+\.\d+ \(bun \d/);
    const help = await output(run([process.execPath, cli, "--help"]));
    expect(help.code).toBe(0);
    for (const scheme of Object.keys(schemes)) expect(help.out).toContain(` ${scheme}:`);
    for (const command of ["send", "recv", "serve", "request", "bench", "info", "ls", "gc"]) expect(help.out).toContain(`  ${command} `);
    expect((await output(run([process.execPath, cli]))).code).toBe(2); // no command: usage, on stderr
  });

  test("request with nobody there says to start a server (serve), not recv", async () => {
    const r = await output(run([process.execPath, cli, "request", `mq:/${prefix}nobody`, "hi", "--timeout", "100"]));
    expect(r.code).toBe(1);
    expect(r.err).toContain("`ipc-lab serve ADDRESS -- COMMAND` serves there");
    expect(r.err).not.toContain("ipc-lab recv");
  });

  test("every command answers --help (and -h) on stdout with exit 0", async () => {
    for (const command of ["send", "recv", "bench", "info", "ls", "gc"]) {
      for (const flag of ["--help", "-h"]) {
        const r = await output(run([process.execPath, cli, command, flag]));
        expect({ command, flag, code: r.code, err: r.err }).toEqual({ command, flag, code: 0, err: "" });
        expect(r.out).toContain(`ipc-lab ${command}`);
      }
    }
  });

  test("a negative number is a value (the real check answers); a mistyped option names the real one", async () => {
    const negative = await output(run([process.execPath, cli, "recv", "mq:/x", "--timeout", "-5"]));
    expect(negative.code).toBe(2);
    expect(negative.err).toContain("--timeout needs a number >= 0 (got '-5')");
    const typo = await output(run([process.execPath, cli, "recv", "mq:/x", "--timout", "5"]));
    expect(typo.code).toBe(2);
    expect(typo.err).toContain("unknown option '--timout'; did you mean --timeout?");
  });

  test("errors speak in the command line's terms, not the library's options", async () => {
    const r = await output(run([process.execPath, cli, "send", `shm:/${prefix}absent`, "hi", "--timeout", "300"]));
    expect(r.code).toBe(1);
    expect(r.err).toContain("(waited 300 ms)"); // how long it waited, every time
    expect(r.err).toContain("`ipc-lab recv ADDRESS` creates it), or give a longer --timeout MS");
    expect(r.err).not.toContain("create: true");
  });
});

checkLeaks(prefix, [dir]);
