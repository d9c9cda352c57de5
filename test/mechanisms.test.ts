/**
 * The list of mechanisms (lib/mechanisms.ts) is the one place a mechanism is declared:
 * open(), remove(), `ipc-lab info`, the conformance suite and the benchmark all follow it.
 * These tests fail when one of them stops following it, and check each named mechanism's
 * descriptor against the kernel: what exists() sees and what remove() removes. Both runtimes.
 */
import { open, parseAddress, remove, schemes } from "../lib/index.ts";
import { mechanisms } from "../lib/public/extend.ts";
import { benchCases, notMeasured } from "../bench/cases.ts";
import { checkLeaks } from "./support/check-leaks.ts";
import { describe, expect, test } from "./support/harness.ts";
import { natsSkip } from "./support/nats-server.ts";
import { mechanisms as suite } from "./support/mechanisms.ts";
import { privateDir, testKey, testPrefix } from "./support/leaks.ts";
import { scriptCommand, spawnProcess } from "../ffi/process.ts";

const prefix = testPrefix("mech");
const dir = privateDir("mech");
let serial = 0;
const unique = () => ({ tag: `${prefix}${++serial}`, dir, key: testKey() });

describe("one list of mechanisms", () => {
  test("each scheme once; open() knows exactly the listed schemes", () => {
    const listed = mechanisms.map((m) => m.scheme);
    expect(new Set(listed).size).toBe(listed.length);
    expect(Object.keys(schemes).sort()).toEqual([...listed].sort());
  });

  test("the conformance suite runs every mechanism that carries messages between processes", () => {
    const run = new Set(suite.map((m) => m.name));
    // a mechanism that needs a service runs when the service can be had here (nats: a nats-server; else skipped, said once)
    const runsHere = (m: { scheme: string }) => m.scheme !== "nats" || !natsSkip;
    const expected = mechanisms.filter((m) => (m.traits.boundaries === "kernel" || m.traits.boundaries === "framed") && m.scheme !== "worker" && runsHere(m))
      .map((
        m,
      ) => m.title ?? m.scheme);
    expect(expected.filter((name) => !run.has(name) && !run.has(`${name} (realtime, sigqueue)`))).toEqual([]);
  });

  test("the benchmark measures every mechanism, or says why not", () => {
    const measured = new Set(benchCases.map((c) => c.name));
    const missing = mechanisms.filter((m) => !measured.has(m.title ?? m.scheme) && !(m.scheme in notMeasured)).map((m) => m.scheme);
    expect(missing).toEqual([]);
  });

  test("`ipc-lab info` tries every mechanism that can be made by address, and each works here", async () => {
    const p = spawnProcess(scriptCommand(new URL("../bin/ipc-lab.ts", import.meta.url).pathname, ["info", "--json"]), { stdio: ["ignore", "pipe", "inherit"] });
    const facts = JSON.parse(await new Response(p.stdout).text()) as { works_here: Record<string, string> };
    expect(await p.exited).toBe(0);
    const probed = mechanisms.filter((m) => m.sample).map((m) => m.scheme);
    expect(Object.keys(facts.works_here).sort()).toEqual([...probed].sort());
    // what needs a service (a NATS server) says whether it found one; everything else works
    const needs = new Set<string>(mechanisms.filter((m) => m.traits.needs).map((m) => m.scheme));
    expect(Object.entries(facts.works_here).filter(([k, v]) => v !== "ok" && !needs.has(k))).toEqual([]);
    for (const k of needs) expect(facts.works_here[k]).toMatch(/^(ok \(.* answers\)$|needs )/);
  });
});

describe("names, as each descriptor says", () => {
  for (const m of mechanisms.filter((x) => x.names && x.sample)) {
    test(`${m.scheme}: exists() sees the object while it is open; remove() removes it once`, () => {
      const address = m.sample!(unique());
      const addr = parseAddress(address);
      expect(m.names!.exists(addr)).toBeFalse();
      const ch = open(address, { create: true, ...m.small });
      try {
        expect(m.names!.exists(parseAddress(ch.address))).toBeTrue();
        expect(remove(ch.address)).toBeTrue();
        expect(m.names!.exists(parseAddress(ch.address))).toBeFalse();
        expect(remove(ch.address)).toBeFalse();
      } finally {
        ch.close(); // its name is gone already: close must not mind
      }
    });
  }

  test("an address whose name vanishes with its object (unix:@name, tcp:) is not removable", () => {
    expect(remove(`unix:@${prefix}x`)).toBeFalse();
    expect(() => remove("tcp:127.0.0.1:1")).toThrow(/no name to remove/);
  });
});

checkLeaks(prefix, [dir]);
