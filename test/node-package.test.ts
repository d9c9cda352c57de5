/**
 * ipc-lab as a user of the package gets it: packed with `npm pack`, installed into a fresh
 * project, run with only Node on PATH — two `node` programs exchange 2000 messages over
 * shm: and over mq:, a `node` program and a Bun program exchange 2000 over shm:, and
 * node_modules/.bin/ipc-lab runs the CLI on Node. Then the README's "Use it in your
 * project", as written (the tarball's path and the queue's name pointed at this test's):
 * Bun and Deno installed beside it, one program on all three runtimes, and a bench whose
 * results land in the project's directory, not in node_modules.
 */
import { afterAll, describe, expect, test } from "./support/harness.ts";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawnProcess } from "../ffi/process.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { noteMq, testPrefix, track } from "./support/leaks.ts";
import { blocks } from "./support/readme-blocks.ts";

const root = join(import.meta.dirname, "..");
const prefix = testPrefix("node-package");
const node = Bun.which("node")!;
const bun = join(root, "node_modules", ".bin", "bun");
// node and npm, but no bun or deno: what a Node user has
const bare = { ...process.env, PATH: [dirname(node), "/usr/bin", "/bin"].join(":"), IPC_LAB_BUN: "", IPC_LAB_DENO: "" };

async function run(cmd: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  const p = track(spawnProcess(cmd, { cwd, env: bare, stdio: ["ignore", "pipe", "pipe"] }));
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

/** A receiver (creates ADDRESS, takes N messages, checks their order) and a sender, as a user writes them. */
const receiver = `import { open } from "ipc-lab";
const [address, n] = process.argv.slice(2);
const ch = open(address, { create: true });
console.log("ready");
let i = 0;
try {
  for (; i < Number(n); i++) {
    const text = new TextDecoder().decode(ch.recv({ timeout: 20000 }));
    if (text !== \`message \${i}\`) throw new Error(\`got "\${text}" where message \${i} was due\`);
  }
} finally {
  ch.close();
}
console.log(\`received \${i} in order on \${process.versions.bun ? "bun" : "node"}\`);
`;
const sender = `import { open } from "ipc-lab";
const [address, n] = process.argv.slice(2);
const ch = open(address, { timeout: 10000 });
for (let i = 0; i < Number(n); i++) ch.send(\`message \${i}\`, { timeout: 20000 });
ch.close();
`;

describe("the packed package on Node, with only Node on PATH", () => {
  let project = "";

  test("npm pack, then npm install of the tarball into a fresh project", async () => {
    project = mkdtempSync(join(tmpdir(), prefix));
    // --ignore-scripts: `npm test` built dist/ before any suite ran; pack's own build (the
    // prepare script) would rewrite it under the Node suite running beside this one
    const pack = await run(["npm", "pack", "--silent", "--ignore-scripts", "--pack-destination", project], root);
    expect({ code: pack.code, err: pack.err.split("\n").filter((l) => /ERR!/.test(l)) }).toEqual({ code: 0, err: [] });
    const tarball = readdirSync(project).find((f) => f.endsWith(".tgz"))!;
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "node-user", version: "1.0.0", private: true, type: "module" }));
    writeFileSync(join(project, "receiver.mjs"), receiver);
    writeFileSync(join(project, "sender.mjs"), sender);
    // (--prefer-offline: npm's cache where it can, the registry for what a fresh project has never resolved)
    const install = await run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", `./${tarball}`], project);
    expect({ code: install.code, err: install.err.split("\n").filter((l) => /ERR!/.test(l)) }).toEqual({ code: 0, err: [] });
  }, 120_000);

  for (
    const [name, address, receiverOn] of [
      ["two node programs over shm:", `shm:/${prefix}shm`, "node"],
      ["two node programs over mq:", `mq:/${prefix}mq`, "node"],
      ["a Bun receiver and a node sender over shm:", `shm:/${prefix}bun`, "bun"],
    ] as const
  ) {
    test(`${name}: 2000 messages, in order`, async () => {
      const r = track(
        spawnProcess([receiverOn === "bun" ? bun : node, "receiver.mjs", address, "2000"], { cwd: project, env: bare, stdio: ["ignore", "pipe", "pipe"] }),
      );
      const out = new Response(r.stdout).text();
      const err = new Response(r.stderr).text();
      // the sender opens (it waits up to 10 s for the receiver to create the address)
      const s = await run([node, "sender.mjs", address, "2000"], project);
      expect({ code: s.code, err: s.err }).toEqual({ code: 0, err: "" });
      expect({ code: await r.exited, out: await out, err: await err }).toEqual({ code: 0, out: `ready\nreceived 2000 in order on ${receiverOn}\n`, err: "" });
    }, 60_000);
  }

  test("node_modules/.bin/ipc-lab runs the CLI on Node", async () => {
    const r = await run([join(project, "node_modules", ".bin", "ipc-lab"), "info"], project);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    expect(r.out).toMatch(/^runtime:\s+node \d+\./m);
  }, 30_000);

  test("the README's \"Use it in your project\", as written: the program on Bun, Deno and Node; the bench's results in ./ipc-lab-results", async () => {
    const readme = blocks("README.md");
    const app = readme.find((b) => b.marker === "runs (js, project)")!.code;
    const steps = readme.find((b) => b.marker === "runs (sh, project)")!.code;
    const tarball = readdirSync(project).find((f) => f.endsWith(".tgz"))!;
    const queue = noteMq(`mq:/${prefix}app`);
    writeFileSync(join(project, /^\/\/ (\S+)/.exec(app)![1]!), app.replaceAll("mq:/app", queue));
    expect(steps).toContain("../ipc-lab/ipc-lab-0.1.0.tgz");
    const r = await run(["sh", "-c", steps.replace("../ipc-lab/ipc-lab-0.1.0.tgz", `./${tarball}`)], project);
    expect({ code: r.code, err: r.err.split("\n").filter((l) => /ERR!|rror/.test(l)) }).toEqual({ code: 0, err: [] });
    expect(r.out).toContain("it works on bun\nit works on deno\nit works on node\n");
    expect(r.out).toMatch(/^shm +ipc-lab /m); // the bench's summary
    const saved = readdirSync(join(project, "ipc-lab-results"));
    expect(saved.length).toBe(1);
    expect(readdirSync(join(project, "ipc-lab-results", saved[0]!)).sort()).toEqual(["chart.svg", "report.html", "report.md", "results.json"]);
    expect(r.err).toContain(`results saved to ${join(project, "ipc-lab-results", saved[0]!)}/`);
    expect(existsSync(join(project, "node_modules", "ipc-lab", "bench", "results"))).toBe(false);
  }, 240_000);

  afterAll(() => rmSync(project, { recursive: true, force: true }));
});

checkLeaks(prefix);
