/**
 * A mechanism is one file plus one line: a copy of the project gets a dummy mechanism
 * (`dummy:/path`, a FIFO under another scheme, in lib/channels/dummy.ts) and one line in
 * lib/mechanisms.ts — nothing else — and it shows up in open(), `ipc-lab info`, the
 * conformance suite's list and the request/response benchmark's schemes.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../ffi/paths.ts";
import { scriptCommand } from "../ffi/process.ts";
import { describe, expect, test } from "./support/harness.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { testPrefix } from "./support/leaks.ts";
import { runSync } from "./support/run-sync.ts";

const prefix = testPrefix("oneline");
const root = packageRoot; // the sources, also when this runs from dist/ (Node)

const dummyFile = `/** A test double: a FIFO under the scheme dummy:, to show that one file and one line make a mechanism. */
import { parseAddress, type Address } from "../address.ts";
import { mechanism } from "../mechanism.ts";
import { fifo } from "./fifo.ts";

const asFifo = (a: Address) => parseAddress(\`fifo:\${a.name}\`);
const converse = fifo.converse!;
export const dummy = mechanism<Parameters<typeof fifo.open>[1]>()({
  scheme: "dummy",
  describe: "dummy:/path — a FIFO under another name (a test double)",
  options: fifo.options,
  open: (a, o) => fifo.open(asFifo(a), o),
  traits: fifo.traits,
  names: { exists: (a) => fifo.names!.exists(asFifo(a)), remove: (a) => fifo.names!.remove(asFifo(a)) },
  sample: (u) => \`dummy:\${u.dir}/\${u.tag}\`,
  converse: { pattern: "as fifo:", listen: (a, o) => converse.listen(asFifo(a), o), connect: (a, o) => converse.connect(asFifo(a), o) },
});
`;

/** What the copy says about itself, printed as JSON by a script run inside it. */
const probe = `
import { open } from "./lib/index.ts";
import { mechanisms as suite } from "./test/support/mechanisms.ts";
import { REQUEST_SCHEMES } from "./bench/conversations.ts";
const [dir] = process.argv.slice(2);
const reader = open(\`dummy:\${dir}/x\`, { create: true, role: "reader" });
const writer = open(\`dummy:\${dir}/x\`, { role: "writer", timeout: 5000 });
writer.send("through the dummy");
const got = new TextDecoder().decode(reader.recv({ timeout: 5000 }));
writer.close();
reader.close();
console.log(JSON.stringify({ got, suite: suite.map((m) => m.name), requests: REQUEST_SCHEMES }));
`;

describe("a new mechanism is one file plus one line", () => {
  test("a dummy mechanism added only to lib/mechanisms.ts shows up in open(), info, the conformance list and the request benchmark", () => {
    const copy = mkdtempSync(join(tmpdir(), prefix));
    try {
      for (const d of ["lib", "ffi", "bench", "cli", "bin", "test", "package.json"]) cpSync(join(root, d), join(copy, d), { recursive: true });
      symlinkSync(join(root, "node_modules"), join(copy, "node_modules"));
      writeFileSync(join(copy, "lib", "channels", "dummy.ts"), dummyFile);
      const list = join(copy, "lib", "mechanisms.ts");
      const text = readFileSync(list, "utf8")
        .replace('import { fifo } from "./channels/fifo.ts";', 'import { fifo } from "./channels/fifo.ts";\nimport { dummy } from "./channels/dummy.ts";')
        .replace(/\n\] as const;/, "\n  dummy,\n] as const;");
      expect(text).toContain("  dummy,\n] as const;");
      writeFileSync(list, text);
      writeFileSync(join(copy, "probe.ts"), probe);

      const runScript = (script: string, args: string[]) => {
        const [cmd, ...rest] = scriptCommand(script, args);
        return runSync(cmd!, rest);
      };
      const run = runScript(join(copy, "probe.ts"), [copy]);
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
      const seen = JSON.parse(run.stdout) as { got: string; suite: string[]; requests: string[] };
      expect(seen.got).toBe("through the dummy");
      expect(seen.suite).toContain("dummy");
      expect(seen.requests).toContain("dummy");

      const info = runScript(join(copy, "bin", "ipc-lab.ts"), ["info", "--json"]);
      expect(info.status).toBe(0);
      const facts = JSON.parse(info.stdout) as { works_here: Record<string, string>; conversations: Record<string, string> };
      expect(facts.works_here.dummy).toBeDefined();
      expect(facts.conversations.dummy).toBe("as fifo:");
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 60_000);
});

checkLeaks(prefix);
