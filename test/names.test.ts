/** `ipc-lab ls` and `ipc-lab gc`: what a SIGKILLed owner left is listed, then removed. */
import { describe, expect, test } from "./support/harness.ts";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { lineReader } from "./support/lines.ts";
import { parseAddress } from "../lib/address.ts";
import type { Mechanism } from "../lib/mechanism.ts";
import { mechanisms, nameKindOf } from "../lib/mechanisms.ts";
import { noteMq, noteProbe, privateDir, testKey, testPrefix, track } from "./support/leaks.ts";
import { checkLeaks } from "./support/check-leaks.ts";

const prefix = testPrefix("names");
const dir = privateDir("names");
const registry = join(dir, "registry");
const cli = join(import.meta.dirname, "..", "bin", "ipc-lab.ts");
const lib = JSON.stringify(join(import.meta.dirname, "..", "lib", "index.ts"));
const sockets = join(dir, "sockets");
const env = { ...process.env, IPC_LAB_REGISTRY: registry, IPC_LAB_SOCKETS: sockets };

async function cliRun(...args: string[]) {
  const p = track(Bun.spawn([process.execPath, cli, ...args], { env, stdout: "pipe", stderr: "pipe" }));
  const out = await new Response(p.stdout).text();
  return { code: await p.exited, out };
}

/**
 * Every mechanism whose objects have lasting names, each with a fresh address of its own
 * (derived from lib/mechanisms.ts: a new named mechanism is tested here without a line
 * more), plus a name in the private socket directory.
 */
function namedAddresses(): { address: string; options: object }[] {
  const out: { address: string; options: object }[] = [];
  for (const m of mechanisms as readonly Mechanism[]) {
    if (!m.names || !m.sample) continue;
    const address = m.sample({ tag: `${prefix}dead-${m.scheme}`, dir, key: testKey() });
    const addr = parseAddress(address);
    if (!nameKindOf(addr)) continue; // this address names nothing that outlives its process
    if (addr.scheme === "mq") noteMq(address);
    noteProbe(`object of ${address}`, () => m.names!.exists(addr), () => void m.names!.remove(addr));
    out.push({ address, options: { create: true, ...m.small } });
  }
  return [...out, { address: `unix:${prefix}private`, options: { create: true } }];
}

describe("ls and gc", () => {
  test("a killed owner's names are listed as DEAD and removed by gc; a live owner's are kept", async () => {
    const dead = namedAddresses();
    expect(dead.length).toBeGreaterThanOrEqual(12);
    const killed = track(Bun.spawn([
      process.execPath,
      "-e",
      `
      const { open } = await import(${lib});
      for (const { address, options } of ${JSON.stringify(dead)}) open(address, options);
      console.log("ready");
      await Bun.sleep(60000);`,
    ], { env, stdout: "pipe" }));
    const live = track(Bun.spawn([
      process.execPath,
      "-e",
      `
      const { open } = await import(${lib});
      open("shm:/${prefix}live", { create: true });
      console.log("ready");
      await Bun.sleep(60000);`,
    ], { env, stdout: "pipe" }));
    expect(await lineReader(killed.stdout).line()).toBe("ready");
    expect(await lineReader(live.stdout).line()).toBe("ready");
    killed.kill(9);
    await killed.exited;

    const listed = JSON.parse((await cliRun("ls", "--json")).out) as { objects: { address: string; alive: boolean }[] };
    const state = Object.fromEntries(listed.objects.map((o) => [o.address, o.alive]));
    for (const { address } of dead) expect({ address, alive: state[address] }).toEqual({ address, alive: false });
    expect(state[`shm:/${prefix}live`]).toBeTrue();
    // (the private socket name lives in the child's IPC_LAB_SOCKETS: looked at as a path below)
    const named = dead.map((d) => d.address).filter((a) => !a.startsWith("unix:") || a.includes("/"));
    const existing = () => named.filter((a) => nameKindOf(parseAddress(a))!.exists(parseAddress(a)));
    expect(existing()).toEqual(named);
    expect(existsSync(`${sockets}/${prefix}private`)).toBeTrue();

    const gc = await cliRun("gc");
    expect(gc.code).toBe(0);
    for (const { address } of dead) expect(gc.out).toContain(`removed ${address}`);
    expect(existing()).toEqual([]);
    expect(existsSync(`${sockets}/${prefix}private`)).toBeFalse();
    expect(existsSync(`/dev/shm/${prefix}live`)).toBeTrue(); // its owner lives
    expect((await cliRun("gc")).out).toContain("nothing to collect");

    live.kill("SIGTERM"); // a catchable signal: the owner cleans up itself
    await live.exited;
    expect(existsSync(`/dev/shm/${prefix}live`)).toBeFalse();
    expect(JSON.parse((await cliRun("ls", "--json")).out).objects).toEqual([]);
  });
});

checkLeaks(prefix, [dir], () => {
  rmSync(registry, { recursive: true, force: true });
  rmSync(sockets, { recursive: true, force: true });
});
