/**
 * `ipc-lab serve ADDRESS -- tr a-z A-Z` answers 4 concurrent clients × 10
 * `ipc-lab request ADDRESS …` each, every reply its own request's, over mq, sysv-mq, shm,
 * unix and tcp, and stops cleanly on Ctrl-C (its names gone). Servers run on Bun, Deno and
 * Node; clients on Bun and Deno, and one on Node where the server is. Then `request`'s exit
 * statuses: 0, 124 on timeout, 1 on an IPC error.
 */
import { describe, expect, test } from "./support/harness.ts";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type RuntimeName, scriptCommand, spawnProcess } from "../ffi/process.ts";
import { parseAddress, remove } from "../lib/index.ts";
import { nameKindOf } from "../lib/mechanisms.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { noteProbe, privateDir, testKey, testPrefix, track } from "./support/leaks.ts";
import { lineReader } from "./support/lines.ts";

const prefix = testPrefix("clis");
const dir = privateDir("clis");
const cli = fileURLToPath(new URL("../bin/ipc-lab.ts", import.meta.url));

const exists = (address: string) => {
  const addr = parseAddress(address);
  return nameKindOf(addr)?.exists(addr) ?? false;
};

/** Whether process `pid` runs (a zombie no one has reaped yet has ended: this machine's pid 1 may be slow to reap). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] !== "Z";
  } catch {
    return false;
  }
}

/** Start `ipc-lab serve ARGS…` on a runtime; resolves with the address it prints once serving. */
async function startServe(args: string[], on: RuntimeName) {
  noteProbe(`served names at ${args[0]}`, () => exists(args[0]!), () => void remove(args[0]!));
  const child = track(spawnProcess(scriptCommand(cli, ["serve", ...args], on), { stdio: ["ignore", "pipe", "inherit"] }));
  const out = lineReader(child.stdout!);
  const address = (await out.line()).trim();
  /** stop it with `signal`; its exit status (its stdout read to the end, so nothing stays open) */
  const stop = async (signal: "SIGINT" | "SIGTERM") => {
    child.kill(signal);
    await out.rest();
    return await child.exited;
  };
  return { address, stop };
}

/** `ipc-lab request ARGS…`: its exit status and what it printed. */
async function requestCli(args: string[], on: RuntimeName = "bun") {
  const child = track(spawnProcess(scriptCommand(cli, ["request", ...args], on), { stdio: ["ignore", "pipe", "pipe"] }));
  const [out, err] = await Promise.all([new Response(child.stdout!).text(), new Response(child.stderr!).text()]);
  return { status: await child.exited, out, err };
}

const cases: [string, string, RuntimeName][] = [
  ["mq", `mq:/${prefix}q`, "bun"],
  ["sysv-mq", `sysv-mq:${testKey()}`, "deno"],
  ["shm", `shm:/${prefix}ring`, "node"],
  ["unix", `unix:${dir}/${prefix}s.sock`, "deno"],
  ["tcp", "tcp:127.0.0.1:0", "node"],
];

describe("ipc-lab serve -- tr a-z A-Z", () => {
  for (const [label, address, on] of cases) {
    test(`${label} (server on ${on}): 4 clients × 10 requests, each reply its own; Ctrl-C stops it and removes its names`, async () => {
      const server = await startServe([address, "--", "tr", "a-z", "A-Z"], on);
      const client = async (c: number) => {
        const bad: string[] = [];
        for (let i = 0; i < 10; i++) {
          // clients on Bun and Deno; with a server on Node, one client on Node too
          const r = await requestCli(
            [server.address, `client ${c} asks ${i}`, "--timeout", "20000"],
            c === 0 && on === "node" ? "node" : c % 2 ? "deno" : "bun",
          );
          if (r.status !== 0 || r.out !== `CLIENT ${c} ASKS ${i}\n`) bad.push(`${c}/${i}: ${r.status} ${JSON.stringify(r.out)} ${r.err}`);
        }
        return bad;
      };
      expect((await Promise.all([0, 1, 2, 3].map(client))).flat()).toEqual([]);
      expect(await server.stop("SIGINT")).toBe(130);
      if (label !== "tcp") expect(exists(address)).toBe(false);
    }, 120_000);
  }
});

describe("ipc-lab request", () => {
  test(
    "exit 124 when no reply comes in time, 1 for an IPC error (nobody serves there, the command fails), 2 for usage; Ctrl-C ends a command still running",
    async () => {
      const address = `unix:${dir}/${prefix}slow.sock`;
      const pidFile = `${dir}/sleeper.pid`;
      const server = await startServe([address, "--", "sh", "-c", `read x; [ "$x" = fail ] && exit 3; echo $$ > ${pidFile}; exec sleep 5`], "bun");
      const slow = await requestCli([address, "hello", "--timeout", "300"]);
      expect(slow.status).toBe(124);
      expect(slow.err).toMatch(/no reply within \d+ ms/);
      const failed = await requestCli([address, "fail", "--timeout", "5000"]);
      expect(failed.status).toBe(1);
      expect(failed.err).toMatch(/handler failed: sh -c .* exited with status 3/);
      expect(await server.stop("SIGINT")).toBe(130);
      // the command still running ended with the server (its process group): nothing outlives it
      const sleeper = Number(readFileSync(pidFile, "utf8"));
      rmSync(pidFile);
      await new Promise((r) => setTimeout(r, 200));
      expect(running(sleeper)).toBe(false);
      const nobody = await requestCli([`mq:/${prefix}nobody`, "hello", "--timeout", "300"]);
      expect(nobody.status).toBe(1);
      expect((await requestCli([address])).status).toBe(2);
    },
    60_000,
  );

  test("serve --echo answers with the request; serve without --echo or a command is a usage error", async () => {
    const server = await startServe([`shm:/${prefix}echo`, "--echo"], "deno");
    const r = await requestCli([server.address, "same bytes back"]);
    expect({ status: r.status, out: r.out }).toEqual({ status: 0, out: "same bytes back\n" });
    expect(await server.stop("SIGTERM")).toBe(143);
    const usage = track(spawnProcess(scriptCommand(cli, ["serve", `shm:/${prefix}x`]), { stdio: ["ignore", "ignore", "pipe"] }));
    expect(await usage.exited).toBe(2);
  }, 60_000);
});

checkLeaks(prefix, [dir]);
