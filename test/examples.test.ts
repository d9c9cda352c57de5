/** Every example and pitfall demo runs, exits 0 and says what it shows. */
import { describe, expect, test } from "./support/harness.ts";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type RuntimeName, scriptCommand, spawnProcess } from "../ffi/process.ts";
import { testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const root = join(import.meta.dirname, "..", "examples");
const prefix = testPrefix("examples");

async function run(args: string[], on: RuntimeName = "bun"): Promise<{ code: number; out: string }> {
  const [file, ...rest] = args;
  const p = track(spawnProcess(scriptCommand(file!, rest, on), { stdio: ["ignore", "pipe", "pipe"] }));
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  if (code !== 0) console.error(err);
  return { code, out };
}

describe("examples", () => {
  for (const file of readdirSync(join(root, "pitfalls")).filter((f) => f.endsWith(".ts"))) {
    test(`pitfalls/${file} shows the problem and the fix`, async () => {
      const { code, out } = await run([join(root, "pitfalls", file)]);
      expect(code).toBe(0);
      expect(out).toContain("problem:");
      expect(out).toContain("fix");
    });
  }

  for (const kind of ["pipe", "socketpair", "memfd", "eventfd"]) {
    test(`parent-child.ts ${kind}`, async () => {
      const { code, out } = await run([join(root, "parent-child.ts"), kind]);
      expect(code).toBe(0);
      expect(out).toMatch(kind === "eventfd" ? /doubled it: 42/ : /got "hello from \d+"/);
    });
  }

  test("quickstart.ts and worker.ts", async () => {
    expect(await run([join(root, "quickstart.ts")])).toEqual({ code: 0, out: "HELLO\nBRAVE\nWORLD\n" });
    const w = await run([join(root, "worker.ts")]);
    expect(w.code).toBe(0);
    expect(w.out).toMatch(/worker ring round trip: [\d.]+ µs/);
  });

  const conversations: [string, RegExp[]][] = [
    ["request", [/^one request: HELLO$/m, /^over one Client: AGAIN$/m, /^over one Client: AND AGAIN$/m]],
    ["values", [/^job 7: cat\.jpg@64, cat\.jpg@256$/m]],
    ["accept", [/^server: a client asked to subscribe$/m, /^client: tick 1\nclient: tick 2\nclient: tick 3$/m]],
    ["select", [/^select: channel 0 \(mq:\/ipc-lab-demo-select\) — from the queue\nselect: channel 1 \(shm:\/ipc-lab-demo-select\) — from the ring$/m]],
  ];
  for (const on of ["bun", "deno"] as const) {
    for (const [pattern, expected] of conversations) {
      test(`conversations.ts ${pattern} (${on})`, async () => {
        const { code, out } = await run([join(root, "conversations.ts"), pattern], on);
        expect(code).toBe(0);
        for (const re of expected) expect(out).toMatch(re);
      }, 30_000);
    }
  }

  /** Run a zx script of examples/ with `--address ADDRESS`: its stdout lines, once it exited 0 with nothing on stderr. */
  async function zxLines(script: string, address: string): Promise<string[]> {
    const zx = join(root, "..", "node_modules", ".bin", "zx");
    const p = track(spawnProcess(["node", zx, join(root, script), "--address", address], { stdio: ["ignore", "pipe", "pipe"] }));
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect({ code: await p.exited, err }).toEqual({ code: 0, err: "" });
    return out.trim().split("\n");
  }
  const hellos = [1, 2, 3, 4].map((c) => `HELLO FROM CLIENT ${c}`);

  test("serve-zx.mjs: ipc-lab serve and request scripted with zx, four clients at once, Ctrl-C", async () => {
    expect(await zxLines("serve-zx.mjs", `shm:/${prefix}zx`)).toEqual([...hellos, "server stopped: exit 130"]);
  }, 30_000);

  test("zx-library.mjs: ipc-lab imported by a zx script on Node serves four CLI clients, then streams 2000 messages to a child", async () => {
    expect(await zxLines("zx-library.mjs", `shm:/${prefix}zxlib`)).toEqual([...hellos, "child received 2000 messages, the last: message 1999"]);
  }, 30_000);

  describe("the same scripts on Node (compiled to dist/)", () => {
    for (const kind of ["pipe", "socketpair", "memfd", "eventfd"]) {
      test(`node parent-child.js ${kind}`, async () => {
        const { code, out } = await run([join(root, "parent-child.ts"), kind], "node");
        expect(code).toBe(0);
        expect(out).toMatch(kind === "eventfd" ? /doubled it: 42/ : /got "hello from \d+"/);
      });
    }

    test("node quickstart.js", async () => {
      expect(await run([join(root, "quickstart.ts")], "node")).toEqual({ code: 0, out: "HELLO\nBRAVE\nWORLD\n" });
    });

    for (const [pattern, expected] of conversations) {
      test(`node conversations.js ${pattern}`, async () => {
        const { code, out } = await run([join(root, "conversations.ts"), pattern], "node");
        expect(code).toBe(0);
        for (const re of expected) expect(out).toMatch(re);
      }, 30_000);
    }

    test("reader.js on Node, writer.ts on Bun, over shm:", async () => {
      const address = "shm:/ipcl-example-cross-node";
      const reader = track(spawnProcess(scriptCommand(join(root, "reader.ts"), [address], "node"), { stdio: ["ignore", "pipe", "inherit"] }));
      const out = new Response(reader.stdout).text();
      expect((await run([join(root, "writer.ts"), address, "2"])).code).toBe(0);
      await reader.exited;
      expect(await out).toMatch(/got \d+ B: hello #2 from \d+/);
    });
  });

  describe("the same scripts on Deno", () => {
    // the pitfall demos that stage their problem without Bun's own APIs run on Deno too (docs/examples.md names them)
    for (
      const file of readdirSync(join(root, "pitfalls")).filter((f) =>
        f.endsWith(".ts") && !/\bBun\.|bun:/.test(readFileSync(join(root, "pitfalls", f), "utf8"))
      )
    ) {
      test(`deno run -A pitfalls/${file} shows the problem and the fix`, async () => {
        const { code, out } = await run([join(root, "pitfalls", file)], "deno");
        expect(code).toBe(0);
        expect(out).toContain("problem:");
        expect(out).toContain("fix");
      });
    }

    for (const kind of ["pipe", "memfd", "eventfd"]) {
      test(`deno run -A parent-child.ts ${kind}`, async () => {
        const { code, out } = await run([join(root, "parent-child.ts"), kind], "deno");
        expect(code).toBe(0);
        expect(out).toMatch(kind === "eventfd" ? /doubled it: 42/ : /got "hello from \d+"/);
      });
    }

    test("deno run -A quickstart.ts and worker.ts", async () => {
      expect(await run([join(root, "quickstart.ts")], "deno")).toEqual({ code: 0, out: "HELLO\nBRAVE\nWORLD\n" });
      const w = await run([join(root, "worker.ts")], "deno");
      expect(w.code).toBe(0);
      expect(w.out).toMatch(/worker ring round trip: [\d.]+ µs/);
    });

    test("reader.ts on Deno, writer.ts on Bun, over shm:", async () => {
      const address = "shm:/ipcl-example-cross";
      const reader = track(spawnProcess(scriptCommand(join(root, "reader.ts"), [address], "deno"), { stdio: ["ignore", "pipe", "inherit"] }));
      const out = new Response(reader.stdout).text();
      expect((await run([join(root, "writer.ts"), address, "2"])).code).toBe(0);
      await reader.exited;
      expect(await out).toMatch(/got \d+ B: hello #2 from \d+/);
    });
  });

  for (const address of ["mq:/ipcl-example-pair", "unix:@ipcl-example-pair", "shm:/ipcl-example-pair"]) {
    test(`reader.ts + writer.ts over ${address}`, async () => {
      const reader = track(Bun.spawn([process.execPath, join(root, "reader.ts"), address], { stdout: "pipe" }));
      const out = new Response(reader.stdout).text();
      await Bun.sleep(300);
      expect((await run([join(root, "writer.ts"), address, "2"])).code).toBe(0);
      if (address.startsWith("mq:")) {
        await Bun.sleep(200);
        reader.kill("SIGINT"); // a queue has no end of stream: stop the reader like a user would
      }
      await reader.exited;
      expect(await out).toMatch(/got \d+ B: hello #2 from \d+/);
    });
  }
});

checkLeaks(prefix);
