/**
 * A peer killed in the middle of a message: on every framed byte-stream mechanism (pipe,
 * FIFO, unix and abstract unix sockets, TCP, socketpair, spawn:, popen:) the survivor
 * receives what came whole, then IpcError ETRUNC — exactly that code, never EOF and
 * never a hang. The peer is made to block part-way through a 16 MiB frame (no kernel
 * buffer holds it), then SIGKILLed. Rings publish a message only once it is whole, and
 * kernel message queues and datagrams carry whole messages, so there a dead peer can only
 * ever mean EOF: they have no ETRUNC to test. Both runtimes.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildProcess, runtime, scriptCommand, spawnProcess } from "../ffi/process.ts";
import { type Channel, open } from "../lib/index.ts";
import { type CommandChannel, spawnWithPipes, spawnWithSocketpair } from "../lib/public/mechanisms.ts";
import { IpcError } from "../lib/errors.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { untilBlocked } from "./support/blocked.ts";
import { describe, expect, test } from "./support/harness.ts";
import { privateDir, testPrefix, track } from "./support/leaks.ts";
import { lineReader } from "./support/lines.ts";

const prefix = testPrefix("trunc");
const dir = privateDir("trunc");
const peer = join(dirname(fileURLToPath(import.meta.url)), "support", "half-frame.ts");
const MAX = 16 << 20;
let serial = 0;

/** Our end and the peer (its stderr says when it is about to send the big frame). */
type Start = () => { here: Channel; child: ChildProcess };

function named(address: () => string): Start {
  return () => {
    const here = open(address(), { create: true, role: "reader", maxMessageSize: MAX });
    const child = track(spawnProcess(scriptCommand(peer, [here.address]), { stdio: ["ignore", "ignore", "pipe"] }));
    return { here, child };
  };
}

function command(scheme: "spawn" | "popen"): Start {
  return () => {
    const cmd = ["exec", ...scriptCommand(peer, [scheme === "spawn" ? "fd:0,1" : "fd:1"])].join(" ");
    const here = open(`${scheme}:${cmd}`, { type: "r", stderr: "pipe", maxMessageSize: MAX }) as CommandChannel;
    return { here, child: track(here.child) };
  };
}

const cases: [string, Start][] = [
  ["pipe", () => {
    const { channel, child } = spawnWithPipes(scriptCommand(peer, ["inherit"]), { stdin: "ignore", stdout: "ignore", stderr: "pipe", maxMessageSize: MAX });
    return { here: channel, child: track(child) };
  }],
  ["socketpair", () => {
    const { channel, child } = spawnWithSocketpair(scriptCommand(peer, ["inherit"]), {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      maxMessageSize: MAX,
    });
    return { here: channel, child: track(child) };
  }],
  ["fifo", named(() => `fifo:${dir}/${prefix}${++serial}`)],
  ["unix", named(() => `unix:${dir}/${prefix}${++serial}`)],
  ["unix (abstract)", named(() => `unix:@${prefix}${++serial}`)],
  ["tcp", named(() => "tcp:127.0.0.1:0")],
  ["spawn", command("spawn")],
  ["popen", command("popen")],
];

describe(`a peer killed mid-message leaves ETRUNC (${runtime})`, () => {
  for (const [name, start] of cases) {
    test(`${name}: the whole message first, then ETRUNC`, async () => {
      const { here, child } = start();
      try {
        expect(new TextDecoder().decode(here.recv({ timeout: 10_000 }))).toBe("hello");
        expect(await lineReader(child.stderr!).line()).toBe("sending");
        await untilBlocked(child.pid); // blocked inside the frame: the rest does not fit
        child.kill("SIGKILL");
        await child.exited;
        let code = "no error";
        try {
          here.recv({ timeout: 10_000 });
        } catch (e) {
          code = e instanceof IpcError ? e.code : String(e);
        }
        expect(code).toBe("ETRUNC");
      } finally {
        here.close();
      }
    }, 30_000);
  }
});

checkLeaks(prefix, [dir]);
